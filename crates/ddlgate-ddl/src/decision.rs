//! The per-statement result of `analyze`.

use crate::classify::StatementClass;
use crate::ir::{QualifiedName, Stmt};
use crate::locks::LockMode;
use crate::model::{Applied, Rewrite, Scan};
use crate::plan::Plan;
use crate::rules::RuleId;
pub use crate::rules::{Finding, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// A finding silenced by an inline `-- ddlgate:allow` comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    /// The rule silenced.
    pub rule: RuleId,
    /// The reason given.
    pub reason: String,
}

/// The overall verdict for one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Forward unchanged.
    Allow,
    /// Forward, with warnings.
    Warn,
    /// Replace by the attached plan (only offered when the plan can run in the session's
    /// transaction state).
    Rewrite,
    /// Refuse.
    Block,
}

/// Everything known about one statement of the analysed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Byte span of the statement (first to last token, no `;`) in the analysed text.
    pub span: Range<usize>,
    /// First-keyword class.
    pub class: StatementClass,
    /// The statement in project-owned form.
    pub statement: Stmt,
    /// Forms of the lock/rewrite model that apply.
    pub forms: Vec<Applied>,
    /// Lock taken per relation.
    pub locks: BTreeMap<QualifiedName, LockMode>,
    /// Table rewrite.
    pub rewrite: Rewrite,
    /// Full scan.
    pub scan: Scan,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Findings silenced inline.
    pub suppressed: Vec<Suppressed>,
    /// The safe phased plan, when one exists for a blocking finding.
    pub plan: Option<Plan>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Decision {
    /// The statement text.
    #[must_use]
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.span.clone()).unwrap_or("")
    }

    /// The most severe finding.
    #[must_use]
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}
