//! The analysis configuration: small-table thresholds, the fail-closed policy for
//! unparseable DDL and per-rule modes.

use super::{RuleId, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Size thresholds under which a table counts as small (most rules relax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At most this many estimated rows. Default 10 000.
    pub small_table_rows: u64,
    /// At most this many bytes (table + indexes + TOAST). Default 10 MiB.
    pub small_table_bytes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            small_table_rows: 10_000,
            small_table_bytes: 10 * 1024 * 1024,
        }
    }
}

/// What to do with DDL that neither sqlparser nor the fallback table understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnparseablePolicy {
    /// Block with an error naming the statement (default: fail closed).
    #[default]
    Block,
    /// Let it through with a warning.
    Warn,
}

/// How a rule's findings are treated, overriding its default severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleMode {
    /// Do not report.
    Off,
    /// Report with this severity.
    Severity(Severity),
}

/// Analysis configuration: thresholds, fail-closed policy, per-rule modes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// Small-table thresholds.
    pub thresholds: Thresholds,
    /// Unparseable DDL policy.
    pub unparseable: UnparseablePolicy,
    /// Per-rule overrides.
    pub rule_modes: BTreeMap<RuleId, RuleMode>,
    /// Honour `-- ddlgate:allow <rule-id> reason: …` comments (the linter turns this on; a
    /// gateway may keep it off so clients cannot silence the policy).
    pub honor_suppressions: bool,
}
