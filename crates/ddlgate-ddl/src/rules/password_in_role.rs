//! `CREATE/ALTER ROLE … PASSWORD '…'` sends the password in clear text; it ends up in
//! logs and history (docs, `CREATE ROLE`, Notes). ddlgate redacts it from its own logs
//! (`redact`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PasswordInRole,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Safety,
    summary: "a password literal in CREATE/ALTER ROLE is logged in clear text",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::Role { has_password: true } = ctx.stmt {
        out.push(ctx.finding(DEF.id,
            "a clear-text password literal travels in this statement and may be logged by the server, poolers and clients".to_owned(),
            "use psql \\password or send a pre-hashed SCRAM-SHA-256 verifier; ddlgate logs the statement redacted"));
    }
}
