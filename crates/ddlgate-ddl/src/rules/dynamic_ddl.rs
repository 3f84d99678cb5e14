//! `DO` blocks and function/procedure bodies can run DDL dynamically (`EXECUTE format(…)`),
//! which no static analysis — this one included — can see through.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DynamicDdl,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Safety,
    summary: "DO blocks and routine bodies that run DDL or dynamic SQL are opaque to analysis",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let (what, body) = match ctx.stmt {
        Stmt::Do { body } => ("DO block", body.as_str()),
        Stmt::CreateRoutine { body: Some(b) } => ("function/procedure body", b.as_str()),
        _ => return,
    };
    let d = crate::dynamic::scan(body);
    if !d.any() {
        return;
    }
    let mut parts = Vec::new();
    if !d.ddl.is_empty() {
        parts.push(format!("runs {}", d.ddl.join(", ")));
    }
    if d.execute {
        parts.push("uses dynamic EXECUTE".to_owned());
    }
    out.push(ctx.finding(DEF.id,
        format!("{what} {}: its locks and rewrites cannot be checked", parts.join(" and ")),
        "write the DDL as plain top-level statements so it can be analysed (and planned safely)"));
}
