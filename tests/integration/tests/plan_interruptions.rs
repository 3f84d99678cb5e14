//! A client that disconnects or cancels while the gateway runs its plan: the plan stops at a
//! safe point, and nothing is left half-built.

use std::time::Duration;

use ddlgate_testkit::{
    connect, eventually_async, shared_pg, GatewayHandle, GatewayOptions, Pg, SUPER,
};
use tokio_postgres::NoTls;

async fn slow_backfill_gateway(pg: &Pg) -> GatewayHandle {
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy.execution.backfill_batch_ms = 5;
            c.policy.execution.backfill_pause_ms = 200;
        }),
    )
    .await
}

fn populate(pg: &Pg, db: &str) {
    pg.psql(db, "CREATE TABLE t (id int PRIMARY KEY, a int); INSERT INTO t SELECT g, g FROM generate_series(1, 50000) g; ANALYZE t");
}

async fn column_exists(pg: &Pg, db: &str) -> bool {
    pg.psql(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c' AND NOT attisdropped") == "1"
}

#[tokio::test]
async fn client_disconnect_stops_the_plan_between_batches() {
    let pg = shared_pg();
    let db = pg.fresh_db("gone");
    populate(pg, &db);
    let gw = slow_backfill_gateway(pg).await;
    let (client, conn) = tokio_postgres::connect(&gw.url(SUPER, &db), NoTls)
        .await
        .expect("connect");
    let conn_task = tokio::spawn(conn);
    let ddl = tokio::spawn(async move {
        client
            .batch_execute("ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid()")
            .await
    });
    eventually_async(Duration::from_secs(20), "backfill under way", || async {
        column_exists(pg, &db).await
            && pg.psql(&db, "SELECT count(*) > 0 FROM t WHERE c IS NOT NULL") == "t"
    })
    .await;
    // The client goes away mid-backfill.
    ddl.abort();
    conn_task.abort();
    eventually_async(Duration::from_secs(20), "gateway's upstream session to end", || async {
        pg.psql("postgres", &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = ''")) == "0"
    })
    .await;
    let filled = pg.psql(&db, "SELECT count(*) FROM t WHERE c IS NOT NULL");
    assert_ne!(filled, "50000", "stopped before the end of the backfill");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'"
        ),
        "f",
        "NOT NULL not applied"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'"
        ),
        "0",
        "no half-built constraint"
    );
    // Re-running the migration converges: the plan resumes where it stopped (with the default
    // pacing, to finish quickly).
    let gw2 = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c2 = connect(&gw2.url(SUPER, &db)).await.expect("connect");
    c2.batch_execute("ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid()")
        .await
        .expect("re-run completes");
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM t WHERE c IS NULL"), "0");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'"
        ),
        "t"
    );
}

#[tokio::test]
async fn client_cancel_fails_the_statement_and_rolls_the_plan_back() {
    let pg = shared_pg();
    let db = pg.fresh_db("cancelplan");
    populate(pg, &db);
    let gw = slow_backfill_gateway(pg).await;
    let client = connect(&gw.url(SUPER, &db)).await.expect("connect");
    let token = client.cancel_token();
    let ddl = tokio::spawn(async move {
        client
            .batch_execute("ALTER TABLE t ADD COLUMN c uuid NOT NULL DEFAULT gen_random_uuid()")
            .await
    });
    eventually_async(Duration::from_secs(20), "backfill under way", || async {
        column_exists(pg, &db).await
            && pg.psql(&db, "SELECT count(*) > 0 FROM t WHERE c IS NOT NULL") == "t"
    })
    .await;
    // One cancel is enough, whether it lands on a batch or in the pause between batches (the
    // gateway stops its own plan too).
    token.cancel_query(NoTls).await.expect("cancel");
    let err = tokio::time::timeout(Duration::from_secs(20), ddl)
        .await
        .expect("statement ended")
        .expect("join")
        .expect_err("cancelled");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    assert!(
        !column_exists(pg, &db).await,
        "completed steps rolled back: the statement failed as a whole"
    );
}
