//! What a text's first decisions (made without the catalog) need the catalog for.

use ddlgate_ddl::{Decision, Facts, QualifiedName};

use super::substitute::relations;

/// The relations and column types to ask the catalog about.
pub(super) struct Wanted {
    /// Relations the statements touch, and names renamed through another relation kind.
    pub tables: Vec<QualifiedName>,
    /// Types of added columns (domains bring a default and constraints).
    pub types: Vec<String>,
}

/// What the catalog must be asked for `decisions` of `sql`, or `None` when they stand without
/// it: nothing but plain forwarding (`allowed`), no rename through another relation kind (only
/// the catalog says whether the name is a table), no added column (only the catalog says
/// whether its type is a domain), nothing that counts on "created in this transaction" (only
/// the catalog says whether the name resolves to the relation the transaction created).
pub(super) fn wanted(
    decisions: &[Decision],
    sql: &str,
    facts: &Facts,
    allowed: bool,
) -> Option<Wanted> {
    let renames: Vec<QualifiedName> = decisions
        .iter()
        .filter_map(|d| ddlgate_ddl::fallback::relation_rename(d.text(sql)))
        .map(|r| r.target)
        .collect();
    let types: Vec<String> = decisions
        .iter()
        .flat_map(|d| ddlgate_ddl::model::added_column_types(&d.statement))
        .collect();
    let creates = decisions.len() > 1
        && decisions
            .iter()
            .any(|d| d.statement.created_relation().is_some());
    let created = !facts.created_in_tx.is_empty() || creates;
    if allowed && renames.is_empty() && types.is_empty() && !created {
        return None;
    }
    let mut tables = relations(decisions);
    for r in renames {
        if !tables.contains(&r) {
            tables.push(r);
        }
    }
    Some(Wanted { tables, types })
}
