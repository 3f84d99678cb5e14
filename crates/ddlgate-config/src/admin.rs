//! `[admin]`: the HTTP admin API (health, readiness, metrics, sessions, jobs, policy). Off
//! unless `listen` is set (or `--admin-listen`). Bearer tokens come from the environment or
//! from files, never from this file: an admin token may act, a viewer token may only read.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The admin API's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admin {
    /// Where the API listens (e.g. `127.0.0.1:9187`). Absent: no API.
    pub listen: Option<SocketAddr>,
    /// Environment variable holding the admin bearer token. Default `DDLGATE_ADMIN_TOKEN`.
    pub token_env: String,
    /// Environment variable holding the viewer (read-only) bearer token. Default
    /// `DDLGATE_ADMIN_VIEWER_TOKEN`.
    pub viewer_token_env: String,
    /// A file holding the admin token (its first line), instead of the environment.
    pub token_file: Option<PathBuf>,
    /// A file holding the viewer token (its first line).
    pub viewer_token_file: Option<PathBuf>,
    /// Whether `/healthz`, `/readyz` and `/metrics` answer without a token. Default true.
    pub open_probes: bool,
    /// PEM certificate chain: the API speaks HTTPS (with `tls_key`). Absent: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// PEM certificate authorities: when set, every client must present a certificate they
    /// signed (mutual TLS), in addition to its bearer token. Needs `tls_cert`.
    pub client_ca: Option<PathBuf>,
}

impl Default for Admin {
    fn default() -> Self {
        Self {
            listen: None,
            token_env: "DDLGATE_ADMIN_TOKEN".into(),
            viewer_token_env: "DDLGATE_ADMIN_VIEWER_TOKEN".into(),
            token_file: None,
            viewer_token_file: None,
            open_probes: true,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
        }
    }
}

/// Checks the TLS settings: a certificate and a key together, readable; client CAs only with
/// them.
pub(crate) fn validate(a: &Admin) -> Result<(), crate::ConfigError> {
    use crate::ConfigError;
    match (&a.tls_cert, &a.tls_key) {
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "admin.tls_key",
                "required with admin.tls_cert",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "admin.tls_cert",
                "required with admin.tls_key",
            ))
        }
        _ => {}
    }
    if a.client_ca.is_some() && a.tls_cert.is_none() {
        return Err(ConfigError::invalid(
            "admin.client_ca",
            "client certificates need TLS: set admin.tls_cert and admin.tls_key",
        ));
    }
    for (name, path) in [
        ("tls_cert", &a.tls_cert),
        ("tls_key", &a.tls_key),
        ("client_ca", &a.client_ca),
    ] {
        if let Some(p) = path {
            if !p.is_file() {
                return Err(ConfigError::invalid(
                    format!("admin.{name}"),
                    format!("{} is not a readable file", p.display()),
                ));
            }
        }
    }
    Ok(())
}
