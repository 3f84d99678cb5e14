//! `[control]`: the role the gateway connects as for its own bookkeeping — durable migration
//! jobs in a `ddlgate` schema of each database migrations run in.

use serde::Deserialize;

use crate::ConfigError;

/// The control role. Without `user`, job state lives only in the session (plans are idempotent,
/// so re-running a migration converges) and COMMIT always waits for deferred steps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Control {
    /// Role name. It creates the `ddlgate` schema, so it needs CREATE on each database; to
    /// resume jobs in the background it must be able to run their DDL (own the tables, be a
    /// member of their owner, or be a superuser).
    pub user: Option<String>,
    /// Password (prefer `password_env`).
    pub password: Option<String>,
    /// Name of an environment variable holding the password.
    pub password_env: Option<String>,
    /// Databases searched for unfinished jobs at startup (databases that sessions use are
    /// searched too, as they are seen).
    pub databases: Vec<String>,
    /// Seconds between searches for orphaned jobs (a gateway that died mid-job). Default 10.
    pub resume_interval_secs: u64,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            user: None,
            password: None,
            password_env: None,
            databases: Vec::new(),
            resume_interval_secs: 10,
        }
    }
}

impl Control {
    /// Whether a control role is configured.
    pub fn enabled(&self) -> bool {
        self.user.is_some()
    }

    /// The password, from `password_env` or `password`.
    pub fn resolved_password(&self) -> Option<String> {
        match &self.password_env {
            Some(var) => std::env::var(var).ok(),
            None => self.password.clone(),
        }
    }
}

pub(crate) fn validate(c: &Control) -> Result<(), ConfigError> {
    if c.password.is_some() && c.password_env.is_some() {
        return Err(ConfigError::invalid(
            "control.password_env",
            "set either password or password_env, not both",
        ));
    }
    if c.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
        return Err(ConfigError::invalid("control.user", "must not be empty"));
    }
    if c.resume_interval_secs == 0 {
        return Err(ConfigError::invalid(
            "control.resume_interval_secs",
            "must be at least 1",
        ));
    }
    Ok(())
}
