//! The database-side guard through the real binary, configured as a user would
//! (`[guard] enabled = true` with a superuser `[control]` role): a database first seen when a
//! session connects gets the guard; DDL hidden from the gateway, or sent around it, is refused
//! by PostgreSQL; what the gateway approves runs. Judged by the catalog.

use ddlgate_testkit::{connect, free_port, shared_pg, SUPER};

mod common;

use common::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_installs_the_guard_and_it_refuses_what_the_gateway_did_not_approve() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_guard");
    pg.psql(
        &db,
        "CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 2)",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("gw.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n\
             [databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n\
             [control]\nuser = \"{}\"\n[guard]\nenabled = true\n\
             [policy.rules]\n\"renaming-column\" = \"warn\"\n",
            pg.port(),
            SUPER.name
        ),
    )
    .expect("config");
    let _child = start(&config.display().to_string(), port).await;
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    );
    let c = connect(&url).await.expect("through the gateway");
    // Approved by the gateway: runs.
    c.batch_execute("ALTER TABLE t RENAME COLUMN a TO a2")
        .await
        .expect("approved");
    // Hidden from the gateway in a DO block: refused by the database.
    let e = c
        .batch_execute("DO $$ BEGIN EXECUTE 'ALTER TABLE t DROP ' || 'COLUMN b'; END $$")
        .await
        .expect_err("refused");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e}");
    // Around the gateway: refused as well.
    let direct = connect(&pg.direct_url(SUPER, &db)).await.expect("direct");
    let e = direct
        .batch_execute("DROP TABLE t")
        .await
        .expect_err("refused");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e}");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute \
                      WHERE attrelid = 't'::regclass AND attnum > 0 AND NOT attisdropped"
        ),
        "a2,b"
    );
}
