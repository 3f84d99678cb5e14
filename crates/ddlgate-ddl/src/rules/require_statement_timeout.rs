//! A statement holding ACCESS EXCLUSIVE blocks every read and write of the relation for as
//! long as it runs. Without `statement_timeout` nothing bounds that: a rewrite or scan that
//! takes longer than expected turns into an outage of the same length (docs, "Explicit
//! Locking"; `statement_timeout` in "Client Connection Defaults"). squawk's
//! `require-statement-timeout`.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::locks::LockMode;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireStatementTimeout,
    aliases: &[],
    severity: Severity::Info,
    category: Category::Locking,
    summary: "an ACCESS EXCLUSIVE lock is taken without statement_timeout",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.tx.statement_timeout_ms.is_some_and(|ms| ms > 0) {
        return;
    }
    let exclusive = ctx.fx.locks.iter().find(|(rel, mode)| {
        **mode == LockMode::AccessExclusive
            && !ctx.facts.created_in_tx(rel, ctx.tx.created_in_tx.contains(*rel))
            && !ctx.tx.access_exclusive_held.contains(*rel)
    });
    if let Some((rel, _)) = exclusive {
        out.push(ctx.finding(DEF.id,
            format!("holds ACCESS EXCLUSIVE on `{rel}` with no statement_timeout: nothing bounds how long every read and write of `{rel}` is blocked"),
            "SET statement_timeout = '5s' (SET LOCAL inside a transaction) before the statement, and retry on 57014"));
    }
}
