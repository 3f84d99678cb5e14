//! `VALIDATE CONSTRAINT` in the same transaction as its `ADD … NOT VALID` (or after an
//! ACCESS EXCLUSIVE lock on the table in the same transaction) holds that lock during the
//! whole validation scan — the point of NOT VALID is lost.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::ValidateConstraintInSameTransaction,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Transaction,
    summary: "VALIDATE CONSTRAINT in the transaction that added it keeps ACCESS EXCLUSIVE during the scan",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::ValidateConstraint { name } = a {
            let same = ctx.tx.in_transaction() && ctx.tx.not_valid_added.contains(&(table.clone(), name.clone()));
            let held = ctx.tx.access_exclusive_held.contains(table);
            if same || held {
                out.push(ctx.finding(DEF.id,
                    format!("VALIDATE CONSTRAINT `{name}` runs while this transaction already holds ACCESS EXCLUSIVE on `{table}`: the scan blocks all access"),
                    "COMMIT after adding the constraint NOT VALID, and VALIDATE it in its own transaction"));
            }
        }
    }
}
