//! A valid `-- ddlgate:allow <rule-id> reason: …` that silences no finding of its statement is
//! stale or misplaced: it documents a risk that is not there, and would silently hide the
//! rule if the statement later changes. squawk's `unused-ignore`. Produced by the analyser
//! (suppression handling), not by a per-statement check.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::UnusedIgnore,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Safety,
    summary: "an inline suppression that suppresses nothing",
    check,
};

fn check(_ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
