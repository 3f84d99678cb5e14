//! Many concurrent sessions, the connection limit, and graceful shutdown.

use std::time::Duration;

use ddlgate_testkit::{connect, eventually_async, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use futures_util::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sessions() {
    let pg = shared_pg();
    let db = pg.fresh_db("many");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    pg.psql(&db, "CREATE TABLE hits (session int, n int)");
    let sessions = (0..200).map(|i| {
        let url = gw.url(SUPER, &db);
        async move {
            let c = connect(&url)
                .await
                .unwrap_or_else(|e| panic!("session {i}: {e}"));
            for n in 0..5 {
                c.execute("INSERT INTO hits VALUES ($1, $2)", &[&i, &n])
                    .await
                    .expect("insert");
            }
            let mine: i64 = c
                .query_one("SELECT count(*) FROM hits WHERE session = $1", &[&i])
                .await
                .expect("count")
                .get(0);
            assert_eq!(mine, 5);
            c
        }
    });
    let clients = join_all(sessions).await;
    assert_eq!(gw.gateway.live_sessions(), 200);
    assert_eq!(pg.psql(&db, "SELECT count(*) FROM hits"), "1000");
    drop(clients);
    eventually_async(Duration::from_secs(10), "sessions to close", || async {
        gw.gateway.live_sessions() == 0
    })
    .await;
}

#[tokio::test]
async fn connection_limit_is_enforced() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| c.listen.max_connections = 2),
    )
    .await;
    let a = connect(&gw.url(SUPER, "postgres")).await.expect("a");
    let _b = connect(&gw.url(SUPER, "postgres")).await.expect("b");
    let err = connect(&gw.url(SUPER, "postgres"))
        .await
        .expect_err("third refused");
    assert_eq!(err.as_db_error().map(|e| e.code().code()), Some("53300"));
    drop(a);
    eventually_async(Duration::from_secs(10), "a slot to free up", || async {
        connect(&gw.url(SUPER, "postgres")).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_lets_running_work_finish_then_closes() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| c.listen.shutdown_timeout_secs = 3),
    )
    .await;
    let addr = gw.addr;
    let busy = connect(&gw.url(SUPER, "postgres")).await.expect("busy");
    let idle = connect(&gw.url(SUPER, "postgres")).await.expect("idle");
    let running = tokio::spawn(async move {
        busy.query_one("SELECT pg_sleep(1)::text || 'done'", &[])
            .await
            .map(|r| r.get::<_, String>(0))
    });
    // Let the query reach the server before signalling.
    let watcher = connect(&format!(
        "postgres://{}@127.0.0.1:{}/postgres",
        SUPER.name,
        pg.port()
    ))
    .await
    .expect("watcher");
    eventually_async(Duration::from_secs(10), "query running", || async {
        watcher
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1)%' AND state = 'active'", &[])
            .await
            .map(|r| r.get::<_, i64>(0) == 1)
            .unwrap_or(false)
    })
    .await;
    let shutdown = tokio::spawn(gw.shutdown());
    // New connections are refused once the listener is closed.
    eventually_async(Duration::from_secs(5), "listener closed", || async {
        tokio::net::TcpStream::connect(addr).await.is_err()
    })
    .await;
    assert_eq!(
        running
            .await
            .expect("join")
            .expect("in-flight query completes"),
        "done"
    );
    shutdown.await.expect("join").expect("clean shutdown");
    // After the grace period the idle session was closed with 57P01.
    let err = idle.batch_execute("SELECT 1").await.expect_err("closed");
    assert!(
        err.is_closed() || err.code().map(|c| c.code()) == Some("57P01"),
        "{err}"
    );
}
