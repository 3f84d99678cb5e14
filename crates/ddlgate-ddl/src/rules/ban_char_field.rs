//! char(n) pads with spaces and is never faster than text or varchar.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::BanCharField,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "char(n) pads with spaces and is never faster than text or varchar",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.new_types() {
        if n.ty.base == "bpchar" {
            out.push(ctx.finding(DEF.id, format!("column `{}` uses char(n): values are blank-padded and comparisons surprise", n.column), "use text (with a CHECK on length if needed) or varchar").at_column(n.column));
        }
    }
}
