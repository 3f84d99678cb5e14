//! timestamp without time zone loses the offset; timestamptz stores an absolute instant.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PreferTimestamptz,
    aliases: &["prefer-timestamp-tz"],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "timestamp without time zone loses the offset; timestamptz stores an absolute instant",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.new_types() {
        if n.ty.base == "timestamp" {
            out.push(ctx.finding(DEF.id, format!("column `{}` is timestamp without time zone", n.column), "use timestamptz").at_column(n.column));
        }
    }
}
