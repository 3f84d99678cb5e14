//! Malformed and hostile input: each gets an error where the protocol allows one and a closed
//! connection, and the gateway keeps serving everyone else.

use std::time::Duration;

use ddlgate_testkit::raw::{msg, query, startup_packet, RawClient};
use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};

async fn gateway() -> GatewayHandle {
    GatewayHandle::start(
        shared_pg(),
        GatewayOptions::tweaked(|c| {
            c.listen.max_message_bytes = 64 * 1024;
            c.listen.startup_timeout_secs = 1;
            c.listen.message_timeout_secs = 1;
        }),
    )
    .await
}

async fn still_serving(gw: &GatewayHandle) {
    let c = connect(&gw.url(SUPER, "postgres"))
        .await
        .expect("gateway still accepts");
    c.batch_execute("SELECT 1").await.expect("and serves");
}

fn fatal(msgs: &[ddlgate_testkit::raw::RawMsg]) -> (String, String) {
    let e = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("no ErrorResponse in {msgs:?}"));
    (
        e.sqlstate().unwrap_or_default(),
        e.field(b'S').unwrap_or_default(),
    )
}

#[tokio::test]
async fn bad_startup_packets() {
    let gw = gateway().await;
    // Length below the minimum.
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&[0, 0, 0, 4]).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
    // Over the 10 000 byte cap.
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&[0, 0, 0x30, 0]).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
    // Unknown protocol major.
    let mut c = RawClient::connect(gw.addr).await;
    let mut p = startup_packet(0, &[("user", "x")]);
    p[4..8].copy_from_slice(&(9u32 << 16).to_be_bytes());
    c.send(&p).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "0A000");
    // No user.
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&startup_packet(0, &[("database", "postgres")]))
        .await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "28000");
    // Garbage.
    let mut c = RawClient::connect(gw.addr).await;
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
    still_serving(&gw).await;
}

#[tokio::test]
async fn plaintext_stuffed_after_ssl_request_is_rejected() {
    let gw = gateway().await;
    let mut c = RawClient::connect(gw.addr).await;
    let mut bytes = vec![0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    bytes.extend_from_slice(&startup_packet(0, &[("user", SUPER.name)]));
    c.send(&bytes).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
}

#[tokio::test]
async fn stalled_startup_times_out() {
    let gw = gateway().await;
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&[0, 0, 0, 40, 0, 3]).await;
    let (code, severity) = fatal(&c.read_to_eof().await);
    assert_eq!((code.as_str(), severity.as_str()), ("08P01", "FATAL"));
    still_serving(&gw).await;
}

#[tokio::test]
async fn oversized_message_after_login() {
    let gw = gateway().await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    let big = vec![b'x'; 100 * 1024];
    c.send(&query(&big)).await;
    let (code, _) = fatal(&c.read_to_eof().await);
    assert_eq!(code, "54000");
    still_serving(&gw).await;
}

#[tokio::test]
async fn invalid_length_after_login() {
    let gw = gateway().await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    c.send(&[b'Q', 0, 0, 0, 2]).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
    // A Query without its terminator: malformed body.
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    c.send(&msg(b'Q', b"SELECT 1")).await;
    assert_eq!(fatal(&c.read_to_eof().await).0, "08P01");
    still_serving(&gw).await;
}

#[tokio::test]
async fn client_stalling_mid_message_is_closed() {
    let gw = gateway().await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    let q = query(b"SELECT 1");
    c.send(&q[..6]).await;
    let msgs = tokio::time::timeout(Duration::from_secs(10), c.read_to_eof())
        .await
        .expect("closed within the timeout");
    assert_eq!(fatal(&msgs).0, "08P01");
    still_serving(&gw).await;
}

#[tokio::test]
async fn unknown_message_types_are_forwarded_to_the_server() {
    // The server, not the gateway, judges message types it does not know.
    let gw = gateway().await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    c.send(&msg(b'?', b"abc")).await;
    let msgs = c.read_to_eof().await;
    let e = msgs.iter().find(|m| m.tag == b'E').expect("server error");
    assert!(
        e.field(b'M')
            .unwrap_or_default()
            .contains("invalid frontend message type"),
        "{msgs:?}"
    );
    still_serving(&gw).await;
}

/// A DDL statement larger than the analyser parses (1 MiB) is not parsed: it is refused as
/// unparseable (the default policy), the table is untouched, and the session goes on.
#[tokio::test]
async fn a_ddl_statement_too_large_to_analyse_is_refused_unparsed() {
    let pg = ddlgate_testkit::shared_pg();
    let db = pg.fresh_db("hostile_huge_ddl");
    pg.psql(&db, "CREATE TABLE t (a int)");
    let gw = ddlgate_testkit::GatewayHandle::start(pg, Default::default()).await;
    let c = ddlgate_testkit::connect(&gw.url(ddlgate_testkit::SUPER, &db))
        .await
        .expect("connect");
    let huge = format!(
        "ALTER TABLE t ADD COLUMN b text DEFAULT '{}'",
        "x".repeat(ddlgate_ddl::MAX_DDL_BYTES)
    );
    let e = c.batch_execute(&huge).await.expect_err("refused");
    assert_eq!(e.code().map(|c| c.code()), Some("0A000"), "{e}");
    assert_eq!(
        pg.psql(
            &db,
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'b'"
        ),
        "0"
    );
    c.batch_execute("SELECT 1")
        .await
        .expect("the session goes on");
}
