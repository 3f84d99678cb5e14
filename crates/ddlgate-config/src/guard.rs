//! `[guard]`: the database-side guard — event triggers the gateway installs, through the
//! control role, in each database it serves, refusing DDL the gateway did not approve (table
//! rewrites, table and column drops, renames, and any DDL by the roles listed here), however
//! it was issued. See `docs/guard.md`.

use serde::Deserialize;

use crate::ConfigError;

/// The guard's settings. Off by default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guard {
    /// Install and keep the guard in every database the gateway serves. Needs `[control]`
    /// with a superuser role (event triggers need one on PostgreSQL 15).
    pub enabled: bool,
    /// Roles (and their members, by login role) that may run no DDL at all, even through the
    /// gateway.
    pub no_ddl_roles: Vec<String>,
    /// Seconds between checks that the guard is still installed and enabled in each database
    /// (it is put back when it is not). Default 30.
    pub check_interval_secs: u64,
}

impl Default for Guard {
    fn default() -> Self {
        Self {
            enabled: false,
            no_ddl_roles: Vec::new(),
            check_interval_secs: 30,
        }
    }
}

pub(crate) fn validate(g: &Guard, control: &crate::Control) -> Result<(), ConfigError> {
    if g.enabled && !control.enabled() {
        return Err(ConfigError::invalid(
            "guard.enabled",
            "the guard is installed by the control role: set [control] user (a superuser)",
        ));
    }
    if g.check_interval_secs == 0 {
        return Err(ConfigError::invalid(
            "guard.check_interval_secs",
            "must be at least 1",
        ));
    }
    if g.no_ddl_roles.iter().any(|r| r.trim().is_empty()) {
        return Err(ConfigError::invalid(
            "guard.no_ddl_roles",
            "role names must not be empty",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Config, ConfigError};

    const ROUTE: &str = "[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = 5432\n";

    #[test]
    fn off_by_default() {
        let c = Config::from_toml_str(ROUTE).expect("config");
        assert!(!c.guard.enabled);
        assert_eq!(c.guard.check_interval_secs, 30);
    }

    #[test]
    fn needs_a_control_role() {
        let text = format!("{ROUTE}[guard]\nenabled = true\n");
        match Config::from_toml_str(&text) {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "guard.enabled"),
            other => panic!("expected an invalid guard.enabled, got {other:?}"),
        }
        let text = format!(
            "{ROUTE}[control]\nuser = \"ddlgate\"\n[guard]\nenabled = true\nno_ddl_roles = [\"reporting\"]\n"
        );
        let c = Config::from_toml_str(&text).expect("config");
        assert!(c.guard.enabled);
        assert_eq!(c.guard.no_ddl_roles, vec!["reporting".to_owned()]);
    }
}
