//! `BEGIN` inside a transaction block only warns ("there is already a transaction in
//! progress") and the following `COMMIT` ends the outer transaction (docs, `BEGIN`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{Stmt, TxCommand};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::TransactionNesting,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Transaction,
    summary: "BEGIN inside a transaction block does not nest",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if matches!(ctx.stmt, Stmt::Tx(TxCommand::Begin)) && ctx.tx.in_block {
        out.push(ctx.finding(DEF.id,
            "BEGIN inside a transaction block is ignored; the next COMMIT ends the outer transaction".to_owned(),
            "remove the inner BEGIN/COMMIT, or use SAVEPOINT"));
    }
}
