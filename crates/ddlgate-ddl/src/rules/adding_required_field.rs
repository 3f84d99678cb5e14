//! `ADD COLUMN … NOT NULL` without a default fails on any non-empty table.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingRequiredField,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Compatibility,
    summary: "ADD COLUMN NOT NULL without a default fails on a populated table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx
        || ctx.facts.table(table).is_some_and(|t| t.est_rows == Some(0))
    {
        return;
    }
    for a in actions {
        let AlterAction::AddColumn { column, .. } = a else { continue };
        if crate::model::add_column_form(column, ctx.facts) == DdlForm::AddColumnNotNullNoDefault {
            out.push(ctx.finding(
                DEF.id,
                format!("column `{}` is NOT NULL without a default: the statement fails if `{table}` has any row, and scans it under ACCESS EXCLUSIVE", column.name),
                "add the column nullable (or with a constant default), backfill it, then add NOT NULL via CHECK (col IS NOT NULL) NOT VALID + VALIDATE",
            ).at_column(&column.name));
        }
    }
}
