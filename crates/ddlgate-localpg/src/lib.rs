//! Throwaway PostgreSQL clusters started from the installed server binaries.
//!
//! The gateway binary uses this to run with no configuration (it starts a cluster and fronts it),
//! and the test harness uses it for real-Postgres tests. The API is synchronous
//! (`std::process`); nothing here needs an async runtime.
//!
//! ```no_run
//! use ddlgate_localpg::{ClusterOptions, LocalCluster, UserSpec};
//!
//! let cluster = LocalCluster::start(ClusterOptions {
//!     users: vec![UserSpec::scram("app", "secret")],
//!     ..ClusterOptions::default()
//! })?;
//! let url = cluster.url("app", Some("secret"), "postgres");
//! assert_eq!(cluster.psql("postgres", "select 1")?, "1");
//! cluster.stop()?; // or just drop it
//! # Ok::<(), ddlgate_localpg::LocalPgError>(())
//! ```
//!
//! What a cluster looks like:
//!
//! - It listens on `127.0.0.1` only, on a free port, plus a unix socket in its temporary
//!   directory. Over the socket everyone is trusted; that is how [`LocalCluster::psql`]
//!   administers it as the bootstrap superuser `postgres`.
//! - Each [`UserSpec`] gets `host` (or `hostssl`) lines, normal and replication, with its own
//!   method, and its password is stored with the matching hash. Other TCP logins need SCRAM.
//! - Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`), `wal_level` is
//!   `logical`, and `max_connections` is 300.
//! - When we run as root, all PostgreSQL programs run as the `postgres` OS user.
//!
//! Binaries come from [`find_bin_dir`] (the `PG_BIN` environment variable, `pg_config --bindir`,
//! `/usr/lib/postgresql/*/bin`, then `PATH`) unless [`ClusterOptions::bin_dir`] is set.

mod bin_dir;
mod cluster;
mod error;
mod options;
mod os_user;
mod render;

pub use bin_dir::{find_bin_dir, PG_BIN_ENV};
pub use cluster::LocalCluster;
pub use error::LocalPgError;
pub use options::{ClusterOptions, HbaAuth, TlsFiles, UserSpec};
