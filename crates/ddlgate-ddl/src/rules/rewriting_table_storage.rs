//! `SET LOGGED/UNLOGGED`, `SET TABLESPACE`, `SET ACCESS METHOD` (PG 15+) and `SET
//! EXPRESSION` on a stored generated column (PG 17+) rewrite or move the whole table under
//! ACCESS EXCLUSIVE (docs, `ALTER TABLE`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RewritingTableStorage,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "SET LOGGED/UNLOGGED/TABLESPACE/ACCESS METHOD/EXPRESSION rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        let what = match a {
            AlterAction::SetLogged { logged: true } => "SET LOGGED (rewrite, and WAL-logs the whole table)",
            AlterAction::SetLogged { logged: false } => "SET UNLOGGED",
            AlterAction::SetTablespace { .. } if !ctx.has_form(DdlForm::SetTablespace) => continue,
            AlterAction::SetAccessMethod { .. } if !ctx.has_form(DdlForm::SetAccessMethod) => continue,
            AlterAction::SetTablespace { .. } => "SET TABLESPACE (copies every data file)",
            AlterAction::SetAccessMethod { .. } => "SET ACCESS METHOD",
            AlterAction::AlterColumnExpression { drop: false, .. } => "SET EXPRESSION",
            _ => continue,
        };
        ctx.sized(out, DEF.id, table,
            format!("{what} rewrites `{table}` under ACCESS EXCLUSIVE"),
            "copy the data into a new table online (e.g. pg_repack or logical replication) and swap, or schedule a maintenance window");
    }
}
