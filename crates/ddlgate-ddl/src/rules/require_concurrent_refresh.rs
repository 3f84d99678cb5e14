//! `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` takes ACCESS EXCLUSIVE, blocking reads
//! of the view for the whole refresh (docs, `REFRESH MATERIALIZED VIEW`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireConcurrentRefresh,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::RefreshMatView { name, concurrently: false } = ctx.stmt {
        out.push(ctx.finding(DEF.id,
            format!("REFRESH MATERIALIZED VIEW `{name}` holds ACCESS EXCLUSIVE: every read of the view waits for the refresh"),
            "use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)"));
    }
}
