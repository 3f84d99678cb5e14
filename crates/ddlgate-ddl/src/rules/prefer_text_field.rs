//! varchar(n) limits are changed by rewrite-free but locking ALTERs; text with a CHECK is easier to evolve.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PreferTextField,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "varchar(n) limits are changed by rewrite-free but locking ALTERs; text with a CHECK is easier to evolve",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    for n in ctx.new_types() {
        if n.ty.base == "varchar" && !n.ty.mods.is_empty() {
            out.push(ctx.finding(DEF.id, format!("column `{}` uses varchar(n): changing the limit later needs an ACCESS EXCLUSIVE lock", n.column), "use text, with a CHECK (length(col) <= n) added NOT VALID if a limit is needed").at_column(n.column));
        }
    }
}
