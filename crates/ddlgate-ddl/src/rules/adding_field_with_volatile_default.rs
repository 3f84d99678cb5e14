//! `ADD COLUMN … DEFAULT <volatile>` rewrites the whole table under ACCESS EXCLUSIVE.
//!
//! PostgreSQL docs, `ALTER TABLE`, Notes: "Adding a column with a volatile DEFAULT … will
//! require the entire table and its indexes to be rewritten"; since PG 11 a non-volatile
//! default is stored in the catalog instead (before PG 11 every default rewrote). A domain
//! type brings its default (a volatile one rewrites when the column has none of its own) and
//! its constraints (any `CHECK`/`NOT NULL` on the domain rewrites, default or not: measured on
//! PostgreSQL 15); no phased plan avoids those, so they are blocked.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::AlterAction;
use crate::model::DdlForm;

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingFieldWithVolatileDefault,
    aliases: &["adding-field-with-default"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD COLUMN with a volatile default (or any default before PG 11) rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        let AlterAction::AddColumn { column, .. } = a else { continue };
        if column.serial || column.generated.is_some() {
            continue; // adding-serial-or-identity-column / adding-stored-generated-column
        }
        let form = crate::model::add_column_form(column, ctx.facts);
        let old_server = form == DdlForm::AddColumnNonVolatileDefault && ctx.facts.server_version_num < 110_000;
        if form == DdlForm::AddColumnVolatileDefault || old_server {
            let domain = crate::model::domain_of(column, ctx.facts);
            let why = match domain {
                _ if old_server => "any default before PostgreSQL 11".to_owned(),
                Some(d) if d.constrained => format!("domain type `{}`, whose constraints are checked on every row,", column.ty.text),
                Some(_) if crate::model::domain_rewrites(column, ctx.facts) => {
                    format!("domain type `{}`, whose default is volatile,", column.ty.text)
                }
                _ => "a volatile default".to_owned(),
            };
            ctx.sized_at(
                out,
                (DEF.id, table, &column.name),
                format!("adding column `{}` with {why} rewrites `{table}` and its indexes under ACCESS EXCLUSIVE", column.name),
                "add the column without a default, set the default, backfill existing rows in batches, then add NOT NULL via a validated CHECK (ddlgate plan)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{analyze, DomainFacts, Facts, RuleId};

    fn rules(sql: &str, facts: &Facts) -> (Vec<RuleId>, bool) {
        let d = analyze(sql, facts, &Default::default());
        let ids = d[0].findings.iter().map(|f| f.rule).collect();
        (ids, d[0].plan.is_some())
    }

    #[test]
    fn domains_bring_their_default_and_constraints() {
        let mut facts = Facts::default();
        let vol = DomainFacts { volatile_default: true, constrained: false };
        let chk = DomainFacts { volatile_default: false, constrained: true };
        facts.domains.insert("vuuid".into(), vol);
        facts.domains.insert("app.positive".into(), chk);
        let id = RuleId::AddingFieldWithVolatileDefault;
        let (ids, plan) = rules("ALTER TABLE t ADD COLUMN c vuuid", &facts);
        assert!(ids.contains(&id) && !plan, "volatile domain default: no plan");
        let (ids, _) = rules("ALTER TABLE t ADD COLUMN c vuuid DEFAULT NULL", &facts);
        assert!(!ids.contains(&id), "a default of its own replaces the domain's");
        let (ids, plan) = rules("ALTER TABLE t ADD COLUMN c app.positive DEFAULT NULL", &facts);
        assert!(ids.contains(&id) && !plan, "constrained domain: every row is checked");
        let (ids, _) = rules("ALTER TABLE t ADD COLUMN c vuuid[]", &facts);
        assert!(!ids.contains(&id), "an array of a domain has no default");
        let (ids, _) = rules("ALTER TABLE t ADD COLUMN c other", &facts);
        assert!(!ids.contains(&id));
    }
}
