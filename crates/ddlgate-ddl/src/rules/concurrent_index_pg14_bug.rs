//! PostgreSQL 14.0–14.3 could silently corrupt indexes built or rebuilt with CONCURRENTLY
//! (fixed in 14.4; release notes 14.4).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::ConcurrentIndexPg14Bug,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Safety,
    summary: "CREATE INDEX / REINDEX CONCURRENTLY on PostgreSQL 14.0–14.3 can corrupt the index",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let v = ctx.facts.server_version_num;
    if (140_000..140_004).contains(&v)
        && (ctx.has_form(DdlForm::CreateIndexConcurrently) || ctx.has_form(DdlForm::ReindexConcurrently))
    {
        out.push(ctx.finding(DEF.id,
            format!("server_version_num {v}: concurrent index builds on 14.0–14.3 can miss rows (corrupt index)"),
            "upgrade to 14.4 or later first; then REINDEX indexes built concurrently on 14.0–14.3"));
    }
}
