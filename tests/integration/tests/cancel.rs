//! Cancel requests go to the right upstream session and never to another one.

use std::time::{Duration, Instant};

use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use tokio_postgres::NoTls;

#[tokio::test]
async fn cancel_reaches_only_its_own_session() {
    let pg = shared_pg();
    let db = pg.fresh_db("cancel");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let victim = connect(&gw.url(SUPER, &db)).await.expect("victim");
    let bystander = connect(&gw.url(SUPER, &db)).await.expect("bystander");
    victim
        .batch_execute("SET application_name = 'victim'")
        .await
        .expect("set");
    bystander
        .batch_execute("SET application_name = 'bystander'")
        .await
        .expect("set");
    let token = victim.cancel_token();

    let started = Instant::now();
    let victim_q = tokio::spawn(async move { victim.batch_execute("SELECT pg_sleep(30)").await });
    let bystander_q = tokio::spawn(async move {
        let r = bystander.batch_execute("SELECT pg_sleep(1.5)").await;
        (r, bystander)
    });
    // Wait until the victim's query is actually running.
    let watcher = connect(&gw.url(SUPER, &db)).await.expect("watcher");
    ddlgate_testkit::eventually_async(Duration::from_secs(10), "victim running pg_sleep", || async {
        watcher
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'victim' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'", &[])
            .await
            .map(|r| r.get::<_, i64>(0) == 1)
            .unwrap_or(false)
    })
    .await;
    token.cancel_query(NoTls).await.expect("cancel sent");

    let err = victim_q.await.expect("join").expect_err("victim cancelled");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cancel took effect promptly"
    );
    let (r, bystander) = bystander_q.await.expect("join");
    r.expect("bystander's query was not cancelled");
    bystander
        .batch_execute("SELECT 1")
        .await
        .expect("bystander still usable");
}

#[tokio::test]
async fn forged_cancel_keys_do_nothing() {
    use ddlgate_testkit::raw::RawClient;
    let pg = shared_pg();
    let db = pg.fresh_db("forged");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut target = RawClient::login(gw.addr, SUPER.name, &db, &[]).await;
    target
        .send(&ddlgate_testkit::raw::query(b"SELECT pg_sleep(1)"))
        .await;
    // Cancel with every pid near the real one but a zero secret: none may hit.
    for pid in 0u32..64 {
        let mut c = RawClient::connect(gw.addr).await;
        let mut pkt = 16u32.to_be_bytes().to_vec();
        pkt.extend_from_slice(&((1234u32 << 16) | 5678).to_be_bytes());
        pkt.extend_from_slice(&pid.to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0]);
        c.send(&pkt).await;
        assert!(
            c.read_to_eof().await.is_empty(),
            "cancel connections get no reply"
        );
    }
    let msgs = target.read_until(b'Z').await;
    assert!(
        msgs.iter().all(|m| m.tag != b'E'),
        "query was not cancelled: {msgs:?}"
    );
}
