//! Safe phased plans as data. A plan is an ordered list of steps; the executor (in
//! `ddlgate-proxy`) runs **each step in its own transaction** (or outside any, when
//! [`TxRequirement::OutsideTx`]), applies the step's lock-timeout policy, checks its
//! idempotency query first (skip when it returns true) and, on abort, runs the rollbacks of the
//! steps already done in reverse order.
//!
//! Every SQL string is built with [`crate::quote`] and slices of the original statement, and
//! is verified to parse before the plan is offered (fail closed: no plan rather than a wrong
//! one).

mod columns;
pub mod datacheck;
pub mod deferral;
mod index;
pub mod sql;

use crate::facts::Facts;
use crate::ir::{AlterAction, ConstraintKind, Stmt};
use crate::tx::TxView;
use serde::{Deserialize, Serialize};

/// Whether a step may run inside a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxRequirement {
    /// May run in a (its own) transaction.
    InsideOk,
    /// Must run outside any transaction block (CONCURRENTLY forms).
    OutsideTx,
}

/// How long the step may wait for locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "policy")]
pub enum LockTimeoutPolicy {
    /// `SET LOCAL lock_timeout = ms`, retried on SQLSTATE 55P03 with backoff — for steps
    /// taking ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE, so a queued lock never stalls traffic
    /// for long.
    Short {
        /// Timeout per attempt.
        ms: u64,
        /// Attempts after the first.
        retries: u32,
    },
    /// No short lock_timeout (CONCURRENTLY builds wait for old snapshots through lock waits;
    /// cancelling them leaves an INVALID index) — an overall `statement_timeout` instead.
    Deadline {
        /// Statement deadline.
        secs: u64,
    },
    /// Nothing special.
    None,
}

/// The short policy used for ACCESS EXCLUSIVE steps.
pub const SHORT: LockTimeoutPolicy = LockTimeoutPolicy::Short {
    ms: 2_000,
    retries: 10,
};

/// The deadline used for CONCURRENTLY builds and validations.
pub const DEADLINE: LockTimeoutPolicy = LockTimeoutPolicy::Deadline { secs: 6 * 3600 };

/// How a backfill walks the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackfillKey {
    /// Keyset pagination on these (primary-key) columns.
    Keyset(Vec<String>),
    /// `ctid` ranges (no primary key known).
    CtidRange,
}

/// What a step is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum StepKind {
    /// One DDL statement.
    Ddl,
    /// A batched backfill; `Step::sql` is one idempotent batch, to repeat until it updates no
    /// row (the executor may instead walk `key` itself).
    Backfill {
        /// Table (quoted).
        table: String,
        /// Column (quoted).
        column: String,
        /// Value expression (source text).
        expr: String,
        /// Walk order.
        key: BackfillKey,
        /// Rows per batch (hint).
        batch_rows: u32,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What the step does, for humans.
    pub description: String,
    /// The SQL to run.
    pub sql: String,
    /// Transaction requirement.
    pub tx: TxRequirement,
    /// Lock-timeout policy.
    pub lock_timeout: LockTimeoutPolicy,
    /// SQL returning one boolean: true when the step is already done.
    pub idempotency_check: Option<String>,
    /// SQL undoing the step.
    pub rollback: Option<String>,
    /// Kind.
    pub kind: StepKind,
}

/// A safe phased plan replacing one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// One-line summary.
    pub summary: String,
    /// Ordered steps.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Does any step need to run outside a transaction block?
    #[must_use]
    pub fn needs_outside_tx(&self) -> bool {
        self.steps.iter().any(|s| s.tx == TxRequirement::OutsideTx)
    }

    /// Can the plan run in a session in this transaction state? Outside a transaction each
    /// step gets its own; inside an explicit block the plan is divided
    /// ([`Plan::split_for_transaction`]): safe steps run in the client's transaction, the rest
    /// after its COMMIT. Inside an implicit multi-statement transaction (several statements in
    /// one Query) there is no COMMIT to wait for, so no plan runs.
    #[must_use]
    pub fn runnable_in(&self, tx: &TxView) -> bool {
        tx.in_block || !tx.implicit_multi
    }

    /// Every SQL string of the plan is understood by the analyser as one statement (sqlparser
    /// or the fallback table; idempotency checks must be queries sqlparser parses).
    #[must_use]
    pub fn verified(&self) -> bool {
        let understood = |sql: &str| {
            crate::split::count_statements(sql) == 1
                && !matches!(
                    crate::parse::parse_statement(sql).1,
                    Stmt::Unparseable { .. }
                )
        };
        self.steps.iter().all(|s| {
            understood(&s.sql)
                && s.idempotency_check
                    .as_deref()
                    .is_none_or(crate::convert::parses)
                && s.rollback.as_deref().is_none_or(understood)
        })
    }
}

/// Build the plan for `stmt`, when it has a safe equivalent.
#[must_use]
pub fn build(stmt: &Stmt, facts: &Facts) -> Option<Plan> {
    let plan = match stmt {
        Stmt::AlterTable { table, actions } if actions.len() == 1 => match &actions[0] {
            AlterAction::AddColumn { column, .. } => columns::add_column(table, column, facts),
            AlterAction::SetNotNull { column } => columns::set_not_null(table, column, facts),
            AlterAction::AddConstraint {
                constraint,
                not_valid: false,
            } => match &constraint.kind {
                ConstraintKind::Check { .. } | ConstraintKind::ForeignKey { .. } => {
                    index::not_valid_then_validate(table, constraint)
                }
                ConstraintKind::Unique { columns } => {
                    index::unique_using_index(table, constraint, columns, false)
                }
                ConstraintKind::PrimaryKey { columns } => {
                    index::unique_using_index(table, constraint, columns, true)
                }
                _ => None,
            },
            AlterAction::DetachPartition {
                partition,
                mode: crate::ir::DetachMode::Plain,
            } if facts.server_version_num >= 140_000 => {
                index::detach_concurrently(table, partition)
            }
            _ => None,
        },
        Stmt::CreateIndex { .. } => index::create_concurrently(stmt),
        Stmt::DropIndex {
            names,
            concurrently: false,
            cascade: false,
            ..
        } => index::drop_concurrently(names),
        Stmt::Reindex {
            target,
            name: Some(name),
            concurrently: false,
        } if facts.server_version_num >= 120_000 => index::reindex_concurrently(*target, name),
        _ => None,
    }?;
    plan.verified().then_some(plan)
}
