//! DDL that neither sqlparser nor the fallback table understands is refused by default
//! (fail closed): an unrecognised statement must never pass silently.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity, UnparseablePolicy};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::UnparseableDdl,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Safety,
    summary: "DDL the analyser cannot parse is blocked (fail closed)",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::Unparseable { first_words, error } = ctx.stmt {
        let mut f = ctx.finding(DEF.id,
            format!("cannot analyse `{first_words} …`: {error}"),
            "rewrite it in a form the analyser understands or run it by hand; `ddlgate lint` accepts `-- ddlgate:allow unparseable-ddl reason: …`, the gateway ignores such comments (its `[policy] unparseable` decides)");
        if ctx.cfg.unparseable == UnparseablePolicy::Warn {
            f.severity = Severity::Warning;
        }
        out.push(f);
    }
}
