//! # ddlgate-ddl — pure DDL analysis
//!
//! No I/O, no clock, no async: text and plain-data [`Facts`] in, [`Decision`]s out.
//!
//! Layers (each a module):
//! - [`classify`]: first-keyword classifier (is this statement possibly DDL?), nanoseconds;
//! - [`split`]: statement splitter with exact byte spans ([`lexer`] underneath);
//! - `convert`: the **only** module importing `sqlparser::ast`, mapping it to the [`ir`];
//!   [`fallback`] is a token-level rule table for DDL sqlparser 0.63 cannot parse; anything
//!   else is `Unparseable` and blocked by default (fail closed);
//! - [`model`]: the lock/rewrite model as a data table keyed by DDL form and server version,
//!   over the lock modes and conflict matrix of [`locks`];
//! - [`rules`]: the rule catalogue (static table, stable kebab-case ids, docs pages), the
//!   findings rules report and the [`AnalysisConfig`] that tunes them;
//! - [`plan`]: safe phased plans as data, built with [`quote`] — never sqlparser's `Display`;
//! - [`lint`]: the offline linter's report, formatters (text, json, sarif, github), exit
//!   status, and `ddlgate plan` rendering.
//!
//! Entry point: [`analyze`].
//!
//! Modules import one way, lower layers first: text (`lexer`, `split`, `classify`, `quote`,
//! `locks`, `redact`, `dynamic`) → `ir` → text to IR (`convert`, `fallback`, `session`,
//! then `parse`) → `facts` and the transaction view `tx` → `model` → `rules` and `plan` →
//! `decision` → `suppress` → `analyze` → `lint`. `tests/layout.rs` holds the exact order
//! and checks it.

pub mod analyze;
pub mod as_sent;
pub mod classify;
pub mod client_text;
mod convert;
pub mod decision;
pub mod dynamic;
pub mod facts;
pub mod fallback;
pub mod guard_effects;
pub mod ir;
pub mod lexer;
pub mod lint;
pub mod locks;
pub mod model;
mod parse;
pub mod partition_text;
pub mod plan;
pub mod quote;
pub mod redact;
pub mod role_change;
pub mod rules;
pub mod search_path;
pub mod session;
pub mod split;
pub mod suppress;
pub mod targets;
mod tx;

pub use analyze::{analyze, analyze_replaying, parse_statement, Replay};
pub use classify::{classify, classify_bytes, StatementClass};
pub use decision::{Decision, Finding, Severity, Suppressed, Verdict};
pub use facts::{
    ColumnFacts, DomainFacts, Facts, IndexFacts, RelKind, Submission, TableFacts, TxState,
    Volatility,
};
pub use ir::QualifiedName;
pub use locks::LockMode;
pub use parse::MAX_DDL_BYTES;
pub use plan::deferral::{Pending, TxSplit};
pub use plan::{BackfillKey, LockTimeoutPolicy, Plan, Step, StepKind, TxRequirement};
pub use quote::{quote_ident, quote_literal};
pub use redact::{redact, redact_with};
pub use rules::{AnalysisConfig, RuleDef, RuleId, RuleMode, Thresholds, UnparseablePolicy, RULES};
pub use split::{split, Segment};
