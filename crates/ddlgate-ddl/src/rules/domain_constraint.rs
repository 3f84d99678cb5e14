//! Constraints on domains (`CREATE DOMAIN … CHECK`, `ALTER DOMAIN … ADD CONSTRAINT`) are
//! checked against every column using the domain, with no NOT VALID/VALIDATE split on
//! existing columns in practice, and are hard to change later.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DomainConstraint,
    aliases: &["ban-alter-domain-with-add-constraint", "ban-create-domain-with-constraint"],
    severity: Severity::Warning,
    category: Category::Locking,
    summary: "domain constraints scan every table using the domain and are hard to change",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if matches!(ctx.stmt, Stmt::DomainConstraint) {
        out.push(ctx.finding(DEF.id,
            "a domain constraint is checked against every column of that domain, in every table, under lock".to_owned(),
            "put CHECK constraints on the tables (NOT VALID + VALIDATE) instead of on the domain"));
    }
}
