//! A real JDBC driver (Debian's libpostgresql-jdbc-java, extended protocol through
//! PreparedStatement) through the gateway: rewrite and block paths.

use std::path::Path;
use std::process::Command;

use ddlgate_config::RuleAction;
use ddlgate_ddl::RuleId;
use ddlgate_testkit::{shared_pg, GatewayHandle, GatewayOptions, SCRAM};

/// Runs tests/jdbc/run.sh; `None` when Java or the driver is missing outside CI.
async fn jdbc(url: String, sql: &'static str) -> Option<(i32, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../jdbc/run.sh");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("sh")
            .arg(script)
            .arg(url)
            .arg(sql)
            .output()
            .expect("run.sh")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if stdout.starts_with("SKIP:") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install Java and the JDBC driver: {stdout}"
        );
        eprintln!("{stdout}");
        return None;
    }
    Some((
        out.status.code().unwrap_or(-1),
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    ))
}

#[tokio::test]
async fn jdbc_prepared_statements_are_rewritten_and_blocked() {
    let pg = shared_pg();
    let db = pg.fresh_db("jdbc");
    pg.psql(&db, "CREATE TABLE t (id int PRIMARY KEY, a int); INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g; ANALYZE t");
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy
                .rules
                .insert(RuleId::RenamingColumn, RuleAction::Block);
        }),
    )
    .await;
    let url = format!(
        "jdbc:postgresql://127.0.0.1:{}/{db}?user={}&password={}&sslmode=disable",
        gw.addr.port(),
        SCRAM.name,
        SCRAM.password
    );

    let Some((code, out)) = jdbc(url.clone(), "CREATE INDEX t_a_idx ON t (a)").await else {
        return;
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK 0") && out.contains("USABLE"), "{out}");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a_idx'::regclass"
        ),
        "t"
    );

    let (code, out) = jdbc(
        url.clone(),
        "ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()",
    )
    .await
    .expect("java present");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM t WHERE token IS NULL"),
        "0"
    );
    assert_eq!(pg.psql(&db, "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'token'"), "t");

    let (code, out) = jdbc(url, "ALTER TABLE t RENAME COLUMN a TO b")
        .await
        .expect("java present");
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("ERROR 55000") && out.contains("[renaming-column]"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("HINT ") && l.len() > 6),
        "{out}"
    );
    assert!(out.contains("USABLE"), "{out}");
}
