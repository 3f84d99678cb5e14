//! `DROP INDEX` without `CONCURRENTLY` takes ACCESS EXCLUSIVE on the table (docs,
//! `DROP INDEX`, CONCURRENTLY).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireConcurrentIndexDeletion,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::DropIndex { names, concurrently: false, .. } = ctx.stmt {
        for n in names {
            if ctx.size(n) == super::ctx::SizeClass::CreatedInTx {
                continue;
            }
            out.push(ctx.finding(DEF.id,
                format!("DROP INDEX `{n}` takes ACCESS EXCLUSIVE on its table, queued behind every running query"),
                "use DROP INDEX CONCURRENTLY (one index per statement, outside a transaction block)"));
        }
    }
}
