//! What a rule reports: findings and their severity.

use super::RuleId;
use serde::{Deserialize, Serialize};

/// How serious a finding is. `Error` means "blocked or rewritten under the default policy".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Informational (e.g. a rule relaxed because the table is small).
    Info,
    /// Worth a look; does not block.
    Warning,
    /// Blocked (or rewritten into a safe plan) under the default policy.
    Error,
}

impl Severity {
    /// Lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id.
    pub rule: RuleId,
    /// Severity after size relaxation and configuration.
    pub severity: Severity,
    /// What is wrong, for this statement.
    pub message: String,
    /// The safe alternative.
    pub help: String,
    /// The column it is about (as folded), when one: reports point at its definition rather
    /// than at the statement's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl Finding {
    /// The finding, about `column`.
    #[must_use]
    pub fn at_column(mut self, column: &str) -> Self {
        self.column = Some(column.to_owned());
        self
    }
}
