//! A statement that needs a lock conflicting with reads or writes on an existing relation,
//! run without `lock_timeout`, waits in the lock queue indefinitely — and every later query
//! on that relation queues behind it (docs, "Explicit Locking"; `lock_timeout` in
//! "Client Connection Defaults").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::RequireLockTimeout,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "a blocking lock is requested without lock_timeout",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.tx.lock_timeout_ms.is_some_and(|ms| ms > 0) || ctx.fx.outside_tx_only {
        // CONCURRENTLY forms must *not* get a short lock_timeout (a cancel leaves an INVALID
        // index); they get a statement deadline instead.
        return;
    }
    let blocking = ctx.fx.locks.iter().find(|(rel, mode)| {
        mode.blocks_writes()
            && !ctx.facts.created_in_tx(rel, ctx.tx.created_in_tx.contains(*rel))
            && !ctx.tx.access_exclusive_held.contains(*rel)
    });
    if let Some((rel, mode)) = blocking {
        out.push(ctx.finding(DEF.id,
            format!("waits for {} on `{rel}` ({}) with no lock_timeout: while it waits, every later query on `{rel}` queues behind it", mode.sql_name(), mode.blocks_description()),
            "SET lock_timeout = '2s' (SET LOCAL inside a transaction) before the statement, and retry on 55P03"));
    }
}
