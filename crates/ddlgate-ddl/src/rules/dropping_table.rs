//! `DROP TABLE` destroys data and takes ACCESS EXCLUSIVE on the table and on the tables it
//! references by foreign key.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DroppingTable,
    aliases: &["ban-drop-table"],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "DROP TABLE destroys data and breaks code still using the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::DropOther { what, cascade: true } = ctx.stmt {
        if matches!(what.as_str(), "type" | "extension") {
            out.push(ctx.finding(DEF.id, format!("DROP {} … CASCADE also drops the tables typed by it (or that it owns), with their data", what.to_uppercase()), "drop the tables that depend on it first, then drop it without CASCADE"));
        }
    }
    if let Stmt::DropTable { names, cascade } = ctx.stmt {
        for n in names {
            if ctx.size(n) == super::ctx::SizeClass::CreatedInTx {
                continue;
            }
            let extra = if *cascade { " (CASCADE also drops dependent views and foreign keys)" } else { "" };
            out.push(ctx.finding(DEF.id,
                format!("dropping `{n}` destroys its data and breaks code that still uses it{extra}"),
                "stop using the table in code first; drop foreign keys pointing to it separately; keep a backup"));
        }
    }
}
