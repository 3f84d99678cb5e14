//! TLS on each side of the gateway, and on both.

use ddlgate_config::{ClientTlsMode, UpstreamTlsMode};
use ddlgate_testkit::raw::{startup_packet, RawClient};
use ddlgate_testkit::{
    connect, connect_tls, shared_pg, shared_tls_pg, CertSet, GatewayHandle, GatewayOptions, MD5,
    SCRAM,
};
use std::sync::OnceLock;

fn gateway_certs() -> &'static CertSet {
    static C: OnceLock<CertSet> = OnceLock::new();
    C.get_or_init(CertSet::generate)
}

fn tls_url(gw: &GatewayHandle, user: &str, pw: &str, mode: &str, extra: &str) -> String {
    format!(
        "postgres://{user}:{pw}@localhost:{}/postgres?sslmode={mode}{extra}",
        gw.addr.port()
    )
}

#[tokio::test]
async fn client_tls_verified_by_the_client() {
    let pg = shared_pg();
    let certs = gateway_certs();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            client_tls: Some((ClientTlsMode::Allow, certs)),
            ..Default::default()
        },
    )
    .await;
    let c = connect_tls(
        &tls_url(&gw, SCRAM.name, SCRAM.password, "require", ""),
        certs.client_config(),
    )
    .await
    .expect("tls connect");
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("query")
        .get(0);
    assert!(!ssl, "gateway→server hop is plaintext in this test");
    // allow: plaintext clients still welcome.
    connect(&gw.url(SCRAM, "postgres"))
        .await
        .expect("plaintext allowed");
}

#[tokio::test]
async fn client_tls_require_refuses_plaintext() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            client_tls: Some((ClientTlsMode::Require, gateway_certs())),
            ..Default::default()
        },
    )
    .await;
    let err = connect(&gw.url(SCRAM, "postgres"))
        .await
        .expect_err("plaintext refused");
    let db = err.as_db_error().expect("server-style error");
    assert_eq!(db.code().code(), "28000");
    assert!(
        db.message().contains("requires an SSL connection"),
        "{}",
        db.message()
    );
}

#[tokio::test]
async fn ssl_request_without_tls_configured_gets_n() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let mut c = RawClient::connect(gw.addr).await;
    c.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await;
    assert_eq!(c.read_byte().await, b'N');
    // GSSENCRequest also gets N, and the startup that follows works.
    c.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]).await;
    assert_eq!(c.read_byte().await, b'N');
    c.send(&startup_packet(
        0,
        &[("user", "tk_super"), ("database", "postgres")],
    ))
    .await;
    let msgs = c.read_until(b'Z').await;
    assert!(msgs.iter().any(|m| m.tag == b'K'));
}

#[tokio::test]
async fn upstream_tls_require_and_verify_full() {
    let pg = shared_tls_pg();
    let server_ca = pg.certs.as_ref().expect("tls cluster").ca.clone();
    for (mode, root) in [
        (UpstreamTlsMode::Require, None),
        (UpstreamTlsMode::VerifyFull, Some(server_ca.clone())),
    ] {
        let gw = GatewayHandle::start(
            pg,
            GatewayOptions {
                upstream_tls: mode,
                upstream_root: root,
                ..Default::default()
            },
        )
        .await;
        let c = connect(&gw.url(MD5, "postgres"))
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let ssl: bool = c
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .expect("q")
            .get(0);
        assert!(ssl, "{mode:?}: the gateway→server hop is encrypted");
    }
}

#[tokio::test]
async fn upstream_verify_full_rejects_unknown_ca() {
    let pg = shared_tls_pg();
    let other = CertSet::generate();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            upstream_tls: UpstreamTlsMode::VerifyFull,
            upstream_root: Some(other.ca.clone()),
            ..Default::default()
        },
    )
    .await;
    let err = connect(&gw.url(MD5, "postgres"))
        .await
        .expect_err("untrusted server certificate");
    let db = err.as_db_error().expect("gateway error");
    assert_eq!(db.code().code(), "08001");
    assert!(
        !db.message().contains("127.0.0.1"),
        "no internals leaked: {}",
        db.message()
    );
}

#[tokio::test]
async fn upstream_tls_required_but_server_has_none() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            upstream_tls: UpstreamTlsMode::Require,
            ..Default::default()
        },
    )
    .await;
    let err = connect(&gw.url(MD5, "postgres"))
        .await
        .expect_err("server refuses TLS");
    assert_eq!(err.as_db_error().map(|d| d.code().code()), Some("08001"));
    // prefer falls back to plaintext.
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            upstream_tls: UpstreamTlsMode::Prefer,
            ..Default::default()
        },
    )
    .await;
    connect(&gw.url(MD5, "postgres"))
        .await
        .expect("prefer falls back");
}

#[tokio::test]
async fn tls_on_both_sides() {
    let pg = shared_tls_pg();
    let certs = gateway_certs();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            upstream_tls: UpstreamTlsMode::Require,
            client_tls: Some((ClientTlsMode::Require, certs)),
            ..Default::default()
        },
    )
    .await;
    // MD5 crosses two TLS hops unchanged.
    let c = connect_tls(
        &tls_url(&gw, MD5.name, MD5.password, "require", ""),
        certs.client_config(),
    )
    .await
    .expect("md5 over two TLS hops");
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("q")
        .get(0);
    assert!(ssl);
    let rows = c
        .query("SELECT g FROM generate_series(1, 20000) g", &[])
        .await
        .expect("bulk over TLS");
    assert_eq!(rows.len(), 20000);
    // SCRAM across two TLS hops: channel binding cannot survive the hop, so the client must not
    // ask for it (documented limitation; see README).
    connect_tls(
        &tls_url(
            &gw,
            SCRAM.name,
            SCRAM.password,
            "require",
            "&channel_binding=disable",
        ),
        certs.client_config(),
    )
    .await
    .expect("scram over two TLS hops without channel binding");
}
