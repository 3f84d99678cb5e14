//! DROP NOT NULL is instant but lets NULLs into a column that running code may assume non-null.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DroppingNotNull,
    aliases: &["ban-drop-not-null"],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "DROP NOT NULL breaks code that assumes the column is never NULL",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::DropNotNull { column } = a {
            out.push(ctx.finding(DEF.id, format!("dropping NOT NULL on `{table}.{column}` lets NULLs in where running code may not expect them"), "deploy code that handles NULLs first"));
        }
    }
}
