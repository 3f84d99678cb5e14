//! Byte-level behaviour: non-UTF-8 text, protocol 3.2 negotiation, replication connections,
//! routing and renaming of databases.

use ddlgate_config::Upstream;
use ddlgate_testkit::raw::{query, startup_packet, RawClient};
use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};

#[tokio::test]
async fn latin1_bytes_round_trip_unchanged() {
    let pg = shared_pg();
    pg.cluster.create_database("latin1_db", "LATIN1").ok();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::login(
        gw.addr,
        SUPER.name,
        "latin1_db",
        &[("client_encoding", "LATIN1")],
    )
    .await;
    // 0xE9 is 'é' in LATIN1 and invalid as UTF-8 on its own.
    c.send(&query(b"CREATE TABLE IF NOT EXISTS t (v text); TRUNCATE t; INSERT INTO t VALUES ('caf\xe9 \xff\xa0')")).await;
    c.read_until(b'Z').await;
    c.send(&query(b"SELECT v, length(v), convert_to(v, 'LATIN1') = '\\x636166e920ffa0'::bytea FROM t WHERE v = 'caf\xe9 \xff\xa0'")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("one row");
    // DataRow: Int16 column count, then Int32 length + bytes per column.
    let body = &row.body;
    let len0 = u32::from_be_bytes([body[2], body[3], body[4], body[5]]) as usize;
    assert_eq!(
        &body[6..6 + len0],
        b"caf\xe9 \xff\xa0",
        "bytes came back unchanged"
    );
    let rest = &body[6 + len0..];
    assert_eq!(&rest[4..5], b"7");
    assert_eq!(
        rest.last(),
        Some(&b't'),
        "server stored exactly the LATIN1 bytes sent"
    );
}

#[tokio::test]
async fn protocol_3_2_request_is_negotiated_down_by_the_server() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&startup_packet(
        2,
        &[
            ("user", SUPER.name),
            ("database", "postgres"),
            ("_pq_.made_up", "1"),
        ],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    let npv = msgs
        .iter()
        .find(|m| m.tag == b'v')
        .expect("NegotiateProtocolVersion relayed");
    assert_eq!(&npv.body[..4], &[0, 3, 0, 0], "server offers 3.0");
    assert!(
        msgs.iter().any(|m| m.tag == b'K'),
        "session continues with a key"
    );
    c.send(&query(b"SELECT 1")).await;
    assert!(c.read_until(b'Z').await.iter().any(|m| m.tag == b'D'));
}

#[tokio::test]
async fn replication_connection_passes_through() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::login(
        gw.addr,
        SUPER.name,
        "postgres",
        &[("replication", "database")],
    )
    .await;
    c.send(&query(b"IDENTIFY_SYSTEM")).await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs
        .iter()
        .find(|m| m.tag == b'D')
        .expect("IDENTIFY_SYSTEM row");
    assert!(row.body.len() > 10);
    assert!(msgs.iter().all(|m| m.tag != b'E'), "{msgs:?}");
}

#[tokio::test]
async fn routing_by_database_name_with_rename_and_no_wildcard() {
    let pg = shared_pg();
    let real = pg.fresh_db("routed");
    let mut up = Upstream::new("127.0.0.1", pg.port());
    up.tls = ddlgate_config::UpstreamTlsMode::Disable;
    up.dbname = Some(real.clone());
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions::tweaked(move |c| {
            c.databases.clear();
            c.databases.insert("app".into(), up);
        }),
    )
    .await;
    let c = connect(&gw.url(SUPER, "app")).await.expect("app routes");
    let db: String = c
        .query_one("SELECT current_database()::text", &[])
        .await
        .expect("q")
        .get(0);
    assert_eq!(db, real);
    let err = connect(&gw.url(SUPER, "other"))
        .await
        .expect_err("no route");
    let e = err.as_db_error().expect("gateway error");
    assert_eq!(e.code().code(), "3D000");
    assert!(
        e.message().contains("\"other\" is not configured"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn function_call_message_passes_through() {
    // FunctionCall ('F') is what libpq's large-object API uses; pgwire cannot even decode it.
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::login(gw.addr, SUPER.name, "postgres", &[]).await;
    c.send(&query(b"SELECT 'pg_backend_pid'::regproc::oid"))
        .await;
    let msgs = c.read_until(b'Z').await;
    let row = msgs.iter().find(|m| m.tag == b'D').expect("oid");
    let oid: u32 = String::from_utf8_lossy(&row.body[6..])
        .parse()
        .expect("oid text");
    // FunctionCall: oid, 0 arg formats, 0 args, result format 1 (binary).
    let mut body = oid.to_be_bytes().to_vec();
    body.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
    c.send(&ddlgate_testkit::raw::msg(b'F', &body)).await;
    let msgs = c.read_until(b'Z').await;
    let v = msgs
        .iter()
        .find(|m| m.tag == b'V')
        .expect("FunctionCallResponse");
    assert_eq!(&v.body[..4], &[0, 0, 0, 4], "an int4 result");
}
