//! `REINDEX` without `CONCURRENTLY` locks out writes (and, through the index's ACCESS
//! EXCLUSIVE lock, most reads); `REINDEX CONCURRENTLY` exists since PG 12 (docs, `REINDEX`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireConcurrentReindex,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "REINDEX without CONCURRENTLY blocks writes and most reads",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::Reindex { target, name, concurrently: false } = ctx.stmt {
        if let Some(n) = name {
            if ctx.size(n) == super::ctx::SizeClass::CreatedInTx {
                return;
            }
        }
        let mut f = ctx.finding(DEF.id,
            format!("REINDEX {target:?} rebuilds under SHARE on the table and ACCESS EXCLUSIVE on each index: writes and most queries wait"),
            "use REINDEX … CONCURRENTLY (PostgreSQL 12+, outside a transaction block)");
        if ctx.facts.server_version_num < 120_000 {
            f.severity = Severity::Warning;
            f.help = "before PostgreSQL 12: CREATE INDEX CONCURRENTLY a replacement, then DROP INDEX CONCURRENTLY the old one".into();
        }
        out.push(f);
    }
}
