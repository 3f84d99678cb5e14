//! The one error type of this crate.
//!
//! Every message says what failed and what the user can do about it, and failures of the server
//! itself carry the tail of its log, because that is where PostgreSQL explains itself.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Everything that can go wrong while finding, starting, using or stopping a local cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalPgError {
    /// No directory with the PostgreSQL server binaries was found.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found; searched: {searched}. \
         Install the PostgreSQL server (for example `apt-get install postgresql`) \
         or set PG_BIN to its bin directory (for example /usr/lib/postgresql/15/bin)"
    )]
    NoServerBinaries {
        /// The places that were looked at, in order.
        searched: String,
    },

    /// A bin directory was given (by `PG_BIN` or `ClusterOptions::bin_dir`) but lacks a binary.
    #[error(
        "{binary} not found in {dir} (taken from {origin}); point it at the PostgreSQL server bin \
         directory (for example /usr/lib/postgresql/15/bin), or unset it to search automatically"
    )]
    MissingBinary {
        /// The directory that was searched.
        dir: PathBuf,
        /// The binary that is missing.
        binary: &'static str,
        /// Where `dir` came from (`PG_BIN` or `ClusterOptions::bin_dir`).
        origin: &'static str,
    },

    /// We run as root and there is no `postgres` OS user to drop privileges to.
    #[error(
        "running as root, but there is no `{user}` OS user to run PostgreSQL as (PostgreSQL refuses \
         to run as root); install the postgresql package, create the user \
         (`useradd --system --user-group {user}`), or run as a non-root user"
    )]
    NoPostgresOsUser {
        /// The OS user name that was looked up.
        user: &'static str,
    },

    /// Looking up the OS user failed at the system level.
    #[error("could not look up the `{user}` OS user: {source}")]
    OsUserLookup {
        /// The OS user name that was looked up.
        user: &'static str,
        /// The underlying error.
        #[source]
        source: nix::Error,
    },

    /// The [`ClusterOptions`](crate::ClusterOptions) are inconsistent.
    #[error("invalid cluster options: {reason}")]
    InvalidOptions {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What we were doing, as a verb phrase ("create directory").
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A PostgreSQL program could not be executed at all.
    #[error("could not run {}: {source}; check that PG_BIN points at executable PostgreSQL binaries", program.display())]
    Spawn {
        /// The program that could not be run.
        program: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// No free loopback port could be reserved.
    #[error("could not reserve a free port on 127.0.0.1: {source}")]
    NoFreePort {
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// We run as root and the `postgres` OS user cannot reach the temporary directory.
    #[error(
        "the `postgres` OS user cannot enter {}, which holds the cluster directory; set TMPDIR to \
         a directory it can reach, such as /tmp",
        blocking.display()
    )]
    TempDirNotReachable {
        /// The first directory on the path that the user cannot enter.
        blocking: PathBuf,
    },

    /// `initdb` failed.
    #[error("initdb failed ({status}):\n{output}")]
    Initdb {
        /// initdb's exit status.
        status: ExitStatus,
        /// initdb's stdout and stderr.
        output: String,
    },

    /// The port was taken by someone else every time we tried to start.
    #[error(
        "PostgreSQL could not listen on 127.0.0.1:{port} (address in use) after {attempts} attempt(s); \
         free the port, or leave ClusterOptions::port unset to pick a free one\n\
         --- server log (tail) ---\n{log_tail}"
    )]
    PortInUse {
        /// The last port tried.
        port: u16,
        /// How many ports were tried.
        attempts: u32,
        /// The end of the server log.
        log_tail: String,
    },

    /// `pg_ctl start` failed for another reason.
    #[error(
        "PostgreSQL did not start on 127.0.0.1:{port} (pg_ctl start: {status}): {output}\n\
         --- server log (tail) ---\n{log_tail}"
    )]
    Start {
        /// The port the server was configured with.
        port: u16,
        /// pg_ctl's exit status.
        status: ExitStatus,
        /// pg_ctl's stdout and stderr.
        output: String,
        /// The end of the server log.
        log_tail: String,
    },

    /// Creating the configured roles failed.
    #[error("could not create the configured roles ({status}):\n{stderr}\n--- server log (tail) ---\n{log_tail}")]
    CreateRoles {
        /// psql's exit status.
        status: ExitStatus,
        /// psql's stderr.
        stderr: String,
        /// The end of the server log.
        log_tail: String,
    },

    /// A `psql` command failed.
    #[error("psql failed on database `{db}` ({status}) running `{sql}`:\n{stderr}")]
    Psql {
        /// The database psql connected to.
        db: String,
        /// The SQL that was run (shortened).
        sql: String,
        /// psql's exit status.
        status: ExitStatus,
        /// psql's stderr.
        stderr: String,
    },

    /// `pg_ctl stop` failed.
    #[error("pg_ctl stop failed ({status}): {output}\n--- server log (tail) ---\n{log_tail}")]
    Stop {
        /// pg_ctl's exit status.
        status: ExitStatus,
        /// pg_ctl's stdout and stderr.
        output: String,
        /// The end of the server log.
        log_tail: String,
    },
}
