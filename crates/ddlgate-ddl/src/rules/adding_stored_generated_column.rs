//! `ADD COLUMN … GENERATED ALWAYS AS (…) STORED` computes every row: a table rewrite.
//! PostgreSQL docs, `ALTER TABLE` Notes (stored generated columns, PG 12+).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, Generated};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingStoredGeneratedColumn,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD COLUMN GENERATED … STORED rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        if let AlterAction::AddColumn { column, .. } = a {
            if column.generated == Some(Generated::Stored) {
                ctx.sized_at(out, (DEF.id, table, &column.name),
                    format!("stored generated column `{}` rewrites `{table}` under ACCESS EXCLUSIVE", column.name),
                    "add a plain nullable column, keep it filled with a trigger, backfill in batches; or use a VIRTUAL generated column on PostgreSQL 18+");
            }
        }
    }
}
