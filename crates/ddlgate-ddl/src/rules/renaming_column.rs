//! Renaming a column is instant but breaks every running query and deployed application version that uses the old name.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RenamingColumn,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "RENAME COLUMN breaks application code that still uses the old name",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::RenameColumn { from, to } = a {
            out.push(ctx.finding(DEF.id, format!("renaming `{table}.{from}` to `{to}` breaks running code that still uses `{from}`"), "expand/contract: add the new column, write to both, backfill, move reads, then drop the old column; or rename behind a view"));
        }
    }
}
