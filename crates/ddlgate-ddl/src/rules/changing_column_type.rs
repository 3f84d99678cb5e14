//! `ALTER COLUMN … TYPE` rewrites the table and its indexes unless the change is
//! binary-coercible (docs, `ALTER TABLE` Notes; see `model::types`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::ChangingColumnType,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "a type change that is not binary-coercible rewrites the table and its indexes",
    check,
};

const HELP: &str = "expand/contract: add a new column of the new type, keep it in sync with a trigger, backfill in batches, switch reads and writes, then drop the old column";

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        let crate::ir::AlterAction::AlterColumnType { column, ty, using } = a else { continue };
        let old = ctx.facts.table(table).and_then(|t| t.column(column)).map(|c| c.data_type.as_str());
        match crate::model::type_change_form(old, ty, *using) {
            DdlForm::AlterTypeRewrite => {
                let known = ctx.facts.table(table).and_then(|t| t.column(column)).is_some();
                let why = if known { "is not binary-coercible" } else { "cannot be proved binary-coercible (old type unknown)" };
                ctx.sized_at(out, (DEF.id, table, column),
                    format!("changing `{column}` to `{}` {why}: `{table}` and its indexes are rewritten under ACCESS EXCLUSIVE", ty.base), HELP);
            }
            DdlForm::AlterTypeIndexRebuild => {
                let mut f = ctx.finding(DEF.id, format!("changing `{column}` to `{}` keeps the table but rebuilds its indexes under ACCESS EXCLUSIVE", ty.base), HELP);
                f.severity = Severity::Warning;
                out.push(f.at_column(column));
            }
            _ => {}
        }
    }
}
