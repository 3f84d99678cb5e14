//! Simple and extended protocol through the gateway: results, pipelining, errors mid-batch,
//! transactions, savepoints, and session state that only survives without pooling.

use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use futures_util::future::join_all;
use tokio_postgres::SimpleQueryMessage;

#[tokio::test]
async fn simple_and_extended_queries() {
    let pg = shared_pg();
    let db = pg.fresh_db("proto");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute(
        "CREATE TABLE t (id int primary key, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    )
    .await
    .expect("batch");
    let rows = c
        .query("SELECT v FROM t WHERE id = $1", &[&2i32])
        .await
        .expect("extended");
    assert_eq!(rows[0].get::<_, String>(0), "b");
    let msgs = c
        .simple_query("SELECT count(*) FROM t; SELECT 'x'")
        .await
        .expect("simple");
    let values: Vec<String> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(values, ["2", "x"]);
    // A named prepared statement reused across calls: no pooling, so it stays valid.
    let stmt = c
        .prepare("SELECT v FROM t WHERE id = $1")
        .await
        .expect("prepare");
    for id in [1i32, 2, 1] {
        c.query_one(&stmt, &[&id]).await.expect("reuse prepared");
    }
}

#[tokio::test]
async fn pipelined_batch_with_error_in_the_middle_recovers() {
    let pg = shared_pg();
    let db = pg.fresh_db("pipe");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    // tokio-postgres pipelines concurrent requests on one connection.
    let futs: Vec<_> = (0..50)
        .map(|i| {
            let c = &c;
            async move {
                if i == 25 {
                    c.query_one("SELECT 1/0", &[]).await.map(|_| 0)
                } else {
                    c.query_one("SELECT $1::int * 2", &[&i])
                        .await
                        .map(|r| r.get::<_, i32>(0))
                }
            }
        })
        .collect();
    let results = join_all(futs).await;
    for (i, r) in results.iter().enumerate() {
        if i == 25 {
            let err = r.as_ref().expect_err("division by zero");
            assert_eq!(err.code().map(|c| c.code()), Some("22012"));
        } else {
            assert_eq!(*r.as_ref().expect("ok"), (i as i32) * 2);
        }
    }
    assert_eq!(
        c.query_one("SELECT 42", &[])
            .await
            .expect("after error")
            .get::<_, i32>(0),
        42
    );
}

#[tokio::test]
async fn transactions_savepoints_and_session_state() {
    let pg = shared_pg();
    let db = pg.fresh_db("tx");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute("CREATE TABLE t (id int); SET application_name = 'tx-test'; CREATE TEMP TABLE scratch (x int)").await.expect("setup");
    {
        let tx = c.transaction().await.expect("begin");
        tx.execute("INSERT INTO t VALUES (1)", &[])
            .await
            .expect("insert");
        tx.batch_execute("SAVEPOINT s1").await.expect("savepoint");
        assert!(tx
            .execute("INSERT INTO nope VALUES (1)", &[])
            .await
            .is_err());
        tx.batch_execute("ROLLBACK TO SAVEPOINT s1")
            .await
            .expect("rollback to");
        tx.execute("INSERT INTO t VALUES (2)", &[])
            .await
            .expect("insert after savepoint");
        tx.commit().await.expect("commit");
    }
    {
        let tx = c.transaction().await.expect("begin");
        tx.execute("INSERT INTO t VALUES (3)", &[])
            .await
            .expect("insert");
        tx.rollback().await.expect("rollback");
    }
    let n: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 2);
    // Session-level state survives: the SET, the temp table, an advisory lock.
    let app: String = c
        .query_one("SHOW application_name", &[])
        .await
        .expect("show")
        .get(0);
    assert_eq!(app, "tx-test");
    c.execute("INSERT INTO scratch VALUES (1)", &[])
        .await
        .expect("temp table still there");
    c.execute("SELECT pg_advisory_lock(4242)", &[])
        .await
        .expect("lock");
    let held: bool = c
        .query_one("SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND pid = pg_backend_pid()", &[])
        .await
        .expect("pg_locks")
        .get(0);
    assert!(held, "advisory lock held by the same backend");
}

#[tokio::test]
async fn failed_transaction_state_is_reported_and_cleared() {
    let pg = shared_pg();
    let db = pg.fresh_db("failtx");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute("BEGIN").await.expect("begin");
    assert!(c.batch_execute("SELECT 1/0").await.is_err());
    let err = c
        .batch_execute("SELECT 1")
        .await
        .expect_err("aborted transaction");
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    c.batch_execute("ROLLBACK").await.expect("rollback");
    c.batch_execute("SELECT 1").await.expect("usable again");
}

#[tokio::test]
async fn large_results_stream_through() {
    let pg = shared_pg();
    let db = pg.fresh_db("large");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    // One 8 MB value (a frame far over the streaming threshold) and many small rows.
    let big: String = c
        .query_one("SELECT repeat('x', 8 * 1024 * 1024)", &[])
        .await
        .expect("big")
        .get(0);
    assert_eq!(big.len(), 8 * 1024 * 1024);
    let rows = c
        .query(
            "SELECT g, md5(g::text) FROM generate_series(1, 100000) g",
            &[],
        )
        .await
        .expect("many rows");
    assert_eq!(rows.len(), 100_000);
    let direct = pg.psql(&db, "SELECT md5('100000')");
    assert_eq!(rows[99_999].get::<_, String>(1), direct);
}
