//! `ATTACH PARTITION` scans the new partition under ACCESS EXCLUSIVE to check the bound,
//! unless a valid CHECK constraint on it already implies the bound (docs, `ALTER TABLE`,
//! ATTACH PARTITION); before PG 12 it also took ACCESS EXCLUSIVE on the parent.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AttachPartitionScan,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "ATTACH PARTITION scans the partition unless a CHECK constraint implies its bound",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        if let AlterAction::AttachPartition { partition } = a {
            if ctx.size(partition) == super::ctx::SizeClass::CreatedInTx {
                continue;
            }
            let mut f = ctx.finding(DEF.id,
                format!("ATTACH PARTITION scans `{partition}` under ACCESS EXCLUSIVE to verify the partition bound"),
                "first add a CHECK constraint matching the bound (NOT VALID, then VALIDATE); the attach then skips the scan; drop the CHECK afterwards");
            if ctx.facts.server_version_num < 120_000 {
                f.severity = Severity::Error;
                f.message.push_str(&format!(", and takes ACCESS EXCLUSIVE on `{table}` (before PostgreSQL 12)"));
            }
            out.push(f);
        }
    }
}
