//! `ALTER COLUMN … SET NOT NULL` scans the table under ACCESS EXCLUSIVE, unless (PG 12+) a
//! validated `CHECK (col IS NOT NULL)` already proves it (docs, `ALTER TABLE`, SET NOT NULL).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::SettingNotNull,
    aliases: &["adding-not-nullable-field"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "SET NOT NULL scans the table under ACCESS EXCLUSIVE",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    let proved = |c: &str| {
        ctx.facts.server_version_num >= 120_000
            && ctx.facts.table(table).is_some_and(|t| t.validated_not_null_checks.contains(c))
    };
    for a in actions {
        if let AlterAction::SetNotNull { column } = a {
            if !proved(column) {
                ctx.sized_at(out, (DEF.id, table, column),
                    format!("SET NOT NULL on `{column}` scans all of `{table}` under ACCESS EXCLUSIVE (no validated CHECK ({column} IS NOT NULL) is known)"),
                    "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it (SHARE UPDATE EXCLUSIVE), then SET NOT NULL (no scan on PG 12+) and drop the CHECK");
            }
        }
    }
}
