//! Durable migration jobs. With a control role configured (`[control]`), every plan the
//! gateway runs for a client is recorded in `ddlgate.jobs` in the client's database: its steps,
//! the step reached, the rows a backfill has written, its outcome. Then:
//!
//! * steps deferred to a client's COMMIT are recorded before the COMMIT with the client's
//!   transaction id, so a gateway that dies at any point leaves a job that another (or the
//!   restarted) gateway resumes once `txid_status` says the transaction committed;
//! * a job runs only while its runner holds a session advisory lock on the job's key (a hash of
//!   the database and the steps), so two gateways in front of one database never run the same
//!   work at once — the database itself is the coordinator (docs, Advisory Locks);
//! * every gateway looks for jobs whose runner is gone (the lock is free) and finishes them;
//! * `ddlgate jobs` lists, resumes or abandons jobs.

mod control;
pub mod durable;
mod runner;
mod schema;
mod store;

use std::collections::BTreeSet;
use std::sync::Mutex;

use ddlgate_config::Config;

pub use control::{connect, connect_url, ControlConn};
pub use runner::{
    next_step, outcomes_json, progress_writer, resume_job, scan_loop, JobWatch, ResumeOutcome,
};
pub use schema::{migrate, LOCK_NAMESPACE};
pub use store::{Job, JobState, NewJob};

/// Job store functions.
pub mod rows {
    pub use super::store::{
        add_outcomes, get, insert, list, progress, set_state, try_lock, unfinished, unlock,
    };
}

/// Errors of the job layer (never shown to clients as such: their COMMIT still succeeds).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No control role configured.
    #[error("no control role configured ([control] user)")]
    NotConfigured,
    /// Could not connect as the control role.
    #[error("control connection: {0}")]
    Connect(String),
    /// A query of the job store failed.
    #[error("job store: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A stored row could not be read.
    #[error("job row unreadable: {0}")]
    Corrupt(String),
}

/// The advisory-lock key of a job: a hash of the database and the steps' SQL (FNV-1a, folded to
/// 31 bits so it is the same on every instance and every platform).
pub fn job_key(database: &str, steps: &[ddlgate_ddl::Step]) -> i32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(database.as_bytes());
    for s in steps {
        feed(s.sql.as_bytes());
    }
    ((h ^ (h >> 32)) & 0x7fff_ffff) as i32
}

/// The gateway's job machinery.
pub struct Jobs {
    /// This instance's name in `owner` columns.
    pub instance: String,
    /// Databases known to hold (or to be able to hold) jobs.
    databases: Mutex<BTreeSet<String>>,
}

impl Jobs {
    /// Job machinery for `config`, when a control role is configured.
    pub fn new(config: &Config) -> Option<Self> {
        if !config.control.enabled() {
            return None;
        }
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "ddlgate".into());
        Some(Self {
            instance: format!(
                "{host}-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ),
            databases: Mutex::new(config.control.databases.iter().cloned().collect()),
        })
    }

    /// Remembers that sessions use `database`.
    pub fn saw_database(&self, database: &str) {
        self.databases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(database.to_owned());
    }

    /// Databases to search for unfinished jobs.
    pub fn databases(&self) -> Vec<String> {
        self.databases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::job_key;

    #[test]
    fn job_keys_are_stable_and_distinguish_databases() {
        let step = |sql: &str| ddlgate_ddl::Step {
            description: String::new(),
            sql: sql.into(),
            tx: ddlgate_ddl::TxRequirement::OutsideTx,
            lock_timeout: ddlgate_ddl::LockTimeoutPolicy::None,
            idempotency_check: None,
            rollback: None,
            kind: ddlgate_ddl::StepKind::Ddl,
        };
        let a = job_key("app", &[step("CREATE INDEX CONCURRENTLY i ON t (a)")]);
        assert_eq!(
            a,
            job_key("app", &[step("CREATE INDEX CONCURRENTLY i ON t (a)")])
        );
        assert_ne!(
            a,
            job_key("other", &[step("CREATE INDEX CONCURRENTLY i ON t (a)")])
        );
        assert_ne!(
            a,
            job_key("app", &[step("CREATE INDEX CONCURRENTLY j ON t (a)")])
        );
        assert!(a >= 0);
    }
}
