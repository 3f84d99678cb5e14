use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tempfile::TempDir;

/// A throwaway CA and a server certificate for `localhost` and `127.0.0.1`, as PEM files.
pub struct CertSet {
    _dir: TempDir,
    /// CA certificate (PEM).
    pub ca: PathBuf,
    /// Server certificate (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM).
    pub key: PathBuf,
    ca_der: CertificateDer<'static>,
    /// A client certificate the CA signed, and its key (DER), for mutual TLS.
    client: (CertificateDer<'static>, PrivateKeyDer<'static>),
}

impl CertSet {
    /// Generates the CA and server certificate.
    pub fn generate() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ddlgate-certs-")
            .tempdir()
            .expect("tempdir");
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ddlgate test CA");
        let ca = ca_params.self_signed(&ca_key).expect("ca cert");
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
        let client_key = KeyPair::generate().expect("client key");
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "ddlgate test client");
        let client_cert = client_params
            .signed_by(&client_key, &ca, &ca_key)
            .expect("client cert");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write pem");
            path
        };
        Self {
            ca: write("ca.crt", ca.pem()),
            cert: write("server.crt", cert.pem()),
            key: write("server.key", key.serialize_pem()),
            ca_der: ca.der().clone(),
            client: (
                client_cert.der().clone(),
                PrivateKeyDer::Pkcs8(client_key.serialize_der().into()),
            ),
            _dir: dir,
        }
    }

    /// A rustls client configuration trusting this CA.
    pub fn client_config(&self) -> rustls::ClientConfig {
        self.client_builder().with_no_client_auth()
    }

    /// [`Self::client_config`], presenting the client certificate the CA signed.
    pub fn client_config_with_cert(&self) -> rustls::ClientConfig {
        let (cert, key) = &self.client;
        self.client_builder()
            .with_client_auth_cert(vec![cert.clone()], key.clone_key())
            .expect("client certificate")
    }

    fn client_builder(
        &self,
    ) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("add CA");
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
    }
}
