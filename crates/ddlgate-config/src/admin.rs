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
        }
    }
}
