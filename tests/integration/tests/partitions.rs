//! Indexing a partitioned table without blocking writes, the documented way, through the
//! gateway: an index `ON ONLY` the parent (nothing built), each partition's index built
//! `CONCURRENTLY`, then attached.

use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};

#[tokio::test]
async fn a_partitioned_table_is_indexed_partition_by_partition() {
    let pg = shared_pg();
    let db = pg.fresh_db("partitions");
    pg.psql(
        &db,
        "CREATE TABLE events (at int NOT NULL, kind text) PARTITION BY RANGE (at); \
         CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (50000); \
         CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (50000) TO (100000); \
         INSERT INTO events SELECT g, 'k' FROM generate_series(0, 99999) g; ANALYZE events",
    );
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute("CREATE INDEX events_at ON ONLY events (at)")
        .await
        .expect("an index on the parent alone builds nothing: forwarded");
    for part in ["events_a", "events_b"] {
        c.batch_execute(&format!(
            "CREATE INDEX CONCURRENTLY {part}_at ON {part} (at)"
        ))
        .await
        .expect("built concurrently");
        c.batch_execute(&format!("ALTER INDEX events_at ATTACH PARTITION {part}_at"))
            .await
            .expect("attached");
    }
    assert_eq!(
        pg.psql(
            &db,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_at'::regclass"
        ),
        "t",
        "valid once every partition's index is attached"
    );
    // A loaded table attached as a partition: scanned under ACCESS EXCLUSIVE unless a valid
    // CHECK implies its bound — refused without one, let through with one.
    pg.psql(
        &db,
        "CREATE TABLE events_c (at int NOT NULL, kind text); \
         INSERT INTO events_c SELECT g, 'k' FROM generate_series(100000, 149999) g; ANALYZE events_c; \
         CREATE TABLE events_d (at int NOT NULL, kind text); \
         INSERT INTO events_d SELECT g, 'k' FROM generate_series(150000, 199999) g; ANALYZE events_d",
    );
    let err = c
        .batch_execute(
            "ALTER TABLE events ATTACH PARTITION events_d FOR VALUES FROM (150000) TO (200000)",
        )
        .await
        .expect_err("a scan of 50 000 rows under ACCESS EXCLUSIVE is refused");
    assert!(
        format!("{err:?}").contains("attach-partition-scan"),
        "{err:?}"
    );
    c.batch_execute("ALTER TABLE events_c ADD CONSTRAINT events_c_bound CHECK (at >= 100000 AND at < 150000) NOT VALID")
        .await
        .expect("NOT VALID: instant");
    c.batch_execute("ALTER TABLE events_c VALIDATE CONSTRAINT events_c_bound")
        .await
        .expect("validated without blocking writes");
    c.batch_execute(
        "ALTER TABLE events ATTACH PARTITION events_c FOR VALUES FROM (100000) TO (150000)",
    )
    .await
    .expect("the CHECK implies the bound: no scan, let through");
    assert_eq!(
        pg.psql(&db, "SELECT count(*) FROM events WHERE at >= 100000"),
        "50000"
    );
    // A plain table is not partitioned: ON ONLY builds the whole index, and is judged so.
    pg.psql(
        &db,
        "CREATE TABLE logs (at int); INSERT INTO logs SELECT generate_series(1, 100000); ANALYZE logs",
    );
    let err = c
        .batch_execute("CREATE INDEX logs_at ON ONLY logs (at)")
        .await
        .expect_err("a full build under SHARE is not let through");
    assert!(
        format!("{err:?}").contains("require-concurrent-index-creation"),
        "{err:?}"
    );
}
