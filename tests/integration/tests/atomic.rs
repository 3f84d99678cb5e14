//! A migration through the gateway is as atomic as without it: data the original statement
//! would have failed on fails the statement (or, for what changed later in the transaction,
//! the COMMIT) with the server's own error, and nothing is committed. Ground truth: the same
//! script on a direct connection to a twin database.

use ddlgate_testkit::{
    connect, connect_with_notices, shared_pg, GatewayHandle, GatewayOptions, Pg, SUPER,
};
use tokio_postgres::error::DbError;
use tokio_postgres::Client;

/// 20 000 accounts (above the small-table threshold, so the gateway rewrites), with one
/// duplicated email, one orphan team, one negative and one NULL score.
const DATA: &str = "CREATE TABLE teams (id int PRIMARY KEY); INSERT INTO teams SELECT g FROM generate_series(1, 100) g; \
    CREATE TABLE accounts (id int NOT NULL, email text, team_id int, score int); \
    INSERT INTO accounts SELECT g, 'u' || g || '@example.com', 1 + g % 100, g FROM generate_series(1, 20000) g; \
    UPDATE accounts SET email = 'u1@example.com' WHERE id = 2; \
    UPDATE accounts SET team_id = 999 WHERE id = 7; \
    UPDATE accounts SET score = -5 WHERE id = 9; \
    UPDATE accounts SET score = NULL WHERE id = 11; \
    CREATE TABLE migrations (name text); ANALYZE";

/// What the schema looks like: columns with nullability, indexes, constraints.
const SCHEMA: &str = "SELECT (SELECT string_agg(attname || ':' || attnotnull, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attnum > 0 AND NOT attisdropped) \
    || ' | ' || coalesce((SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'i' AND relnamespace = 'public'::regnamespace), '') \
    || ' | ' || coalesce((SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace), '') \
    || ' | ' || (SELECT count(*) FROM migrations)";

const VIOLATING: [&str; 6] = [
    "CREATE UNIQUE INDEX accounts_email_idx ON accounts (email)",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email)",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_team_fk FOREIGN KEY (team_id) REFERENCES teams",
    "ALTER TABLE accounts ADD CONSTRAINT accounts_score_check CHECK (score >= 0)",
    "ALTER TABLE accounts ALTER COLUMN score SET NOT NULL",
    "ALTER TABLE accounts ADD PRIMARY KEY (score)",
];

/// The fields of an error a client can see.
fn shown(e: &DbError) -> String {
    format!(
        "{} {} | detail={:?} schema={:?} table={:?} column={:?} constraint={:?}",
        e.code().code(),
        e.message(),
        e.detail(),
        e.schema(),
        e.table(),
        e.column(),
        e.constraint()
    )
}

async fn error_of(c: &Client, sql: &str) -> String {
    let e = c.batch_execute(sql).await.expect_err(sql);
    shown(e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}")))
}

/// A twin database for the direct run, one for the gateway's; and the gateway.
async fn twins(prefix: &str) -> (&'static Pg, String, String, GatewayHandle) {
    let pg = shared_pg();
    let direct = pg.fresh_db(&format!("{prefix}_direct"));
    let through = pg.fresh_db(&format!("{prefix}_gw"));
    pg.psql(&direct, DATA);
    pg.psql(&through, DATA);
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    (pg, direct, through, gw)
}

#[tokio::test]
async fn in_a_transaction_the_statement_fails_with_the_servers_error_and_nothing_is_committed() {
    let (pg, direct, through, gw) = twins("atomic_tx").await;
    let d = connect(&pg.direct_url(SUPER, &direct))
        .await
        .expect("direct");
    let g = connect(&gw.url(SUPER, &through)).await.expect("gateway");
    for sql in VIOLATING {
        let mut seen = Vec::new();
        for c in [&d, &g] {
            c.batch_execute("BEGIN; INSERT INTO migrations VALUES ('m')")
                .await
                .expect("begin");
            let failed = error_of(c, sql).await;
            let after = error_of(c, "INSERT INTO migrations VALUES ('again')").await;
            assert!(
                after.starts_with("25P02"),
                "{sql}: the transaction is aborted: {after}"
            );
            c.batch_execute("COMMIT")
                .await
                .expect("COMMIT of a failed block rolls back");
            seen.push(failed);
        }
        assert_eq!(seen[1], seen[0], "through the gateway vs direct, for {sql}");
        assert_eq!(pg.psql(&through, SCHEMA), pg.psql(&direct, SCHEMA), "{sql}");
    }
    assert!(pg.psql(&through, SCHEMA).ends_with("| 0"));
}

#[tokio::test]
async fn outside_a_transaction_the_statement_fails_with_the_servers_error() {
    let (pg, direct, through, gw) = twins("atomic_auto").await;
    let d = connect(&pg.direct_url(SUPER, &direct))
        .await
        .expect("direct");
    let g = connect(&gw.url(SUPER, &through)).await.expect("gateway");
    for sql in VIOLATING {
        let want = error_of(&d, sql).await;
        assert_eq!(error_of(&g, sql).await, want, "{sql}");
        assert_eq!(pg.psql(&through, SCHEMA), pg.psql(&direct, SCHEMA), "{sql}");
    }
    // IF NOT EXISTS of a name already taken does nothing, duplicates or not.
    for db in [&direct, &through] {
        pg.psql(db, "CREATE INDEX accounts_email_any ON accounts (email)");
    }
    let sql = "CREATE UNIQUE INDEX IF NOT EXISTS accounts_email_any ON accounts (email)";
    d.batch_execute(sql).await.expect("direct: skipped");
    g.batch_execute(sql)
        .await
        .expect("through the gateway: skipped too");
    assert_eq!(pg.psql(&through, SCHEMA), pg.psql(&direct, SCHEMA));
}

#[tokio::test]
async fn duplicates_written_later_in_the_transaction_fail_the_commit() {
    let (pg, _, db, gw) = twins("atomic_commit").await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("gateway");
    let before = pg.psql(&db, SCHEMA);
    c.batch_execute("BEGIN; CREATE UNIQUE INDEX accounts_id_idx ON accounts (id)")
        .await
        .expect("no duplicate yet: the build waits for COMMIT");
    c.batch_execute("INSERT INTO accounts (id) VALUES (5); INSERT INTO migrations VALUES ('m')")
        .await
        .expect("nothing enforces the key before COMMIT");
    let e = error_of(&c, "COMMIT").await;
    assert_eq!(
        e,
        "23505 could not create unique index \"accounts_id_idx\" | detail=Some(\"Key (id)=(5) is duplicated.\") \
         schema=Some(\"public\") table=Some(\"accounts\") column=None constraint=Some(\"accounts_id_idx\")"
    );
    assert_eq!(
        pg.psql(&db, SCHEMA),
        before,
        "rolled back: no index, no bookkeeping row"
    );
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM accounts WHERE id = 5"),
        "1"
    );
    let first = c
        .query_one("SELECT txid_current()", &[])
        .await
        .expect("usable");
    let second = c
        .query_one("SELECT txid_current()", &[])
        .await
        .expect("usable");
    assert_ne!(
        first.get::<_, i64>(0),
        second.get::<_, i64>(0),
        "the session is out of the block"
    );
}

#[tokio::test]
async fn a_deferred_plan_failing_after_commit_does_not_skip_an_independent_one() {
    let (pg, _, db, gw) = twins("atomic_indep").await;
    let (c, mut notices) = connect_with_notices(&gw.url(SUPER, &db))
        .await
        .expect("gateway");
    // An operator class: its equality is not checked before COMMIT, so the build fails after.
    c.batch_execute(
        "BEGIN; CREATE UNIQUE INDEX accounts_email_pattern ON accounts (email text_pattern_ops); \
         ALTER TABLE accounts ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid(); COMMIT",
    )
    .await
    .expect("the COMMIT succeeds");
    let mut warnings = Vec::new();
    while let Ok(n) = notices.try_recv() {
        if n.severity() == "WARNING" {
            warnings.push(n.message().to_owned());
        }
    }
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("could not create unique index"),
        "{warnings:?}"
    );
    assert_eq!(
        pg.psql(&db, "SELECT attnotnull, (SELECT count(*) FROM accounts WHERE token IS NULL) FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'token'"),
        "t|0",
        "the other plan ran to the end"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_class WHERE relname = 'accounts_email_pattern'"
        ),
        "0"
    );
}
