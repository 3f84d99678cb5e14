//! Forms that depend on what the catalog (or the replayed schema) says of the relation: the
//! statement does less than its text suggests when the table already is as asked. Each was
//! checked against PostgreSQL 15 (`tests/lock_model_pg.rs`).

use super::{bound, DdlForm};
use crate::facts::{Facts, RelKind, TableFacts};
use crate::ir::QualifiedName;

/// `CREATE INDEX`: nothing built for `IF NOT EXISTS` naming an index the table has, or `ON
/// ONLY` a partitioned table.
#[must_use]
pub fn create_index(
    (name, table): (Option<&QualifiedName>, &QualifiedName),
    (concurrently, only, if_not_exists): (bool, bool, bool),
    facts: &Facts,
) -> DdlForm {
    let tf = facts.table(table);
    let exists =
        name.is_some_and(|n| tf.is_some_and(|t| t.indexes.iter().any(|i| i.name == n.name)));
    if if_not_exists && exists {
        DdlForm::CreateIndexExisting
    } else if only && tf.is_some_and(|t| t.kind == Some(RelKind::PartitionedTable)) {
        DdlForm::CreateIndexOnlyParent
    } else if concurrently {
        DdlForm::CreateIndexConcurrently
    } else {
        DdlForm::CreateIndex
    }
}

/// `SET TABLESPACE` / `SET ACCESS METHOD` (`moved`), or `unchanged` when `target` is what the
/// table already has (`current`).
#[must_use]
pub fn storage(
    target: Option<&String>,
    current: Option<&String>,
    (moved, unchanged): (DdlForm, DdlForm),
) -> DdlForm {
    if target.is_some() && target == current {
        unchanged
    } else {
        moved
    }
}

/// `ATTACH PARTITION`: no scan when a valid CHECK on the partition implies the bound under the
/// parent's (`parent`) partition key.
#[must_use]
pub fn attach(
    parent: Option<&TableFacts>,
    (partition, bound): (&QualifiedName, Option<&str>),
    facts: &Facts,
) -> DdlForm {
    let implied = match (parent.and_then(|t| t.partition_key.as_deref()), bound) {
        (Some(key), Some(bound)) => facts
            .table(partition)
            .is_some_and(|p| bound::implied(key, bound, p)),
        _ => false,
    };
    if implied {
        DdlForm::AttachPartitionImplied
    } else {
        DdlForm::AttachPartition
    }
}
