//! `CREATE TRIGGER` takes SHARE ROW EXCLUSIVE, blocking writes while it waits and runs
//! (docs, `CREATE TRIGGER`; "Explicit Locking" Table 13.2).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::CreatingTrigger,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "CREATE TRIGGER takes SHARE ROW EXCLUSIVE (blocks writes) on an existing table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::CreateTrigger { table } = ctx.stmt {
        ctx.sized(out, DEF.id, table,
            format!("CREATE TRIGGER takes SHARE ROW EXCLUSIVE on `{table}`: writes wait while it is queued"),
            "set a short lock_timeout and retry; the trigger also slows every write it fires on");
    }
}
