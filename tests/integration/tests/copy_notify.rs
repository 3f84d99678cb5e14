//! COPY in both directions with large payloads, and LISTEN/NOTIFY across sessions.

use std::time::Duration;

use bytes::Bytes;
use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};
use futures_util::{SinkExt, StreamExt};

#[tokio::test]
async fn copy_in_and_out_large_payloads() {
    let pg = shared_pg();
    let db = pg.fresh_db("copy");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute("CREATE TABLE t (id int, payload text)")
        .await
        .expect("create");
    let rows = 200_000;
    let mut data = String::with_capacity(rows * 40);
    for i in 0..rows {
        data.push_str(&format!("{i}\tpayload-{i:0>24}\n"));
    }
    // One chunk of several MB (streamed CopyData), then many small chunks.
    let sink = c.copy_in("COPY t FROM STDIN").await.expect("copy in");
    futures_util::pin_mut!(sink);
    let (first, rest) = data.as_bytes().split_at(data.len() / 2);
    sink.send(Bytes::copy_from_slice(first))
        .await
        .expect("send big chunk");
    for chunk in rest.chunks(1000) {
        sink.send(Bytes::copy_from_slice(chunk))
            .await
            .expect("send chunk");
    }
    let n = sink.finish().await.expect("finish");
    assert_eq!(n, rows as u64);
    let stream = c
        .copy_out("COPY (SELECT * FROM t ORDER BY id) TO STDOUT")
        .await
        .expect("copy out");
    futures_util::pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(out, data.as_bytes());
}

#[tokio::test]
async fn copy_failure_recovers() {
    let pg = shared_pg();
    let db = pg.fresh_db("copyfail");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    c.batch_execute("CREATE TABLE t (id int)")
        .await
        .expect("create");
    let sink = c.copy_in("COPY t FROM STDIN").await.expect("copy in");
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from_static(b"1\nnot-a-number\n"))
        .await
        .expect("send");
    assert!(sink.finish().await.is_err(), "bad row rejected");
    assert_eq!(
        c.query_one("SELECT count(*) FROM t", &[])
            .await
            .expect("count")
            .get::<_, i64>(0),
        0
    );
}

#[tokio::test]
async fn listen_notify_across_sessions() {
    let pg = shared_pg();
    let db = pg.fresh_db("notify");
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let (listener, mut conn) = tokio_postgres::connect(&gw.url(SUPER, &db), tokio_postgres::NoTls)
        .await
        .expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.send((n.channel().to_owned(), n.payload().to_owned()));
            }
        }
    });
    listener.batch_execute("LISTEN jobs").await.expect("listen");
    let sender = connect(&gw.url(SUPER, &db)).await.expect("connect sender");
    for i in 0..3 {
        sender
            .batch_execute(&format!("NOTIFY jobs, 'payload-{i}'"))
            .await
            .expect("notify");
    }
    for i in 0..3 {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("notification in time")
            .expect("open");
        assert_eq!(got, ("jobs".to_owned(), format!("payload-{i}")));
    }
}
