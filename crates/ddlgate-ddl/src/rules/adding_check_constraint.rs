//! `ADD CONSTRAINT … CHECK` without `NOT VALID` scans the table under ACCESS EXCLUSIVE
//! (docs, `ALTER TABLE`, ADD table_constraint [ NOT VALID ]).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, ConstraintKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingCheckConstraint,
    aliases: &["constraint-missing-not-valid"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        match a {
            AlterAction::AddConstraint { constraint, not_valid: false } => {
                if matches!(constraint.kind, ConstraintKind::Check { .. } | ConstraintKind::NotNull { .. }) {
                    let name = constraint.name.as_deref().unwrap_or("(unnamed)");
                    ctx.sized(out, DEF.id, table,
                        format!("CHECK constraint `{name}` is validated by scanning `{table}` while ACCESS EXCLUSIVE blocks reads and writes"),
                        "add it NOT VALID (instant), then VALIDATE CONSTRAINT in a separate transaction (SHARE UPDATE EXCLUSIVE: reads and writes continue)");
                }
            }
            // Verified on PostgreSQL 15: the scan happens even when the new column is all NULL.
            AlterAction::AddColumn { column, .. } if column.check => {
                ctx.sized(out, DEF.id, table,
                    format!("inline CHECK on new column `{}` is verified by scanning `{table}` under ACCESS EXCLUSIVE (even when the column is all NULL)", column.name),
                    "add the column first, then the CHECK as NOT VALID, then VALIDATE it separately");
            }
            _ => {}
        }
    }
}
