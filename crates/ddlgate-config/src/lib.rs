//! ddlgate configuration: TOML in, one validated immutable [`Config`] out.
//!
//! Parsing is strict (`deny_unknown_fields`, so a misspelt key is an error that names it), and
//! validation runs once, in [`Config::from_toml_str`]; nothing downstream re-checks values.
//! An annotated example lives in `config/gateway.example.toml`.

mod admin;
mod control;
mod error;
mod guard;
mod model;
mod policy;
mod scope;

pub use admin::Admin;
pub use control::Control;
pub use error::ConfigError;
pub use guard::Guard;
pub use model::*;
pub use policy::{Execution, Policy, PolicyMode, RuleAction};
pub use scope::{parse_hours, Breakglass, Cidr, Scope, ScopeAction, StatementKind, Weekday};

use std::path::Path;

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::parse(text, &e))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text)
    }

    /// Checks cross-field rules. Called by the constructors; public so that a config built in
    /// code (from command-line flags) is held to the same rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        model::validate(self)
    }

    /// The upstream for a client database name: an exact entry first, then `*`.
    pub fn route(&self, database: &str) -> Option<&Upstream> {
        self.databases
            .get(database)
            .or_else(|| self.databases.get("*"))
    }
}

#[cfg(test)]
mod tests;
