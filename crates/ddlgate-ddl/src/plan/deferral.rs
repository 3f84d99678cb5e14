//! Plans for statements sent inside the client's transaction block.
//!
//! Steps that are brief and transactional (add a nullable column, set a default, add a
//! constraint `NOT VALID`) run in the client's transaction. Everything from the first step
//! that cannot (a `CONCURRENTLY` build, which "cannot be executed inside a transaction block"
//! — docs, CREATE INDEX; a batched backfill, which needs its own short transactions; a
//! `VALIDATE`, which would hold its lock until the client commits) is deferred to after the
//! client's COMMIT. Order is kept: a step never runs before one it follows in the plan.
//!
//! A later statement of the same transaction that depends on a deferred object (uses, alters
//! or drops the index being built, the constraint to validate, the column to fill) cannot be
//! run as written: [`conflict`] finds it so the gateway can refuse it with a clear error.

use std::collections::BTreeSet;

use super::{LockTimeoutPolicy, Plan, Step, StepKind, TxRequirement};
use crate::ir::{AlterAction, ConstraintKind, QualifiedName, Stmt};
use crate::lexer::{ident_value, significant, TokKind};

/// A plan divided between the client's transaction and after its COMMIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxSplit {
    /// Steps to run now, inside the client's transaction.
    pub now: Vec<Step>,
    /// Steps to run after the client's COMMIT succeeds, in order.
    pub deferred: Vec<Step>,
}

/// Can this step run inside the client's transaction without holding a lock for long?
fn runs_inside(step: &Step) -> bool {
    step.kind == StepKind::Ddl
        && step.tx == TxRequirement::InsideOk
        && !matches!(step.lock_timeout, LockTimeoutPolicy::Deadline { .. })
}

impl Plan {
    /// Divides the plan for a statement sent inside a transaction block: the leading steps
    /// that are safe in the client's transaction, then everything else.
    #[must_use]
    pub fn split_for_transaction(&self) -> TxSplit {
        let cut = self
            .steps
            .iter()
            .position(|s| !runs_inside(s))
            .unwrap_or(self.steps.len());
        TxSplit {
            now: self.steps[..cut].to_vec(),
            deferred: self.steps[cut..].to_vec(),
        }
    }
}

/// Something deferred steps will create, change or rely on after COMMIT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pending {
    /// An index (or a relation such as a partition) named `name`, built, dropped or detached
    /// later.
    Relation {
        /// Unqualified name as PostgreSQL folds it.
        name: String,
    },
    /// A constraint added or validated later.
    Constraint {
        /// Its name.
        name: String,
    },
    /// A column the deferred steps fill or make NOT NULL.
    Column {
        /// Its table.
        table: QualifiedName,
        /// The column.
        column: String,
    },
    /// A table the deferred steps change.
    Table {
        /// The table.
        table: QualifiedName,
    },
}

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Relation { name } => write!(f, "index or relation \"{name}\""),
            Pending::Constraint { name } => write!(f, "constraint \"{name}\""),
            Pending::Column { table, column } => write!(f, "column {table}.\"{column}\""),
            Pending::Table { table } => write!(f, "table {table}"),
        }
    }
}

/// What the deferred steps will touch.
#[must_use]
pub fn pending(steps: &[Step]) -> BTreeSet<Pending> {
    let mut out = BTreeSet::new();
    for step in steps {
        match crate::parse::parse_statement(&step.sql).1 {
            Stmt::CreateIndex { name, table, .. } => {
                if let Some(n) = name {
                    out.insert(Pending::Relation { name: n.name });
                }
                out.insert(Pending::Table { table });
            }
            Stmt::DropIndex { names, .. } => {
                for n in names {
                    out.insert(Pending::Relation { name: n.name });
                }
            }
            Stmt::Reindex { name: Some(n), .. } => {
                out.insert(Pending::Relation { name: n.name });
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    match a {
                        AlterAction::ValidateConstraint { name } => {
                            out.insert(Pending::Constraint { name });
                        }
                        AlterAction::AddConstraint { constraint, .. } => {
                            if let Some(name) = constraint.name {
                                out.insert(Pending::Constraint { name });
                            }
                            if let ConstraintKind::Unique { columns }
                            | ConstraintKind::PrimaryKey { columns } = constraint.kind
                            {
                                for column in columns {
                                    out.insert(Pending::Column {
                                        table: table.clone(),
                                        column,
                                    });
                                }
                            }
                        }
                        AlterAction::SetNotNull { column } => {
                            out.insert(Pending::Column {
                                table: table.clone(),
                                column,
                            });
                        }
                        AlterAction::DetachPartition { partition, .. } => {
                            out.insert(Pending::Relation {
                                name: partition.name,
                            });
                        }
                        _ => {}
                    }
                }
                out.insert(Pending::Table { table });
            }
            _ => {}
        }
        if let StepKind::Backfill { table, column, .. } = &step.kind {
            // The step's SQL is an UPDATE; take the table's name from an equivalent ALTER.
            let probe = format!("ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT");
            if let Stmt::AlterTable { table: t, .. } = crate::parse::parse_statement(&probe).1 {
                out.insert(Pending::Column {
                    table: t.clone(),
                    column: unquote(column),
                });
                out.insert(Pending::Table { table: t });
            }
        }
    }
    out
}

fn unquote(ident: &str) -> String {
    significant(ident)
        .next()
        .map(|t| ident_value(&t, ident))
        .unwrap_or_default()
}

fn same_table(a: &QualifiedName, b: &QualifiedName) -> bool {
    a.name == b.name && (a.schema.is_none() || b.schema.is_none() || a.schema == b.schema)
}

/// The deferred object a later statement of the same transaction depends on, if any.
///
/// A statement conflicts when it names a deferred index, relation or constraint, drops or
/// renames a table that deferred steps change, or changes a deferred column (anything but its
/// default or statistics: the backfill writes the planned value, not the column default).
#[must_use]
pub fn conflict<'a>(sql: &str, pending: &'a BTreeSet<Pending>) -> Option<&'a Pending> {
    if pending.is_empty() {
        return None;
    }
    let idents: BTreeSet<String> = significant(sql)
        .filter(|t| matches!(t.kind, TokKind::Word | TokKind::QuotedIdent))
        .map(|t| ident_value(&t, sql))
        .collect();
    let stmt = crate::parse::parse_statement(sql).1;
    pending.iter().find(|p| match p {
        Pending::Relation { name } | Pending::Constraint { name } => idents.contains(name),
        Pending::Table { table } => match &stmt {
            Stmt::AlterTable { table: t, actions } if same_table(t, table) => actions
                .iter()
                .any(|a| matches!(a, AlterAction::RenameTable { .. } | AlterAction::SetSchema)),
            Stmt::DropTable { names, .. } => names.iter().any(|n| same_table(n, table)),
            _ => false,
        },
        Pending::Column { table, column } => match &stmt {
            Stmt::AlterTable { table: t, actions } if same_table(t, table) => {
                actions.iter().any(|a| touches_column(a, column))
            }
            _ => false,
        },
    })
}

fn touches_column(a: &AlterAction, column: &str) -> bool {
    match a {
        AlterAction::SetDefault { .. }
        | AlterAction::DropDefault { .. }
        | AlterAction::SetColumnStatistics { .. }
        | AlterAction::SetColumnStorage { .. } => false,
        AlterAction::DropColumn { names, .. } => names.iter().any(|n| n == column),
        AlterAction::AlterColumnType { column: c, .. }
        | AlterAction::SetNotNull { column: c }
        | AlterAction::DropNotNull { column: c }
        | AlterAction::AddIdentity { column: c }
        | AlterAction::AlterIdentity { column: c }
        | AlterAction::AlterColumnExpression { column: c, .. } => c == column,
        AlterAction::RenameColumn { from, .. } => from == column,
        AlterAction::AddConstraint { constraint, .. } => match &constraint.kind {
            ConstraintKind::Unique { columns } | ConstraintKind::PrimaryKey { columns } => {
                columns.iter().any(|c| c == column)
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, Facts};

    fn plan(sql: &str) -> Plan {
        let mut facts = Facts::default();
        facts.tx_state = crate::TxState::InBlock;
        analyze(sql, &facts, &Default::default())
            .remove(0)
            .plan
            .expect("a plan")
    }

    #[test]
    fn volatile_default_adds_the_column_now_and_fills_it_after_commit() {
        let split = plan("ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()")
            .split_for_transaction();
        assert_eq!(split.now.len(), 2, "{:#?}", split.now);
        assert!(split.now[0].sql.contains("ADD COLUMN IF NOT EXISTS"));
        assert!(split.now[1].sql.contains("SET DEFAULT"));
        assert!(matches!(split.deferred[0].kind, StepKind::Backfill { .. }));
        assert!(split
            .deferred
            .iter()
            .any(|s| s.sql.contains("SET NOT NULL")));
    }

    #[test]
    fn index_builds_are_deferred_whole() {
        let split = plan("CREATE INDEX t_a_idx ON t (a)").split_for_transaction();
        assert!(split.now.is_empty());
        assert!(split.deferred[0].sql.contains("CONCURRENTLY"));
    }

    #[test]
    fn foreign_keys_are_added_not_valid_now_and_validated_later() {
        let split = plan("ALTER TABLE t ADD CONSTRAINT t_o_fk FOREIGN KEY (o) REFERENCES o (id)")
            .split_for_transaction();
        assert_eq!(split.now.len(), 1);
        assert!(split.now[0].sql.ends_with("NOT VALID"));
        assert!(split.deferred[0].sql.contains("VALIDATE CONSTRAINT"));
    }

    #[test]
    fn later_statements_using_deferred_objects_conflict() {
        let idx = pending(
            &plan("CREATE INDEX t_a_idx ON t (a)")
                .split_for_transaction()
                .deferred,
        );
        assert!(conflict("DROP INDEX t_a_idx", &idx).is_some());
        assert!(conflict("ALTER INDEX \"t_a_idx\" RENAME TO x", &idx).is_some());
        assert!(conflict(
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX t_a_idx",
            &idx
        )
        .is_some());
        assert!(conflict("ALTER TABLE t RENAME TO t2", &idx).is_some());
        assert!(conflict("CREATE INDEX t_b_idx ON t (b)", &idx).is_none());
        assert!(conflict("ALTER TABLE t ADD COLUMN c int", &idx).is_none());

        let col = pending(
            &plan("ALTER TABLE t ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid()")
                .split_for_transaction()
                .deferred,
        );
        assert!(conflict("ALTER TABLE t ALTER COLUMN token DROP NOT NULL", &col).is_some());
        assert!(conflict("ALTER TABLE t RENAME COLUMN token TO tok", &col).is_some());
        assert!(conflict("ALTER TABLE t ADD PRIMARY KEY (token)", &col).is_some());
        assert!(conflict("DROP TABLE t", &col).is_some());
        assert!(
            conflict("ALTER TABLE t ALTER COLUMN token DROP DEFAULT", &col).is_none(),
            "the backfill writes the planned expression, not the column default"
        );
        assert!(conflict("ALTER TABLE other ALTER COLUMN token DROP NOT NULL", &col).is_none());

        let fk = pending(
            &plan("ALTER TABLE t ADD CONSTRAINT t_o_fk FOREIGN KEY (o) REFERENCES o (id)")
                .split_for_transaction()
                .deferred,
        );
        assert!(conflict("ALTER TABLE t DROP CONSTRAINT t_o_fk", &fk).is_some());
        assert!(conflict("ALTER TABLE t VALIDATE CONSTRAINT t_o_fk", &fk).is_some());
        assert!(conflict("ALTER TABLE t ADD COLUMN n int", &fk).is_none());
    }
}
