//! `ALTER TYPE … ADD VALUE` without `BEFORE`/`AFTER` appends the value at the end of the
//! enum's sort order. Enum values compare and sort by their position, not their label, so an
//! appended value silently changes what `ORDER BY`, `<`/`>` and range checks on the column
//! mean unless the end is the intended place (docs, "Enumerated Types", Ordering). squawk's
//! `require-enum-value-ordering`.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;
use crate::lexer::{significant, TokKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireEnumValueOrdering,
    aliases: &[],
    severity: Severity::Info,
    category: Category::Style,
    summary: "ALTER TYPE … ADD VALUE without BEFORE/AFTER",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Stmt::AlterEnumAddValue { type_name } = ctx.stmt else {
        return;
    };
    // The position comes after the new value's string literal; looking only there keeps a
    // type named `after` from counting.
    let mut after_value = false;
    let mut positioned = false;
    for t in significant(ctx.text) {
        if after_value {
            if t.is_kw(ctx.text, "before") || t.is_kw(ctx.text, "after") {
                positioned = true;
                break;
            }
        } else if t.kind == TokKind::String {
            after_value = true;
        }
    }
    if after_value && !positioned {
        out.push(ctx.finding(DEF.id,
            format!("the new value of `{type_name}` is appended at the end of the enum's order: comparisons and ORDER BY on the type sort it after every existing value"),
            "say where the value belongs with BEFORE 'existing' or AFTER 'existing' (appending is fine when the end is intended: write AFTER the current last value)"));
    }
}
