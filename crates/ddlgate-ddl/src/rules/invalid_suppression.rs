//! `-- ddlgate:allow <rule-id> reason: …` must name a known rule and give a reason; a bad
//! suppression suppresses nothing and is itself reported. Produced by the analyser, not by a
//! per-statement check.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::InvalidSuppression,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Safety,
    summary: "an inline suppression without a reason or with an unknown rule id",
    check,
};

fn check(_ctx: &Ctx<'_>, _out: &mut Vec<Finding>) {}
