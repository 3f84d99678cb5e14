//! `[[policy.scope]]` through the binary, from a configuration file: a runtime role's DDL is
//! refused with 42501 naming the scope, and each decision's audit event says who the server
//! said the session was, which scopes decided, what an observed scope would have done, and the
//! policy's version.

use ddlgate_testkit::{connect, free_port, shared_pg, SUPER};
use serde_json::Value;

use crate::common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_decisions_are_enforced_and_audited_with_the_identity() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_scopes");
    pg.psql(
        &db,
        &format!(
            "CREATE ROLE {db}_runtime NOLOGIN; CREATE ROLE {db}_web LOGIN PASSWORD 'pw' IN ROLE {db}_runtime; \
             GRANT ALL ON SCHEMA public TO {db}_web; CREATE TABLE t (a int); ALTER TABLE t OWNER TO {db}_web"
        ),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let port = free_port();
    let config = dir.path().join("gw.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n\
             [log]\naudit_file = \"{}\"\n\
             [[policy.scope]]\nname = \"runtime-no-ddl\"\nroles = [\"{db}_runtime\"]\nstatements = [\"drop-table\", \"truncate\"]\naction = \"block\"\n\
             [[policy.scope]]\nname = \"no-index-trial\"\nroles = [\"{db}_runtime\"]\nobserve = true\naction = \"block\"\n",
            pg.port(),
            audit.display()
        ),
    )
    .expect("config");
    let _gw = start(&config.display().to_string(), port).await;
    let web = connect(&format!(
        "postgres://{db}_web:pw@127.0.0.1:{port}/{db}?sslmode=disable"
    ))
    .await
    .expect("web");
    let e = web
        .batch_execute("DROP TABLE t")
        .await
        .expect_err("refused");
    let e = e.as_db_error().expect("server-shaped");
    assert_eq!(e.code().code(), "42501");
    assert!(e.message().contains("runtime-no-ddl"), "{}", e.message());
    // Observed only: it runs, and the audit says what would have happened.
    web.batch_execute("CREATE INDEX t_a ON t (a)")
        .await
        .expect("observed scope");
    let _ = connect(&format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    ))
    .await
    .expect("superuser");

    let events: Vec<Value> = std::fs::read_to_string(&audit)
        .expect("audit file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let drop = events
        .iter()
        .find(|e| e["sql"] == "DROP TABLE t")
        .expect("the DROP's event");
    assert_eq!(drop["outcome"], "blocked");
    assert_eq!(drop["session_user"], format!("{db}_web"));
    assert_eq!(drop["current_user"], format!("{db}_web"));
    assert_eq!(drop["scopes"], serde_json::json!(["runtime-no-ddl"]));
    assert_eq!(drop["policy_version"].as_str().map(str::len), Some(12));
    let index = events
        .iter()
        .find(|e| e["sql"] == "CREATE INDEX t_a ON t (a)")
        .expect("the index's event");
    assert_ne!(index["outcome"], "blocked", "observed only");
    assert_eq!(index["would_action"], "block");
    assert_eq!(index["would_scopes"], serde_json::json!(["no-index-trial"]));
}
