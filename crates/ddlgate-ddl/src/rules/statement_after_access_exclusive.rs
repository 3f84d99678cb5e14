//! Running more statements after the transaction took ACCESS EXCLUSIVE keeps that lock —
//! and everything queued behind it — for their whole duration (eugene E4; locks are held to
//! the end of the transaction, docs "Explicit Locking").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::StatementAfterAccessExclusive,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Transaction,
    summary: "a statement runs while the transaction already holds ACCESS EXCLUSIVE",
    check,
};

/// Tables named in one finding.
const MAX_NAMED: usize = 3;

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if !ctx.tx.in_transaction() || matches!(ctx.stmt, Stmt::Tx(_) | Stmt::Set { .. } | Stmt::Reset { .. }) {
        return;
    }
    // At most a few names: a text of thousands of statements must not get findings that each
    // list every table before them (memory would grow with the square of the count).
    let mut held = ctx
        .tx
        .access_exclusive_held
        .iter()
        .filter(|r| !ctx.facts.created_in_tx(r, ctx.tx.created_in_tx.contains(*r)));
    let named: Vec<String> = held.by_ref().take(MAX_NAMED).map(ToString::to_string).collect();
    if named.is_empty() {
        return;
    }
    let more = if held.next().is_some() { " and others" } else { "" };
    out.push(ctx.finding(DEF.id,
        format!("this runs while the transaction holds ACCESS EXCLUSIVE on `{}`{more}: reads and writes there stay blocked until COMMIT", named.join("`, `")),
        "commit right after the ACCESS EXCLUSIVE statement; put other work in its own transaction"));
}
