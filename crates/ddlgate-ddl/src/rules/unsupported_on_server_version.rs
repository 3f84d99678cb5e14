//! A form that does not exist on the server's version (e.g. REINDEX CONCURRENTLY before
//! PG 12, DETACH PARTITION CONCURRENTLY before PG 14) will fail.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::UnsupportedOnServerVersion,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Safety,
    summary: "the statement uses a form the server version does not support",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for form in &ctx.fx.unsupported {
        out.push(ctx.finding(DEF.id,
            format!("{form:?} is not supported by server_version_num {}", ctx.facts.server_version_num),
            "use the older equivalent for this server version, or upgrade"));
    }
}
