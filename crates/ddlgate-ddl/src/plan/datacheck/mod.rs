//! What a plan's steps could fail on because of rows already in a table, checked with plain
//! reads before the plan runs (and again at the client's COMMIT for what nothing enforces in
//! between), so that a statement the gateway rewrites fails exactly where, and as, PostgreSQL
//! would have failed the original: a unique index over duplicated keys, a foreign key with
//! orphans, a CHECK some row violates, NOT NULL over NULLs.
//!
//! Pure: [`checks`] reads a plan's steps; [`DataCheck::query`] is the read to run on the
//! client's session; [`DataCheck::violation`] turns the row it returned into the server's
//! error. The proxy runs them.

mod key;
mod query;
mod violation;

use crate::ir::{AlterAction, ConstraintKind, QualifiedName, Stmt};
use crate::parse::parse_statement;

pub use key::{IndexKey, KeyPart, Nulls};
pub use violation::{Names, Violation, ViolationKind};

use super::{Step, StepKind};

/// One thing the table's current rows must satisfy for a plan to succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataCheck {
    /// No two rows share a key of the unique index `index` about to be built.
    Unique {
        /// The indexed table.
        table: QualifiedName,
        /// The index's name (as PostgreSQL will name it).
        index: String,
        /// Its key and predicate.
        key: IndexKey,
        /// What the statement does when a relation of that name exists.
        present: WhenPresent,
    },
    /// Every non-NULL key of `columns` exists in `references`.
    ForeignKey {
        /// The referencing table.
        table: QualifiedName,
        /// The constraint's name.
        constraint: String,
        /// Referencing columns.
        columns: Vec<String>,
        /// The referenced table.
        references: QualifiedName,
        /// Referenced columns; `None`: the referenced table's primary key.
        referenced: Option<Vec<String>>,
    },
    /// No row makes `expr` false.
    Check {
        /// The table.
        table: QualifiedName,
        /// The constraint's name.
        constraint: String,
        /// The CHECK expression (the client's text).
        expr: String,
    },
    /// No row has `column` NULL.
    NotNull {
        /// The table.
        table: QualifiedName,
        /// The column.
        column: String,
    },
}

/// What `CREATE INDEX` does when its index's name is taken: with `IF NOT EXISTS` it does
/// nothing (so there is nothing to check), otherwise it fails by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenPresent {
    /// `IF NOT EXISTS`: skipped.
    Skip,
    /// Fails with "relation already exists".
    Fail,
}

/// When a check must hold: before the statement's steps run, and — for what no constraint
/// enforces between the statement and the deferred steps — again before the client's COMMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// A `NOT VALID` constraint added with the statement rejects later violating writes.
    Enforced,
    /// Nothing rejects violating writes until the deferred steps run: check again at COMMIT.
    AtCommit,
}

impl DataCheck {
    /// The table whose rows are checked.
    #[must_use]
    pub fn table(&self) -> &QualifiedName {
        match self {
            Self::Unique { table, .. }
            | Self::ForeignKey { table, .. }
            | Self::Check { table, .. }
            | Self::NotNull { table, .. } => table,
        }
    }

    /// Whether the check must be repeated at COMMIT (see [`Recheck`]).
    #[must_use]
    pub fn recheck(&self) -> Recheck {
        match self {
            Self::Unique { .. } | Self::NotNull { .. } => Recheck::AtCommit,
            Self::ForeignKey { .. } | Self::Check { .. } => Recheck::Enforced,
        }
    }
}

/// The checks for a plan's `steps`, in the order PostgreSQL would have hit them running the
/// original statement. Only what can be checked faithfully is: a key with an operator class,
/// a `CHECK … NO INHERIT` or a `MATCH FULL` key has none (its step's own error stays the
/// answer).
#[must_use]
pub fn checks(steps: &[Step]) -> Vec<DataCheck> {
    let mut out: Vec<DataCheck> = Vec::new();
    let mut filled = false;
    for (i, step) in steps.iter().enumerate() {
        if matches!(step.kind, StepKind::Backfill { .. }) {
            filled = true;
            continue;
        }
        match parse_statement(&step.sql).1 {
            Stmt::CreateIndex {
                name,
                table,
                unique: true,
                if_not_exists,
                tail_text: Some(tail),
                ..
            } => {
                if let Some(key) = IndexKey::parse(&tail) {
                    let index = name.map_or_else(|| key.generated_name(&table), |n| n.name);
                    let present = if if_not_exists {
                        WhenPresent::Skip
                    } else {
                        WhenPresent::Fail
                    };
                    out.push(DataCheck::Unique {
                        table,
                        index,
                        key,
                        present,
                    });
                }
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    from_action(&mut out, &table, a, &steps[i + 1..], filled);
                }
            }
            _ => {}
        }
    }
    out
}

/// The checks one `ALTER TABLE` action of a plan brings.
fn from_action(
    out: &mut Vec<DataCheck>,
    table: &QualifiedName,
    action: AlterAction,
    later: &[Step],
    filled: bool,
) {
    let AlterAction::AddConstraint { constraint, .. } = action else {
        return;
    };
    let name = constraint.name.clone().unwrap_or_default();
    let def = constraint.def_text.as_deref().unwrap_or_default();
    match constraint.kind {
        // `CHECK (c IS NOT NULL)` on the way to `SET NOT NULL c`: PostgreSQL would have
        // checked the NOT NULL itself (unless the plan fills the column first).
        ConstraintKind::Check {
            not_null_of: Some(column),
        } if sets_not_null(later, &column) => {
            // Filled by the plan first: nothing the original statement would have found.
            if filled {
                return;
            }
            out.push(DataCheck::NotNull {
                table: table.clone(),
                column,
            });
        }
        ConstraintKind::Check { .. } => {
            if let Some(expr) = query::check_expression(def) {
                out.push(DataCheck::Check {
                    table: table.clone(),
                    constraint: name,
                    expr,
                });
            }
        }
        ConstraintKind::ForeignKey {
            columns,
            references,
        } => {
            if let Some(referenced) = query::referenced_columns(def) {
                out.push(DataCheck::ForeignKey {
                    table: table.clone(),
                    constraint: name,
                    columns,
                    references,
                    referenced,
                });
            }
        }
        // `ADD PRIMARY KEY USING INDEX` makes the key columns NOT NULL: checked after the
        // index (PostgreSQL reports duplicates before NULLs).
        ConstraintKind::PrimaryKeyUsingIndex { .. } => {
            let key_columns = out.iter().rev().find_map(|c| match c {
                DataCheck::Unique { table: t, key, .. } if t == table => Some(key.columns()),
                _ => None,
            });
            for column in key_columns.unwrap_or_default() {
                out.push(DataCheck::NotNull {
                    table: table.clone(),
                    column,
                });
            }
        }
        _ => {}
    }
}

/// Whether a later step is `ALTER TABLE … ALTER COLUMN column SET NOT NULL`.
fn sets_not_null(later: &[Step], column: &str) -> bool {
    later.iter().any(|s| match parse_statement(&s.sql).1 {
        Stmt::AlterTable { actions, .. } => actions
            .iter()
            .any(|a| matches!(a, AlterAction::SetNotNull { column: c } if c == column)),
        _ => false,
    })
}

#[cfg(test)]
mod tests;
