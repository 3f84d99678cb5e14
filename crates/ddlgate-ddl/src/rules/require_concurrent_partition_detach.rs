//! `DETACH PARTITION` without `CONCURRENTLY` takes ACCESS EXCLUSIVE on the parent;
//! `CONCURRENTLY` (PG 14+) needs only SHARE UPDATE EXCLUSIVE (docs, `ALTER TABLE`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, DetachMode};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireConcurrentPartitionDetach,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        if let AlterAction::DetachPartition { partition, mode: DetachMode::Plain } = a {
            let mut f = ctx.finding(DEF.id,
                format!("DETACH PARTITION `{partition}` takes ACCESS EXCLUSIVE on `{table}`: all queries on the partitioned table wait"),
                "use DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+, outside a transaction block, not with a default partition)");
            if ctx.facts.server_version_num < 140_000 {
                f.severity = Severity::Warning;
                f.help = "upgrade to PostgreSQL 14+ for DETACH … CONCURRENTLY, or schedule a short maintenance window".into();
            }
            out.push(f);
        }
    }
}
