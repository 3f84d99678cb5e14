//! Authentication passthrough for every method the server may ask for.

use ddlgate_testkit::{
    connect, shared_pg, GatewayHandle, GatewayOptions, Role, CLEAR, MD5, SCRAM, SUPER,
};

async fn login(gw: &GatewayHandle, role: Role, db: &str) -> Result<String, tokio_postgres::Error> {
    let c = connect(&gw.url(role, db)).await?;
    let row = c.query_one("SELECT current_user::text", &[]).await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn every_method_with_right_password() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    for role in [SUPER, SCRAM, MD5, CLEAR] {
        assert_eq!(
            login(&gw, role, "postgres")
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", role.name)),
            role.name
        );
    }
}

#[tokio::test]
async fn wrong_passwords_get_the_servers_error() {
    let pg = shared_pg();
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    for role in [SCRAM, MD5, CLEAR] {
        let wrong = Role {
            name: role.name,
            password: "wrong",
        };
        let err = login(&gw, wrong, "postgres").await.expect_err("must fail");
        let db_err = err
            .as_db_error()
            .unwrap_or_else(|| panic!("{}: not a server error: {err}", role.name));
        assert_eq!(db_err.code().code(), "28P01", "{}", role.name);
        assert!(
            db_err.message().contains("password authentication failed"),
            "{}",
            db_err.message()
        );
    }
}

#[tokio::test]
async fn scram_plus_is_not_offered_even_when_upstream_has_tls() {
    // With TLS upstream the server offers SCRAM-SHA-256-PLUS; the client (plaintext to the
    // gateway) must only see SCRAM-SHA-256, and login must work.
    let pg = ddlgate_testkit::shared_tls_pg();
    let gw = GatewayHandle::start(
        pg,
        GatewayOptions {
            upstream_tls: ddlgate_config::UpstreamTlsMode::Require,
            ..Default::default()
        },
    )
    .await;
    let mut c = ddlgate_testkit::raw::RawClient::connect(gw.addr).await;
    c.send(&ddlgate_testkit::raw::startup_packet(
        0,
        &[("user", SCRAM.name), ("database", "postgres")],
    ))
    .await;
    let m = c.read_msg().await.expect("auth request");
    assert_eq!(m.tag, b'R');
    assert_eq!(&m.body[..4], &[0, 0, 0, 10], "AuthenticationSASL");
    assert_eq!(&m.body[4..], b"SCRAM-SHA-256\0\0");
    assert_eq!(
        login(&gw, SCRAM, "postgres")
            .await
            .expect("scram via TLS upstream"),
        SCRAM.name
    );
}
