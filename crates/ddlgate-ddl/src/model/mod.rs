//! The lock and rewrite model: [`table`] holds the data; this module maps IR statements to
//! forms (using facts: volatility, existing validated checks, old column types) and folds the
//! rows into per-statement [`Effects`].

pub mod bound;
mod forms;
pub mod table;
mod types;

pub use table::{lookup, DdlForm, Effect, Rewrite, Scan, TxBlock, TABLE};
pub use types::type_change_form;

use crate::facts::{DomainFacts, Facts};
use crate::ir::{
    volatility, AlterAction, ColumnSpec, ConstraintKind, DetachMode, Generated, QualifiedName,
    Stmt, Volatility,
};
use crate::locks::LockMode;
use serde::Serialize;
use std::collections::BTreeMap;

/// One form applied to a relation, with the other relation it touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The form.
    pub form: DdlForm,
    /// The target relation.
    pub target: QualifiedName,
    /// The other relation (referenced table, partition, table of an index).
    pub other: Option<QualifiedName>,
}

/// What a statement does, folded over its forms.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Effects {
    /// The forms, in statement order.
    pub applied: Vec<Applied>,
    /// Strongest lock per relation.
    pub locks: BTreeMap<QualifiedName, LockMode>,
    /// Whether a table is rewritten.
    pub rewrite: Option<Rewrite>,
    /// Strongest scan.
    pub scan: Option<Scan>,
    /// Must run outside a transaction block.
    pub outside_tx_only: bool,
    /// Forms that do not exist on the server version (the statement will fail).
    pub unsupported: Vec<DdlForm>,
}

impl Effects {
    fn add(
        &mut self,
        form: DdlForm,
        target: &QualifiedName,
        other: Option<&QualifiedName>,
        facts: &Facts,
    ) {
        self.applied.push(Applied {
            form,
            target: target.clone(),
            other: other.cloned(),
        });
        let Some(e) = lookup(form, facts.server_version_num) else {
            self.unsupported.push(form);
            return;
        };
        lock(&mut self.locks, target, e.lock);
        if let (Some(o), Some(m)) = (other, e.other_lock) {
            lock(&mut self.locks, o, m);
        }
        self.rewrite = self.rewrite.max(Some(e.rewrite));
        self.scan = self.scan.max(Some(e.scan));
        self.outside_tx_only |= e.tx_block == TxBlock::Forbidden;
    }

    /// The table is rewritten.
    #[must_use]
    pub fn rewrites(&self) -> bool {
        self.rewrite == Some(Rewrite::Yes)
    }

    /// The strongest lock taken on any relation.
    #[must_use]
    pub fn strongest(&self) -> Option<(&QualifiedName, LockMode)> {
        self.locks
            .iter()
            .max_by_key(|(_, m)| **m)
            .map(|(r, m)| (r, *m))
    }
}

fn lock(map: &mut BTreeMap<QualifiedName, LockMode>, rel: &QualifiedName, mode: LockMode) {
    let e = map.entry(rel.clone()).or_insert(mode);
    *e = (*e).max(mode);
}

/// Volatility of a column default under `facts`.
#[must_use]
pub fn default_volatility(col: &ColumnSpec, facts: &Facts) -> Option<Volatility> {
    col.default
        .as_ref()
        .map(|d| d.volatility(|f| volatility::of(f, &facts.function_volatility)))
}

/// The catalog facts of the column's type, when it is a domain (not an array of one).
#[must_use]
pub fn domain_of<'f>(col: &ColumnSpec, facts: &'f Facts) -> Option<&'f DomainFacts> {
    if col.ty.array {
        return None;
    }
    facts.domains.get(&col.ty.text)
}

/// Whether adding `col` rewrites the table because of its domain type ([`DomainFacts`]).
#[must_use]
pub fn domain_rewrites(col: &ColumnSpec, facts: &Facts) -> bool {
    domain_of(col, facts)
        .is_some_and(|d| d.constrained || (d.volatile_default && col.default.is_none()))
}

/// The types of the columns `stmt` adds, as written (for the catalog to say which are
/// domains).
#[must_use]
pub fn added_column_types(stmt: &Stmt) -> Vec<String> {
    let Stmt::AlterTable { actions, .. } = stmt else {
        return Vec::new();
    };
    actions
        .iter()
        .filter_map(|a| match a {
            AlterAction::AddColumn { column, .. } if !column.ty.text.is_empty() => {
                Some(column.ty.text.clone())
            }
            _ => None,
        })
        .collect()
}

/// Whether an inline `REFERENCES` on a new column is validated by a scan: with a default
/// other than `NULL` every existing row holds a key to check (verified on PostgreSQL 15 with
/// `pg_stat_xact_user_tables.seq_scan`; without a default nothing is scanned).
#[must_use]
pub fn inline_fk_validates(col: &ColumnSpec) -> bool {
    col.references.is_some()
        && col.default.as_ref().is_some_and(|d| {
            !d.text
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("null"))
        })
}

/// The form of an `ADD COLUMN`.
#[must_use]
pub fn add_column_form(col: &ColumnSpec, facts: &Facts) -> DdlForm {
    match col.generated {
        Some(Generated::Stored) => return DdlForm::AddColumnGeneratedStored,
        Some(Generated::Virtual) => return DdlForm::AddColumnGeneratedVirtual,
        Some(Generated::Identity) => return DdlForm::AddColumnIdentity,
        None => {}
    }
    if col.serial
        || default_volatility(col, facts) == Some(Volatility::Volatile)
        || domain_rewrites(col, facts)
    {
        return DdlForm::AddColumnVolatileDefault;
    }
    if col.primary_key || col.unique {
        return DdlForm::AddColumnInlineIndex;
    }
    if col.default.is_some() {
        return DdlForm::AddColumnNonVolatileDefault;
    }
    if col.not_null {
        return DdlForm::AddColumnNotNullNoDefault;
    }
    if col.check {
        return DdlForm::AddColumnInlineCheck;
    }
    DdlForm::AddColumnPlain
}

fn action_forms(table: &QualifiedName, a: &AlterAction, facts: &Facts, fx: &mut Effects) {
    use AlterAction as A;
    let tf = facts.table(table);
    let mut add = |form, other: Option<&QualifiedName>| fx.add(form, table, other, facts);
    match a {
        A::AddColumn { column, .. } => {
            for (form, other) in forms::add_column(column, facts) {
                add(form, other);
            }
        }
        A::DropColumn { .. } => add(DdlForm::DropColumn, None),
        A::AlterColumnType { column, ty, using } => {
            let old = tf
                .and_then(|t| t.column(column))
                .map(|c| c.data_type.as_str());
            add(type_change_form(old, ty, *using), None);
        }
        A::SetNotNull { column } => {
            let proved = tf.is_some_and(|t| t.validated_not_null_checks.contains(column));
            add(
                if proved {
                    DdlForm::SetNotNullProvedByCheck
                } else {
                    DdlForm::SetNotNull
                },
                None,
            );
        }
        A::DropNotNull { .. } => add(DdlForm::DropNotNull, None),
        A::SetDefault { .. } => add(DdlForm::SetDefault, None),
        A::DropDefault { .. } => add(DdlForm::DropDefault, None),
        A::AddIdentity { .. } | A::AlterIdentity { .. } => add(DdlForm::AlterIdentity, None),
        A::SetColumnStatistics { .. } => add(DdlForm::SetColumnStatistics, None),
        A::SetColumnStorage { .. } => add(DdlForm::SetColumnStorage, None),
        A::AlterColumnExpression { drop, .. } => add(
            if *drop {
                DdlForm::AlterColumnExpressionDrop
            } else {
                DdlForm::AlterColumnExpressionSet
            },
            None,
        ),
        A::AddConstraint {
            constraint,
            not_valid,
        } => match &constraint.kind {
            ConstraintKind::Check { .. } => add(
                if *not_valid {
                    DdlForm::AddCheckNotValid
                } else {
                    DdlForm::AddCheck
                },
                None,
            ),
            ConstraintKind::ForeignKey { references, .. } => add(
                if *not_valid {
                    DdlForm::AddForeignKeyNotValid
                } else {
                    DdlForm::AddForeignKey
                },
                Some(references),
            ),
            ConstraintKind::Unique { .. } | ConstraintKind::PrimaryKey { .. } => {
                add(DdlForm::AddUniqueOrPk, None);
            }
            ConstraintKind::UniqueUsingIndex { .. }
            | ConstraintKind::PrimaryKeyUsingIndex { .. } => {
                add(DdlForm::AddConstraintUsingIndex, None);
            }
            ConstraintKind::Exclude => add(DdlForm::AddExclude, None),
            ConstraintKind::NotNull { .. } => add(
                if *not_valid {
                    DdlForm::AddNotNullConstraintNotValid
                } else {
                    DdlForm::AddNotNullConstraint
                },
                None,
            ),
        },
        A::ValidateConstraint { .. } => add(DdlForm::ValidateConstraint, None),
        A::DropConstraint { .. } => add(DdlForm::DropConstraint, None),
        A::AlterConstraint { .. } => add(DdlForm::AlterConstraint, None),
        A::RenameColumn { .. } | A::RenameTable { .. } | A::RenameConstraint { .. } => {
            add(DdlForm::Rename, None);
        }
        A::SetLogged { .. } => add(DdlForm::SetLoggedUnlogged, None),
        // To what the table already has: ACCESS EXCLUSIVE, nothing moved (checked on PG 15).
        A::SetTablespace { name } => add(
            forms::storage(
                name.as_ref(),
                tf.and_then(|t| t.tablespace.as_ref()),
                (DdlForm::SetTablespace, DdlForm::SetTablespaceUnchanged),
            ),
            None,
        ),
        A::SetAccessMethod { name } => add(
            forms::storage(
                name.as_ref(),
                tf.and_then(|t| t.access_method.as_ref()),
                (DdlForm::SetAccessMethod, DdlForm::SetAccessMethodUnchanged),
            ),
            None,
        ),
        A::SetSchema => add(DdlForm::SetSchema, None),
        A::SetStorageParams { weak } => add(
            if *weak {
                DdlForm::SetStorageParamsWeak
            } else {
                DdlForm::SetStorageParamsStrong
            },
            None,
        ),
        A::AttachPartition { partition, bound } => add(
            forms::attach(tf, (partition, bound.as_deref()), facts),
            Some(partition),
        ),
        A::DetachPartition { partition, mode } => add(
            match mode {
                DetachMode::Plain => DdlForm::DetachPartition,
                DetachMode::Concurrently | DetachMode::Finalize => {
                    DdlForm::DetachPartitionConcurrently
                }
            },
            Some(partition),
        ),
        A::EnableDisableTrigger => add(DdlForm::EnableDisableTrigger, None),
        A::ClusterOn => add(DdlForm::ClusterOn, None),
        A::OtherAccessExclusive { .. } => add(DdlForm::OtherAlterTableAccessExclusive, None),
    }
}

/// Compute the effects of one statement.
#[must_use]
pub fn effects(stmt: &Stmt, facts: &Facts) -> Effects {
    let mut fx = Effects::default();
    match stmt {
        Stmt::AlterTable { table, actions } => {
            for a in actions {
                action_forms(table, a, facts, &mut fx);
            }
        }
        Stmt::CreateIndex {
            name,
            table,
            concurrently,
            only,
            if_not_exists,
            ..
        } => fx.add(
            forms::create_index(
                (name.as_ref(), table),
                (*concurrently, *only, *if_not_exists),
                facts,
            ),
            table,
            None,
            facts,
        ),
        Stmt::DropIndex {
            names,
            concurrently,
            ..
        } => {
            for n in names {
                fx.add(
                    if *concurrently {
                        DdlForm::DropIndexConcurrently
                    } else {
                        DdlForm::DropIndex
                    },
                    n,
                    None,
                    facts,
                );
            }
        }
        Stmt::Reindex {
            name: Some(n),
            concurrently,
            ..
        } => fx.add(
            if *concurrently {
                DdlForm::ReindexConcurrently
            } else {
                DdlForm::Reindex
            },
            n,
            None,
            facts,
        ),
        Stmt::AlterIndex { name, rename } => fx.add(
            if *rename {
                DdlForm::AlterIndexRename
            } else {
                DdlForm::AlterIndexOther
            },
            name,
            None,
            facts,
        ),
        Stmt::CreateTable {
            name,
            partition_of,
            references,
            ..
        } => {
            if let Some(p) = partition_of {
                fx.add(DdlForm::CreateTablePartitionOf, p, Some(name), facts);
            }
            for r in references {
                fx.add(DdlForm::CreateTableWithForeignKey, name, Some(r), facts);
            }
        }
        Stmt::DropTable { names, .. } => {
            for n in names {
                fx.add(DdlForm::DropTable, n, None, facts);
            }
        }
        Stmt::Truncate { tables, .. } => {
            for n in tables {
                fx.add(DdlForm::Truncate, n, None, facts);
            }
        }
        Stmt::Vacuum { full, tables } => {
            let form = if *full {
                DdlForm::VacuumFull
            } else {
                DdlForm::Vacuum
            };
            if tables.is_empty() {
                fx.add(form, &QualifiedName::bare("*"), None, facts);
            }
            for n in tables {
                fx.add(form, n, None, facts);
            }
        }
        Stmt::Cluster { table } => {
            let t = table.clone().unwrap_or_else(|| QualifiedName::bare("*"));
            fx.add(DdlForm::Cluster, &t, None, facts);
        }
        Stmt::CreateTrigger { table } => fx.add(DdlForm::CreateTrigger, table, None, facts),
        Stmt::AlterEnumAddValue { type_name } => {
            fx.add(DdlForm::AlterEnumAddValue, type_name, None, facts);
        }
        Stmt::RefreshMatView { name, concurrently } => fx.add(
            if *concurrently {
                DdlForm::RefreshMatViewConcurrently
            } else {
                DdlForm::RefreshMatView
            },
            name,
            None,
            facts,
        ),
        Stmt::LockTable { tables, mode } => {
            for t in tables {
                lock(&mut fx.locks, t, *mode);
            }
        }
        _ => {}
    }
    fx
}
