//! Test harness for ddlgate: real PostgreSQL clusters on free loopback ports, gateways running
//! in-process in front of them, generated TLS certificates, and client helpers.
//!
//! Clusters are shared per test binary (starting one costs a second or two) and each test
//! works in a database of its own ([`Pg::fresh_db`]). A watchdog stops every cluster when the
//! test process exits, even if it is killed.

mod certs;
mod client;
mod gateway;
mod pg;
mod process;
pub mod raw;

pub use certs::CertSet;
pub use client::{connect, connect_tls, connect_with_notices, eventually, eventually_async};
pub use gateway::{GatewayHandle, GatewayOptions};
pub use pg::{shared_pg, shared_tls_pg, Pg, Role, CLEAR, MD5, SCRAM, SUPER};
pub use process::{free_port, wait_listening, KillOnDrop};

/// Shows gateway logs in test output when `RUST_LOG` is set.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
