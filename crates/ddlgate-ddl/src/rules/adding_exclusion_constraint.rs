//! `ADD EXCLUDE` builds an index under ACCESS EXCLUSIVE and has no NOT VALID / USING INDEX
//! form (docs, `ALTER TABLE`): there is no online way to add one to a large table.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, ConstraintKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingExclusionConstraint,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD EXCLUDE builds an index under ACCESS EXCLUSIVE with no online alternative",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        if let AlterAction::AddConstraint { constraint, .. } = a {
            if constraint.kind == ConstraintKind::Exclude {
                ctx.sized(out, DEF.id, table,
                    format!("EXCLUDE constraint builds its index on `{table}` under ACCESS EXCLUSIVE; it cannot be NOT VALID or USING INDEX"),
                    "schedule a maintenance window, or enforce the rule in a new table (created with the constraint) and migrate data to it");
            }
        }
    }
}
