//! `lock_timeout` bounds how long a statement waits in the lock queue — and therefore how long
//! every later query on the relation queues behind it. A long value turns a blocked ALTER into
//! an outage of that length (docs, `lock_timeout` in "Client Connection Defaults").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::LockTimeoutTooLong,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "SET lock_timeout above 10 seconds",
    check,
};

/// strong_migrations' `lock_timeout_limit` default.
const LIMIT_MS: u64 = 10_000;

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    // 0 disables the timeout: require-lock-timeout reports the blocking statements then.
    if let Stmt::Set {
        name,
        value_ms: Some(ms),
        ..
    } = ctx.stmt
    {
        if name == "lock_timeout" && *ms > LIMIT_MS {
            out.push(ctx.finding(DEF.id,
                format!("lock_timeout of {} lets a statement queued for a conflicting lock (e.g. ACCESS EXCLUSIVE) stall every later query on its table for up to that long", human(*ms)),
                "keep lock_timeout at a few seconds (e.g. '2s') and retry on 55P03 instead of waiting longer"));
        }
    }
}

fn human(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}
