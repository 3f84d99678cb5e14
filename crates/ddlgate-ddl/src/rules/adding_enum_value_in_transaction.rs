//! `ALTER TYPE … ADD VALUE` could not run in a transaction block before PG 12; since PG 12
//! it can, but the new value cannot be used until the transaction commits (docs, `ALTER
//! TYPE`, Notes).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingEnumValueInTransaction,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Transaction,
    summary: "ALTER TYPE … ADD VALUE in a transaction: the value is unusable until commit",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::AlterEnumAddValue { type_name } = ctx.stmt {
        if ctx.tx.in_transaction() && ctx.facts.server_version_num >= 120_000 {
            out.push(ctx.finding(DEF.id,
                format!("the value added to `{type_name}` cannot be used by later statements of this transaction (\"unsafe use of new value\")"),
                "add enum values in their own transaction, before the statements that use them"));
        }
    }
}
