//! A text that opens a transaction with `BEGIN` and never ends it leaves the session "idle in
//! transaction" holding every lock it took until the connection closes — or, run by a
//! migration tool that wraps files itself, silently rolls back (docs, `BEGIN`, `COMMIT`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{Stmt, TxCommand};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::BanUncommittedTransaction,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Transaction,
    summary: "BEGIN without a matching COMMIT or ROLLBACK",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if matches!(ctx.stmt, Stmt::Tx(TxCommand::Begin)) && ctx.begin_never_closed {
        out.push(ctx.finding(DEF.id,
            "this BEGIN opens a transaction that nothing in the text commits or rolls back: its locks are held until the session ends".to_owned(),
            "end the transaction with COMMIT (or ROLLBACK) in the same migration"));
    }
}
