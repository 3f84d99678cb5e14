//! 32-bit and 16-bit integer keys run out; widening them later rewrites the table.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PreferBigintOverInt,
    aliases: &["prefer-bigint-over-smallint"],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "32-bit and 16-bit integer keys run out; widening them later rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.new_types() {
        if (n.ty.base == "int4" || n.ty.base == "int2") && !n.ty.array {
            out.push(ctx.finding(DEF.id, format!("column `{}` is a {}-bit integer: changing it to bigint later rewrites the table", n.column, if n.ty.base == "int2" { 16 } else { 32 }), "use bigint (or bigserial / bigint identity)").at_column(n.column));
        }
    }
}
