//! The database-side guard (`[guard]`, `docs/guard.md`): event triggers, installed by the
//! control role in each database the gateway serves, that refuse table rewrites, table and
//! column drops, renames — and any DDL by roles without DDL — unless a gateway approved the
//! statement. The gateway approves what it lets through ([`Approver`]), so DDL it never saw —
//! run by a function, a DO block, a trigger, or over a connection that bypasses it — is refused
//! in the database itself.
//!
//! The guard is installed in a database before the first session there is relayed, and checked
//! (and put back) every `check_interval_secs`.

mod approver;
mod install;
mod link;
mod scopes;

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ddlgate_config::Config;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

pub use approver::{approval_key, Approver, MAX_HELD};
pub use link::Link;

use crate::jobs::JobError;

/// Why the guard could not be installed or checked (logged; never shown to clients).
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// No control connection.
    #[error("control connection: {0}")]
    Connect(#[from] JobError),
    /// A query of the install or the check failed.
    #[error("{}", server_message(.0))]
    Db(#[from] tokio_postgres::Error),
}

fn server_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// The guard of one gateway: a link per database where it is installed.
pub struct Guard {
    config: Arc<Config>,
    links: DashMap<String, Arc<OnceCell<Arc<Link>>>>,
}

impl Guard {
    /// The guard, when `[guard] enabled` (validation ensured a control role).
    pub fn new(config: &Arc<Config>) -> Option<Self> {
        config.guard.enabled.then(|| Self {
            config: config.clone(),
            links: DashMap::new(),
        })
    }

    /// The approvals link of `database`, once the guard is installed there (on the first
    /// session this gateway sees in it). `None` (logged) when it cannot be installed: the
    /// session is relayed with the gateway's own enforcement only.
    pub async fn link(&self, database: &str) -> Option<Arc<Link>> {
        let cell = self.links.entry(database.to_owned()).or_default().clone();
        let installed = cell.get_or_try_init(|| self.install(database)).await;
        match installed {
            Ok(link) => Some(link.clone()),
            Err(e) => {
                tracing::error!(database, error = %e, "ddlgate guard could not be installed");
                None
            }
        }
    }

    async fn install(&self, database: &str) -> Result<Arc<Link>, GuardError> {
        let upstream = self
            .config
            .route(database)
            .ok_or(GuardError::Connect(JobError::NotConfigured))?;
        let link = Link::new(upstream.clone(), self.config.clone(), database);
        let client = link.connect().await?;
        install::install(&client, link.settings()).await?;
        tracing::info!(database, "ddlgate guard installed");
        Ok(Arc::new(link))
    }

    /// Checks every database the guard was installed in, and puts it back where it is missing,
    /// disabled or stale; also installs it in `[control] databases` at start.
    pub async fn keep(self: Arc<Self>, stop: CancellationToken) {
        for database in &self.config.control.databases {
            self.link(database).await;
        }
        let every = Duration::from_secs(self.config.guard.check_interval_secs.max(1));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let links: Vec<Arc<Link>> = self
                .links
                .iter()
                .filter_map(|e| e.value().get().cloned())
                .collect();
            for link in links {
                if let Err(e) = self.check(&link).await {
                    tracing::warn!(database = link.database(), error = %e, "ddlgate guard check failed");
                }
            }
        }
    }

    async fn check(&self, link: &Link) -> Result<(), GuardError> {
        let client = link.connect().await?;
        if !install::is_current(&client, link.settings()).await? {
            tracing::warn!(
                database = link.database(),
                "ddlgate guard missing or changed: putting it back"
            );
            install::install(&client, link.settings()).await?;
        }
        Ok(())
    }
}
