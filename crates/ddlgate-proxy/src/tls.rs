//! rustls configuration for both sides.
//!
//! Client side: the certificate and key from `[client_tls]`, ALPN `postgresql` (PostgreSQL 17
//! clients send it; older ones send none, which is accepted).
//! Upstream side: libpq's `sslmode` semantics. `prefer` and `require` encrypt without checking
//! the certificate, as libpq does without a root certificate; `verify-full` checks the chain
//! against `root_cert` (or the Mozilla roots) and the host name. SNI is sent whenever the host
//! is a DNS name.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::ProxyError;

/// ALPN protocol id PostgreSQL uses for direct TLS.
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ProxyError> {
    let file =
        File::open(path).map_err(|e| ProxyError::TlsConfig(format!("{}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProxyError::TlsConfig(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ProxyError::TlsConfig(format!(
            "{}: no certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// Builds the client-facing TLS acceptor configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ProxyError> {
    let certs = load_certs(cert)?;
    let file =
        File::open(key).map_err(|e| ProxyError::TlsConfig(format!("{}: {e}", key.display())))?;
    let key = rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?
        .ok_or_else(|| ProxyError::TlsConfig("no private key found".into()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(Arc::new(config))
}

/// The admin API's TLS configuration: its certificate, and when `client_ca` is given, client
/// certificates required and checked against those authorities (mutual TLS).
pub fn admin_server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, ProxyError> {
    let certs = load_certs(cert)?;
    let file =
        File::open(key).map_err(|e| ProxyError::TlsConfig(format!("{}: {e}", key.display())))?;
    let key = rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?
        .ok_or_else(|| ProxyError::TlsConfig("no private key found".into()))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in load_certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Builds the upstream TLS configuration: verifying when `verify` is set.
pub fn client_config(
    verify: bool,
    root_cert: Option<&Path>,
) -> Result<Arc<ClientConfig>, ProxyError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
    let mut config = if verify {
        let mut roots = RootCertStore::empty();
        match root_cert {
            Some(path) => {
                for cert in load_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| ProxyError::TlsConfig(e.to_string()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider())))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(Arc::new(config))
}

/// Server name for SNI and verification.
pub fn server_name(host: &str) -> Result<ServerName<'static>, ProxyError> {
    ServerName::try_from(host.to_owned()).map_err(|e| ProxyError::TlsConfig(format!("{host}: {e}")))
}

/// Accepts any certificate but still checks the handshake signatures: encryption without
/// authentication, what `sslmode=require` means without a root certificate.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
