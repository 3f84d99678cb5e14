//! Durable jobs with a control role, in process: two gateways in front of one database run
//! each job exactly once; a COMMIT that waits past its limit hands the job to the background.

use ddlgate_testkit::{
    connect, connect_with_notices, eventually_async, shared_pg, GatewayHandle, GatewayOptions, Pg,
    SUPER,
};
use std::time::{Duration, Instant};

async fn gateway_with_control(
    pg: &Pg,
    db: &str,
    tweak: impl FnOnce(&mut ddlgate_config::Config) + Send + 'static,
) -> GatewayHandle {
    let db = db.to_owned();
    GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| {
            c.control.user = Some(SUPER.name.into());
            c.control.databases = vec![db];
            c.control.resume_interval_secs = 1;
            c.policy.execution.backfill_batch_ms = 20;
            tweak(c);
        }),
    )
    .await
}

fn populate(pg: &Pg, db: &str, rows: u32) {
    pg.psql(
        db,
        &format!(
            "CREATE TABLE orders (id bigint PRIMARY KEY, amount int); \
             INSERT INTO orders SELECT g, g % 1000 FROM generate_series(1, {rows}) g; ANALYZE"
        ),
    );
}

const MIGRATION: &str = "BEGIN; \
    ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid(); \
    CREATE INDEX orders_amount_idx ON orders (amount); \
    COMMIT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_run_the_same_migration_and_each_job_runs_once() {
    let pg = shared_pg();
    let db = pg.fresh_db("twogw");
    populate(pg, &db, 30_000);
    let a = gateway_with_control(pg, &db, |_| {}).await;
    let b = gateway_with_control(pg, &db, |_| {}).await;
    let ca = connect(&a.url(SUPER, &db)).await.expect("a");
    let cb = connect(&b.url(SUPER, &db)).await.expect("b");
    let (ra, rb) = tokio::join!(ca.batch_execute(MIGRATION), cb.batch_execute(MIGRATION));
    ra.expect("client of gateway A");
    rb.expect("client of gateway B");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FILTER (WHERE token IS NULL), count(DISTINCT token), (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'token') FROM orders"),
        "0|30000|t"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_amount_idx'::regclass"
        ),
        "t"
    );
    // Each step of each plan was done by exactly one runner; the other found it done.
    assert_eq!(
        pg.psql(&db, "SELECT count(DISTINCT owner) FROM ddlgate.jobs"),
        "2",
        "both gateways recorded the job their client asked for"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT string_agg(done::text, ',' ORDER BY job_key, step) FROM ( \
               SELECT j.job_key, (o->>'step')::int AS step, count(*) FILTER (WHERE o->>'outcome' = 'done') AS done \
               FROM ddlgate.jobs j, jsonb_array_elements(j.outcomes) o GROUP BY 1, 2) s \
             WHERE done <> 1"
        ),
        "",
        "no step done twice or never"
    );
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM ddlgate.jobs WHERE state <> 'completed'"
        ),
        "0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_past_its_wait_limit_returns_and_the_job_finishes_in_the_background() {
    let pg = shared_pg();
    let db = pg.fresh_db("commitwait");
    populate(pg, &db, 120_000);
    let gw = gateway_with_control(pg, &db, |c| {
        c.policy.execution.commit_wait_secs = 1;
        c.policy.execution.backfill_pause_ms = 80;
    })
    .await;
    let (c, mut notices) = connect_with_notices(&gw.url(SUPER, &db))
        .await
        .expect("connect");
    let started = Instant::now();
    c.batch_execute(MIGRATION).await.expect("migration");
    let took = started.elapsed();
    let mut seen = Vec::new();
    while let Ok(n) = notices.try_recv() {
        seen.push(n.message().to_owned());
    }
    assert!(
        seen.iter()
            .any(|m| m.contains("continues in the background")),
        "{seen:?}"
    );
    assert_ne!(
        pg.psql(
            &db,
            "SELECT count(*) FROM ddlgate.jobs WHERE state IN ('queued', 'running')"
        ),
        "0",
        "the COMMIT returned ({took:?}) while the jobs still run"
    );
    // The session is free meanwhile.
    c.batch_execute("SELECT 1").await.expect("usable");
    let direct = connect(&pg.direct_url(SUPER, &db)).await.expect("direct");
    eventually_async(Duration::from_secs(90), "background job done", || async {
        direct
            .query_one(
                "SELECT count(*) FROM ddlgate.jobs WHERE state <> 'completed'",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0) == 0)
            .unwrap_or(false)
    })
    .await;
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FILTER (WHERE token IS NULL), (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'token'), (SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_amount_idx'::regclass) FROM orders"),
        "0|t|t"
    );
}
