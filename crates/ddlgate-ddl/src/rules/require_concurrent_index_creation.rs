//! `CREATE INDEX` without `CONCURRENTLY` blocks writes for the whole build (SHARE lock;
//! docs, `CREATE INDEX`, "Building Indexes Concurrently").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireConcurrentIndexCreation,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "CREATE INDEX without CONCURRENTLY blocks writes during the build",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    use crate::model::DdlForm;
    let parent_only = ctx.fx.applied.iter().any(|a| matches!(a.form, DdlForm::CreateIndexOnlyParent | DdlForm::CreateIndexExisting));
    if let (Stmt::CreateIndex { table, concurrently: false, .. }, false) = (ctx.stmt, parent_only) {
        ctx.sized(out, DEF.id, table,
            format!("CREATE INDEX on `{table}` holds SHARE for the whole build: every INSERT/UPDATE/DELETE waits"),
            "use CREATE INDEX CONCURRENTLY outside a transaction block (no short lock_timeout; drop the INVALID index if it fails)");
    }
}
