//! Renaming a table is instant but breaks every running query that uses the old name.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RenamingTable,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "RENAME TO breaks application code that still uses the old table name",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::RenameTable { to } = a {
            out.push(ctx.finding(DEF.id, format!("renaming `{table}` to `{to}` breaks running code that still uses `{table}`"), "rename, then create a view with the old name (simple views are updatable) until every client uses the new name"));
        }
        if let AlterAction::SetSchema = a {
            out.push(ctx.finding(DEF.id, format!("moving `{table}` to another schema renames it for every query that names its schema or finds it through the search path"), "move it, then create a view with the old name in the old schema until every client uses the new one"));
        }
    }
}
