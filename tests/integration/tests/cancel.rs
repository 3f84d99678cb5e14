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

/// The client sees the server's own process id (BackendKeyData, `pg_backend_pid()` and its own
/// notifications agree, as without the gateway); only the secret is the gateway's, and a
/// cancel with it still reaches the session.
#[tokio::test]
async fn the_backend_pid_is_the_servers() {
    use ddlgate_testkit::raw::{query, startup_packet, RawClient};
    let pg = shared_pg();
    let db = pg.fresh_db("cancel_pid");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&startup_packet(
        0,
        &[("user", SUPER.name), ("database", &db)],
    ))
    .await;
    let opening = c.read_until(b'Z').await;
    let key = opening
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let pid = u32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
    c.send(&query(b"LISTEN ch; NOTIFY ch; SELECT pg_backend_pid()"))
        .await;
    let answer = c.read_until(b'Z').await;
    let row = answer.iter().find(|m| m.tag == b'D').expect("a row");
    let text = String::from_utf8_lossy(&row.body[6..]).into_owned();
    assert_eq!(text.parse::<u32>().expect("a pid"), pid, "pg_backend_pid()");
    let note = answer
        .iter()
        .find(|m| m.tag == b'A')
        .expect("own notification");
    let from = u32::from_be_bytes([note.body[0], note.body[1], note.body[2], note.body[3]]);
    assert_eq!(from, pid, "NotificationResponse pid");
    // tokio-postgres' cancel uses the key it was given: it still cancels.
    let client = connect(&gw.url(SUPER, &db)).await.expect("client");
    let token = client.cancel_token();
    let running = tokio::spawn(async move { client.batch_execute("SELECT pg_sleep(30)").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    token.cancel_query(NoTls).await.expect("cancel sent");
    let r = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("cancelled in time")
        .expect("task");
    let code = r
        .expect_err("cancelled")
        .code()
        .map(|c| c.code().to_owned());
    assert_eq!(code.as_deref(), Some("57014"));
}
