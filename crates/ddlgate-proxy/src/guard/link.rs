//! One control-role connection per database, on which the gateway holds its approvals: session
//! advisory locks the guard looks for (`install.sql`, `ddlgate_guard.approved`). Advisory locks
//! are not transactional, so an approval is seen by a statement whatever its snapshot
//! (PostgreSQL docs, "Advisory Locks").

use std::sync::Arc;

use ddlgate_config::{Config, Upstream};
use tokio_postgres::Client;

use super::install::Settings;
use super::scopes::{self, GuardScope};
use crate::jobs::{self, JobError};

/// The approvals connection of one database.
pub struct Link {
    upstream: Upstream,
    config: Arc<Config>,
    database: String,
    scopes: Vec<GuardScope>,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Link {
    /// A link to `database` (connected on first use).
    pub fn new(upstream: Upstream, config: Arc<Config>, database: &str) -> Self {
        Self {
            scopes: scopes::for_database(&config.policy, database),
            upstream,
            config,
            database: database.to_owned(),
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// What the guard enforces in this database.
    pub fn settings(&self) -> Settings<'_> {
        Settings {
            no_ddl_roles: &self.config.guard.no_ddl_roles,
            scopes: &self.scopes,
        }
    }

    /// Whether the guard enforces scopes here (the gateway then approves the DDL it lets
    /// through for them).
    pub fn scoped(&self) -> bool {
        !self.scopes.is_empty()
    }

    /// The database this link serves.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Connects a new control-role client to this link's database.
    pub async fn connect(&self) -> Result<Client, JobError> {
        jobs::connect(&self.upstream, &self.config.control, &self.database).await
    }

    /// Takes the advisory locks `keys`; returns those taken (a key another session holds is
    /// not: the statement it would approve is refused by the guard, failing closed).
    pub async fn lock(&self, keys: &[i64]) -> Vec<i64> {
        const SQL: &str = "SELECT k FROM pg_catalog.unnest($1::pg_catalog.int8[]) AS k \
                           WHERE pg_catalog.pg_try_advisory_lock(k)";
        match self.run(SQL, keys).await {
            Ok(rows) => rows.iter().map(|r| r.get::<_, i64>(0)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, database = %self.database, "guard approval not taken");
                Vec::new()
            }
        }
    }

    /// Releases the advisory locks `keys` (each once per time it was taken).
    pub async fn unlock(&self, keys: &[i64]) {
        const SQL: &str = "SELECT pg_catalog.pg_advisory_unlock(k) \
                           FROM pg_catalog.unnest($1::pg_catalog.int8[]) AS k";
        if let Err(e) = self.run(SQL, keys).await {
            // Gone with the connection, if it broke.
            tracing::debug!(error = %e, database = %self.database, "guard approvals not released");
        }
    }

    async fn run(&self, sql: &str, keys: &[i64]) -> Result<Vec<tokio_postgres::Row>, JobError> {
        let mut client = self.client.lock().await;
        if client.as_ref().is_none_or(Client::is_closed) {
            *client = Some(self.connect().await?);
        }
        let c = client.as_ref().ok_or(JobError::NotConfigured)?;
        let rows = c.query(sql, &[&keys]).await;
        if rows.is_err() {
            // A broken connection took its locks with it; reconnect next time.
            *client = None;
        }
        Ok(rows?)
    }
}
