//! `TRUNCATE` takes ACCESS EXCLUSIVE, destroys all rows and is not MVCC-safe (docs,
//! `TRUNCATE`); `CASCADE` silently extends that to every referencing table.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::TruncatingTable,
    aliases: &["ban-truncate-cascade"],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "TRUNCATE destroys all rows under ACCESS EXCLUSIVE (CASCADE: of referencing tables too)",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::Truncate { tables, cascade } = ctx.stmt {
        let live: Vec<String> = tables
            .iter()
            .filter(|t| ctx.size(t) != super::ctx::SizeClass::CreatedInTx)
            .map(ToString::to_string)
            .collect();
        if live.is_empty() {
            return;
        }
        let mut f = ctx.finding(DEF.id,
            format!("TRUNCATE `{}` deletes every row under ACCESS EXCLUSIVE and is not MVCC-safe", live.join("`, `")),
            "delete in batches if the data matters to concurrent readers; never use CASCADE in migrations: list every table explicitly");
        if *cascade {
            f.severity = Severity::Error;
            f.message.push_str("; CASCADE also empties every table that references it");
        }
        out.push(f);
    }
}
