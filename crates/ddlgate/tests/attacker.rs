//! The attacker's corpus through the real binary, configured from a file as a security team
//! would (renames and drops blocked, size thresholds 0, no guard): one case of each class of
//! bypass the no-bypass issue named, each judged by the catalog, never by the gateway's answer.
//! (Every class has more variants in `tests/integration/tests/bypass.rs`.)

use std::net::SocketAddr;

use ddlgate_testkit::raw::{query, RawClient};
use ddlgate_testkit::{connect, free_port, shared_pg, KillOnDrop, Pg, SUPER};
use tokio_postgres::Client;

mod common;

use common::start;

async fn start_gateway(pg: &Pg, dir: &std::path::Path) -> (KillOnDrop, u16) {
    let port = free_port();
    let config = dir.join("gw.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\naddr = \"127.0.0.1:{port}\"\n\
             [databases.\"*\"]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"disable\"\n\
             [policy]\nsmall_table_rows = 0\nsmall_table_bytes = 0\n\
             [policy.rules]\n\"dropping-table\" = \"block\"\n\"dropping-column\" = \"block\"\n\
             \"renaming-table\" = \"block\"\n\"renaming-column\" = \"block\"\n",
            pg.port()
        ),
    )
    .expect("config");
    (start(&config.display().to_string(), port).await, port)
}

/// `victim` tables `v0`…`v15` (ten rows each), a domain and an enum, before any attempt.
fn victims(pg: &Pg, db: &str) {
    let mut sql = String::from(
        "CREATE SCHEMA other; CREATE DOMAIN vuuid AS uuid DEFAULT gen_random_uuid(); \
         CREATE TYPE mood AS ENUM ('ok');",
    );
    for i in 0..16 {
        sql.push_str(&format!(
            "CREATE TABLE v{i} (a int, m mood); INSERT INTO v{i} (a) SELECT generate_series(1, 10);"
        ));
    }
    pg.psql(db, &sql);
}

/// `v{i}`'s schema, filenode and columns.
fn shape(pg: &Pg, db: &str, i: usize) -> String {
    pg.psql(
        db,
        &format!(
            "SELECT n.nspname || ':' || c.relfilenode || ':' || \
                    string_agg(a.attname, ',' ORDER BY a.attnum) \
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
              WHERE c.relname = 'v{i}' AND c.relkind = 'r' GROUP BY n.nspname, c.relfilenode"
        ),
    )
}

/// Sends `sql` as one simple Query on a raw connection with these startup parameters.
async fn raw(addr: SocketAddr, db: &str, extra: &[(&str, &str)], sql: &[u8]) {
    let mut c = RawClient::login(addr, SUPER.name, db, extra).await;
    c.send(&query(sql)).await;
    let _ = c.read_until(b'Z').await;
}

/// Runs each text as its own simple Query, ignoring refusals.
async fn each(c: &Client, texts: &[&str]) {
    for t in texts {
        let _ = c.batch_execute(t).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_class_of_bypass_gets_blocked_ddl_executed_through_the_binary() {
    let pg = shared_pg();
    let db = pg.fresh_db("bin_attacker");
    victims(pg, &db);
    let before: Vec<String> = (0..16).map(|i| shape(pg, &db, i)).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let (_gw, port) = start_gateway(pg, dir.path()).await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{db}?sslmode=disable",
        SUPER.name
    );
    let c = connect(&url).await.expect("connect");

    // Startup parameters read as the server reads them.
    raw(addr, &db, &[("replication", "false")], b"DROP TABLE v0").await;
    raw(
        addr,
        &db,
        &[("replication", "true"), ("replication", "no")],
        b"DROP TABLE v1",
    )
    .await;
    // Lexing: a comment ended by a bare CR; backslashes under scs = off; a continued string;
    // a BEGIN ATOMIC body.
    raw(addr, &db, &[], b"SELECT 1 --c\rDROP TABLE v2").await;
    raw(
        addr,
        &db,
        &[("options", "-c standard_conforming_strings=off")],
        b"SELECT 'a\\' ; DROP TABLE v3; -- '",
    )
    .await;
    raw(addr, &db, &[], b"SELECT E''\n'a\\'';DROP TABLE v4;--'").await;
    each(
        &c,
        &["CREATE FUNCTION f5() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS case; END; DROP TABLE v5"],
    )
    .await;
    // Renames through other relation kinds, and SET SCHEMA.
    each(
        &c,
        &[
            "ALTER INDEX v6 RENAME TO gone6",
            "ALTER TABLE v7 SET SCHEMA other",
        ],
    )
    .await;
    // "Created in this transaction" that is not.
    each(
        &c,
        &[
            "BEGIN",
            "CREATE TABLE IF NOT EXISTS v8 (a int)",
            "ALTER TABLE v8 RENAME COLUMN a TO b",
            "COMMIT",
        ],
    )
    .await;
    // Decided at Parse, executed against something else.
    each(&c, &["BEGIN", "CREATE TEMP TABLE v9 (a int)"]).await;
    let stmt = c.prepare("ALTER TABLE v9 RENAME COLUMN a TO b").await;
    each(&c, &["ROLLBACK"]).await;
    if let Ok(stmt) = stmt {
        let _ = c.execute(&stmt, &[]).await;
    }
    // Volatile defaults hidden in a domain or a quoted name; drops through CASCADE.
    each(
        &c,
        &[
            "ALTER TABLE v10 ADD COLUMN c vuuid",
            "ALTER TABLE v11 ADD COLUMN c uuid DEFAULT \"gen_random_uuid\"()",
            "DROP TYPE mood CASCADE",
        ],
    )
    .await;
    // Hostile input: a DDL statement too large to analyse.
    let huge = format!(
        "ALTER TABLE v12 ADD COLUMN huge text DEFAULT '{}'",
        "x".repeat(ddlgate_ddl::MAX_DDL_BYTES)
    );
    each(&c, &[&huge]).await;

    for (i, was) in before.iter().enumerate() {
        let now = shape(pg, &db, i);
        if i == 11 {
            // Run as the phased plan: the column is added, the table is not rewritten.
            let place = |s: &str| s.rsplit_once(':').map(|(p, _)| p.to_owned());
            assert_eq!(place(&now), place(was), "v11 is not rewritten");
            assert!(now.ends_with(",c"), "v11 got its column by the plan: {now}");
            continue;
        }
        assert_eq!(&now, was, "v{i} is as it was");
    }
}
