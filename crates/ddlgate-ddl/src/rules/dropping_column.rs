//! Dropping a column is fast (metadata only) but destroys data and breaks code that still selects it.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DroppingColumn,
    aliases: &["ban-drop-column"],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "DROP COLUMN destroys data and breaks code still using the column",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::DropColumn { names, .. } = a {
            out.push(ctx.finding(DEF.id, format!("dropping `{}` from `{table}` destroys its data and breaks code that still reads or writes it", names.join("`, `")), "first deploy code that no longer uses the column (e.g. Rails ignored_columns), then drop it; keep a backup if the data may be needed"));
        }
    }
}
