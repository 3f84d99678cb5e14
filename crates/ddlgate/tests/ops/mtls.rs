//! The admin API over HTTPS with client certificates: a caller needs both a certificate the
//! configured CA signed and a bearer token; probes stay open to certified callers.

use std::sync::Arc;

use ddlgate_testkit::{free_port, shared_pg, CertSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::common::write_config;
use crate::{start_with_admin, TOKEN, VIEWER};

/// One HTTP/1.1 request over TLS: the status code, or the error that stopped it (handshake or
/// I/O) as text.
async fn https_get(
    tls: rustls::ClientConfig,
    admin: u16,
    path: &str,
    token: Option<&str>,
) -> Result<u16, String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", admin))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut stream = TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_requires_a_client_certificate_and_a_token() {
    let pg = shared_pg();
    let certs = CertSet::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let cfg = write_config(
        dir.path(),
        port,
        pg.port(),
        &format!(
            "[admin]\ntls_cert = \"{}\"\ntls_key = \"{}\"\nclient_ca = \"{}\"\n",
            certs.cert.display(),
            certs.key.display(),
            certs.ca.display()
        ),
    );
    let _gw = start_with_admin(&cfg, (port, admin)).await;
    let with_cert = || certs.client_config_with_cert();
    assert_eq!(
        https_get(with_cert(), admin, "/healthz", None).await,
        Ok(200)
    );
    assert_eq!(
        https_get(with_cert(), admin, "/metrics", None).await,
        Ok(200)
    );
    assert_eq!(
        https_get(with_cert(), admin, "/v1/sessions", Some(VIEWER)).await,
        Ok(200)
    );
    assert_eq!(
        https_get(with_cert(), admin, "/v1/policy", Some(TOKEN)).await,
        Ok(200)
    );
    // A certificate is not a token: the API still asks for one.
    assert_eq!(
        https_get(with_cert(), admin, "/v1/sessions", None).await,
        Ok(401)
    );
    // A valid token without a certificate never reaches the API, not even the probes.
    for (path, token) in [("/v1/sessions", Some(TOKEN)), ("/healthz", None)] {
        let refused = https_get(certs.client_config(), admin, path, token).await;
        assert!(
            refused.is_err(),
            "{path} answered {refused:?} without a client certificate"
        );
    }
    // Plain HTTP is not served either.
    let plain = tokio::task::spawn_blocking(move || {
        ureq::get(&format!("http://127.0.0.1:{admin}/healthz"))
            .call()
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    })
    .await
    .expect("join");
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
}

#[test]
fn a_client_ca_without_a_server_certificate_is_refused_at_start() {
    let certs = CertSet::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(
        dir.path(),
        free_port(),
        free_port(),
        &format!("[admin]\nclient_ca = \"{}\"\n", certs.ca.display()),
    );
    let out = std::process::Command::new(crate::common::BIN)
        .args(["check-config", "--config", &cfg])
        .output()
        .expect("run ddlgate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {stderr}");
    assert!(stderr.contains("admin.client_ca"), "{stderr}");
}
