//! `DROP DATABASE` destroys everything in it.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DroppingDatabase,
    aliases: &["ban-drop-database"],
    severity: Severity::Error,
    category: Category::Compatibility,
    summary: "DROP DATABASE destroys a whole database",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    match ctx.stmt {
        Stmt::DropDatabase { name } => out.push(ctx.finding(DEF.id,
            format!("DROP DATABASE `{name}` destroys every object and row in it"),
            "do this by hand, outside migrations, after a verified backup")),
        Stmt::DropSchema { cascade: true } => {
            let mut f = ctx.finding(DEF.id,
                "DROP SCHEMA … CASCADE destroys every object in the schema".to_owned(),
                "drop the objects explicitly, one by one, after a backup");
            f.severity = Severity::Warning;
            out.push(f);
        }
        _ => {}
    }
}
