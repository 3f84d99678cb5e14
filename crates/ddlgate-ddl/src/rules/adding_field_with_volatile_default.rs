//! `ADD COLUMN … DEFAULT <volatile>` rewrites the whole table under ACCESS EXCLUSIVE.
//!
//! PostgreSQL docs, `ALTER TABLE`, Notes: "Adding a column with a volatile DEFAULT … will
//! require the entire table and its indexes to be rewritten"; since PG 11 a non-volatile
//! default is stored in the catalog instead (before PG 11 every default rewrote).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingFieldWithVolatileDefault,
    aliases: &["adding-field-with-default"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD COLUMN with a volatile default (or any default before PG 11) rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        let AlterAction::AddColumn { column, .. } = a else { continue };
        if column.serial || column.generated.is_some() {
            continue; // adding-serial-or-identity-column / adding-stored-generated-column
        }
        let form = crate::model::add_column_form(column, ctx.facts);
        let old_server = form == DdlForm::AddColumnNonVolatileDefault && ctx.facts.server_version_num < 110_000;
        if form == DdlForm::AddColumnVolatileDefault || old_server {
            let why = if old_server { "any default before PostgreSQL 11" } else { "a volatile default" };
            ctx.sized(
                out,
                DEF.id,
                table,
                format!("adding column `{}` with {why} rewrites `{table}` and its indexes under ACCESS EXCLUSIVE", column.name),
                "add the column without a default, set the default, backfill existing rows in batches, then add NOT NULL via a validated CHECK (ddlgate plan)",
            );
        }
    }
}
