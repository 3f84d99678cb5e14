//! ddlgate's I/O layer: the listener, TLS on both sides, upstream connections, cancel
//! routing, and the relay. Everything that awaits lives here; decisions live in
//! `ddlgate-session` (and, for DDL, `ddlgate-ddl`).
//!
//! Model: one upstream connection per client connection, no pooling. Prepared statements,
//! advisory locks, session `SET`s, temporary tables and LISTEN all behave exactly as they do
//! against the server directly.

pub mod approvals;
pub mod audit_health;
mod auth;
pub mod breakglass;
mod cancel;
mod connection;
pub mod enforce;
mod error;
pub mod exec;
mod gate;
mod gateway;
pub mod guard;
mod io;
pub mod jobs;
pub mod metrics;
#[cfg(test)]
mod qualified;
mod relay;
pub use relay::FastRelayStats;
pub mod reload;
mod server;
pub mod sessions;
mod startup;
mod stream;
mod sync;
mod tls;
pub use tls::admin_server_config;
pub mod traffic;
mod upstream;

pub use error::{ErrorKind, ProxyError};
pub use gateway::Gateway;
