//! `ALTER TYPE … RENAME VALUE` is instant, but running code (and stored queries, check
//! constraints written as text elsewhere) that still writes or compares the old label fails
//! with "invalid input value for enum" (docs, `ALTER TYPE`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;
use crate::lexer::{significant, TokKind, Token};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RenamingEnumValue,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "ALTER TYPE … RENAME VALUE breaks application code that still uses the old label",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Stmt::AlterType { type_name } = ctx.stmt else { return };
    let sql = ctx.text;
    let t: Vec<Token> = significant(sql).collect();
    let Some(i) = t
        .windows(2)
        .position(|w| w[0].is_kw(sql, "rename") && w[1].is_kw(sql, "value"))
    else {
        return;
    };
    let label = |j: usize| {
        t.get(j)
            .filter(|x| x.kind == TokKind::String)
            .map_or("?", |x| x.text(sql))
    };
    let (from, to) = (label(i + 2), label(i + 4));
    out.push(ctx.finding(DEF.id,
        format!("renaming value {from} of `{type_name}` to {to} breaks running code that still uses {from}"),
        "add the new value (ALTER TYPE … ADD VALUE), migrate rows and code to it, and stop using the old one; enum values cannot be dropped, so prefer a lookup table for labels that change"));
}
