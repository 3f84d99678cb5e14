//! Forms chosen from more than the statement's kind: what an added column carries, and what
//! the catalog (or the replayed schema) says of the relation — a statement does less than its
//! text suggests when the table already is as asked. Each was checked against PostgreSQL 15
//! (`tests/lock_model_pg.rs`).

use super::{add_column_form, bound, inline_fk_validates, DdlForm};
use crate::facts::{Facts, RelKind, TableFacts};
use crate::ir::{ColumnSpec, QualifiedName};

/// `ADD COLUMN`: the column's own form, then an inline CHECK's verification beside a default,
/// and an inline `REFERENCES` (validated by a scan when a default fills the column), with the
/// table it references.
pub fn add_column<'a>(
    column: &'a ColumnSpec,
    facts: &Facts,
) -> Vec<(DdlForm, Option<&'a QualifiedName>)> {
    let mut forms = vec![(add_column_form(column, facts), None)];
    if column.check && column.default.is_some() {
        forms.push((DdlForm::AddColumnInlineCheck, None));
    }
    if let Some(r) = &column.references {
        let form = if inline_fk_validates(column) {
            DdlForm::AddColumnInlineFkValidated
        } else {
            DdlForm::AddColumnInlineFk
        };
        forms.push((form, Some(r)));
    }
    forms
}

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
