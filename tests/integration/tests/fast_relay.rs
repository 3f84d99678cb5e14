//! The fast relay: plain traffic is relayed on it, and a session goes back to the async relay
//! for every statement the gateway must see, with no byte lost or reordered either way.

use std::time::Duration;

use bytes::Bytes;
use ddlgate_config::RuleAction;
use ddlgate_ddl::RuleId;
use ddlgate_proxy::FastRelayStats;
use ddlgate_testkit::raw::{query, RawClient};
use ddlgate_testkit::{connect, eventually_async, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use futures_util::{SinkExt, StreamExt};
use tokio_postgres::SimpleQueryMessage;

fn stats(gw: &GatewayHandle) -> FastRelayStats {
    gw.gateway
        .fast_relay_stats()
        .expect("the fast relay is on by default")
}

#[tokio::test]
async fn plain_statements_ride_the_fast_relay_and_ddl_still_meets_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("fast_ddl");
    pg.psql(&db, "CREATE TABLE t (a int)");
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| {
            c.policy
                .rules
                .insert(RuleId::RenamingColumn, RuleAction::Block);
        }),
    )
    .await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    let before = stats(&gw);
    for i in 0..200i32 {
        let n: i32 = c
            .query_one("SELECT $1::int + 1", &[&i])
            .await
            .expect("extended")
            .get(0);
        assert_eq!(n, i + 1);
        c.simple_query("SELECT 1").await.expect("simple");
    }
    let held = stats(&gw);
    assert!(
        held.lent > held.returned,
        "held by the fast relay: {held:?}"
    );
    // DDL after a long fast stint is still seen, and blocked.
    let err = c
        .batch_execute("ALTER TABLE t RENAME COLUMN a TO b")
        .await
        .expect_err("blocked");
    assert_eq!(err.code().map(|c| c.code()), Some("55000"), "{err}");
    let after = stats(&gw);
    assert!(after.returned > before.returned, "{after:?}");
    assert!(
        after.forwarded >= before.forwarded + 200 * 4,
        "the fast relay forwarded the statements: {before:?} → {after:?}"
    );
    // Savepoints (left to the async relay) and plain blocks (on the fast relay) both work.
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s; INSERT INTO t VALUES (2); ROLLBACK TO SAVEPOINT s; COMMIT")
        .await
        .expect("savepoints");
    c.batch_execute("BEGIN").await.expect("begin");
    c.batch_execute("INSERT INTO t VALUES (3)")
        .await
        .expect("insert");
    c.batch_execute("COMMIT").await.expect("commit");
    let rows: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 2);
    // After a short stint the session waits a few reads, then is lent again, and DDL is
    // still caught each time.
    let lent = stats(&gw).lent;
    for _ in 0..3 {
        for _ in 0..50 {
            c.simple_query("SELECT 1").await.expect("simple");
        }
        let err = c
            .batch_execute("ALTER TABLE t RENAME COLUMN a TO b")
            .await
            .expect_err("blocked");
        assert_eq!(err.code().map(|c| c.code()), Some("55000"), "{err}");
    }
    assert!(stats(&gw).lent > lent, "lent again: {:?}", stats(&gw));
}

#[tokio::test]
async fn a_slow_reader_gets_every_byte_of_a_large_result() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, "postgres")).await.expect("connect");
    let before = stats(&gw);
    let rows = 40_000;
    let sql = format!("SELECT i, repeat(md5(i::text), 16) FROM generate_series(1, {rows}) i");
    let stream = c
        .query_raw(sql.as_str(), std::iter::empty::<i32>())
        .await
        .expect("query");
    futures_util::pin_mut!(stream);
    let mut seen = 0;
    while let Some(row) = stream.next().await {
        let row = row.expect("row");
        seen += 1;
        let i: i32 = row.get(0);
        let text: &str = row.get(1);
        assert_eq!(i, seen);
        assert_eq!(text.len(), 32 * 16);
        if seen == 1 {
            // Throttling, not synchronisation: the gateway's writes to this client fill the
            // socket buffers and must wait for it (about 20 MB follow).
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert_eq!(seen, rows);
    let after = stats(&gw);
    assert!(
        after.lent > after.returned && before.lent > before.returned,
        "the query went by the fast relay: {before:?} → {after:?}"
    );
    c.simple_query("SELECT 1").await.expect("still usable");
}

#[tokio::test]
async fn pipelines_errors_and_copy_cross_the_fast_relay() {
    let pg = shared_pg();
    let db = pg.fresh_db("fast_copy");
    pg.psql(&db, "CREATE TABLE t (id int, payload text)");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.simple_query("SELECT 1").await.expect("warm up");
    let before = stats(&gw);
    // Pipelined extended queries, one failing in the middle.
    let queries = (0..50i32).map(|i| {
        let c = &c;
        async move {
            let sql = if i == 25 {
                "SELECT 1 / ($1::int - 25)"
            } else {
                "SELECT $1::int * 2"
            };
            c.query_one(sql, &[&i]).await.map(|r| r.get::<_, i32>(0))
        }
    });
    let results = futures_util::future::join_all(queries).await;
    for (i, r) in results.into_iter().enumerate() {
        match i {
            25 => assert_eq!(
                r.expect_err("division by zero").code().map(|c| c.code()),
                Some("22012")
            ),
            _ => assert_eq!(r.expect("query"), i as i32 * 2),
        }
    }
    // COPY in small messages (forwarded by the fast relay) and one of several MB (streamed
    // by the async relay), then out.
    let rows = 50_000;
    let mut data = String::new();
    for i in 0..rows {
        data.push_str(&format!("{i}\tpayload-{i:0>24}\n"));
    }
    let sink = c.copy_in("COPY t FROM STDIN").await.expect("copy in");
    futures_util::pin_mut!(sink);
    let (small, big) = data.as_bytes().split_at(data.len() / 4);
    for chunk in small.chunks(700) {
        sink.send(Bytes::copy_from_slice(chunk))
            .await
            .expect("small chunk");
    }
    sink.send(Bytes::copy_from_slice(big))
        .await
        .expect("big chunk");
    assert_eq!(sink.finish().await.expect("finish"), rows as u64);
    let out = c
        .copy_out("COPY (SELECT * FROM t ORDER BY id) TO STDOUT")
        .await
        .expect("copy out");
    futures_util::pin_mut!(out);
    let mut got = Vec::new();
    while let Some(chunk) = out.next().await {
        got.extend_from_slice(&chunk.expect("chunk"));
    }
    assert!(got == data.as_bytes(), "COPY OUT differs");
    // The big CopyData brought the session back; the rest were forwarded on the fast relay.
    let after = stats(&gw);
    assert!(
        after.forwarded >= before.forwarded + 100,
        "{before:?} → {after:?}"
    );
    let msgs = c.simple_query("SELECT 'ok'").await.expect("usable");
    assert!(matches!(&msgs[1], SimpleQueryMessage::Row(r) if r.get(0) == Some("ok")));
}

#[tokio::test]
async fn shutdown_tells_a_session_held_by_the_fast_relay() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| c.listen.shutdown_timeout_secs = 1),
    )
    .await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    c.send(&query(b"SELECT 1")).await;
    c.read_until(b'Z').await;
    eventually_async(
        Duration::from_secs(10),
        "the session to be lent",
        || async {
            let s = stats(&gw);
            s.lent > s.returned
        },
    )
    .await;
    gw.shutdown().await.expect("clean shutdown");
    let msgs = tokio::time::timeout(Duration::from_secs(10), c.read_to_eof())
        .await
        .expect("closed");
    let e = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("no ErrorResponse in {msgs:?}"));
    assert_eq!(e.sqlstate().as_deref(), Some("57P01"));
    assert_eq!(e.field(b'S').as_deref(), Some("FATAL"));
}

#[tokio::test]
async fn with_the_fast_relay_off_everything_stays_on_the_async_relay() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(|c| c.listen.fast_relay_threads = 0),
    )
    .await;
    assert!(gw.gateway.fast_relay_stats().is_none());
    let c = connect(&gw.url(SUPER, "postgres")).await.expect("connect");
    c.simple_query("SELECT 1").await.expect("served");
}

#[tokio::test]
async fn a_backend_terminated_while_the_fast_relay_holds_the_session_ends_it() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    // The backend's FATAL and its close often arrive as one readiness event: the session must
    // still end, every time.
    for round in 0..12 {
        let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
        c.send(&query(b"SELECT pg_backend_pid()")).await;
        let msgs = c.read_until(b'Z').await;
        let row = msgs.iter().find(|m| m.tag == b'D').expect("a row");
        let pid = String::from_utf8_lossy(&row.body[6..]).into_owned();
        eventually_async(
            Duration::from_secs(10),
            "the session to be lent",
            || async {
                let s = stats(&gw);
                s.lent > s.returned
            },
        )
        .await;
        pg.psql("postgres", &format!("SELECT pg_terminate_backend({pid})"));
        let msgs = tokio::time::timeout(Duration::from_secs(10), c.read_to_eof())
            .await
            .unwrap_or_else(|_| panic!("round {round}: the client's connection stayed open"));
        let e = msgs.iter().find(|m| m.tag == b'E');
        assert_eq!(
            e.and_then(|e| e.sqlstate()).as_deref(),
            Some("57P01"),
            "round {round}: {msgs:?}"
        );
    }
}
