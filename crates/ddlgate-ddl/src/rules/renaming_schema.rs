//! Renaming a schema is instant but breaks every running query, view-less client and
//! `search_path` setting that still uses the old name (docs, `ALTER SCHEMA`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;
use crate::lexer::{ident_value, significant, Token};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RenamingSchema,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "ALTER SCHEMA … RENAME TO breaks application code that still uses the old schema name",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // sqlparser's result is not relied on: the form is read from the tokens, whatever the
    // statement parsed to (an unparseable statement is reported on its own).
    if matches!(ctx.stmt, Stmt::Unparseable { .. }) {
        return;
    }
    let sql = ctx.text;
    let t: Vec<Token> = significant(sql).take(6).collect();
    let kw = |i: usize, k: &str| t.get(i).is_some_and(|x| x.is_kw(sql, k));
    if kw(0, "alter") && kw(1, "schema") && kw(3, "rename") && kw(4, "to") {
        let (Some(from), Some(to)) = (t.get(2), t.get(5)) else { return };
        let (from, to) = (ident_value(from, sql), ident_value(to, sql));
        out.push(ctx.finding(DEF.id,
            format!("renaming schema `{from}` to `{to}` breaks running code (and search_path settings) that still use `{from}`"),
            "create the new schema and move objects with ALTER … SET SCHEMA, leaving views in the old schema, until every client uses the new name"));
    }
}
