//! Statements that "cannot run inside a transaction block" (CREATE/DROP INDEX CONCURRENTLY,
//! REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM) fail with SQLSTATE 25001 in a
//! BEGIN block **and** in a multi-statement simple Query, which PostgreSQL runs as one
//! implicit transaction (protocol docs, "Multiple Statements in a Simple Query").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::ConcurrentlyInTransaction,
    aliases: &["ban-concurrent-index-creation-in-transaction"],
    severity: Severity::Error,
    category: Category::Transaction,
    summary: "a CONCURRENTLY/VACUUM statement inside a transaction block or multi-statement string fails",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if !ctx.fx.outside_tx_only {
        return;
    }
    let why = if ctx.tx.in_block {
        Some("inside a transaction block")
    } else if ctx.tx.implicit_multi {
        Some("in a multi-statement string, which PostgreSQL runs as one implicit transaction")
    } else {
        None
    };
    if let Some(why) = why {
        out.push(ctx.finding(DEF.id,
            format!("this statement cannot run {why}: it fails with 25001 (active_sql_transaction)"),
            "send it on its own, outside BEGIN/COMMIT (split the migration file, or disable the migration tool's transaction for it)"));
    }
}
