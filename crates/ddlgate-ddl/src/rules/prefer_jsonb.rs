//! json keeps text verbatim, has no equality operator and cannot be indexed well.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PreferJsonb,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "json keeps text verbatim, has no equality operator and cannot be indexed well",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.new_types() {
        if n.ty.base == "json" {
            out.push(ctx.finding(DEF.id, format!("column `{}` is json: no equality operator (breaks DISTINCT/GROUP BY/UNION) and poor indexing", n.column), "use jsonb").at_column(n.column));
        }
    }
}
