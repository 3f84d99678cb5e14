//! `ATTACH PARTITION` scans the new partition under ACCESS EXCLUSIVE to check the bound,
//! unless a valid CHECK constraint on it already implies the bound (docs, `ALTER TABLE`,
//! ATTACH PARTITION); before PG 12 it also took ACCESS EXCLUSIVE on the parent.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AttachPartitionScan,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ATTACH PARTITION scans the partition unless a CHECK constraint implies its bound",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.has_form(crate::model::DdlForm::AttachPartitionImplied) {
        return;
    }
    for a in actions {
        if let AlterAction::AttachPartition { partition, .. } = a {
            let mut message = format!("ATTACH PARTITION scans `{partition}` under ACCESS EXCLUSIVE to verify the partition bound (no valid CHECK constraint known to imply it)");
            if ctx.facts.server_version_num < 120_000 {
                message.push_str(&format!(", and takes ACCESS EXCLUSIVE on `{table}` (before PostgreSQL 12)"));
            }
            ctx.sized(out, DEF.id, partition, message,
                "first add a CHECK constraint matching the bound (NOT VALID, then VALIDATE) and make the key NOT NULL; the attach then skips the scan; drop the CHECK afterwards");
        }
    }
}
