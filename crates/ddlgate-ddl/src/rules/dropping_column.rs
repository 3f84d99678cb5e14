//! Dropping a column is fast (metadata only) but destroys data and breaks code that still selects it.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, Stmt};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::DroppingColumn,
    aliases: &["ban-drop-column"],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "DROP COLUMN destroys data and breaks code still using the column",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if let Stmt::DropOther { what, cascade: true } = ctx.stmt {
        if matches!(what.as_str(), "type" | "domain" | "function" | "extension") {
            out.push(ctx.finding(DEF.id, format!("DROP {} … CASCADE also drops every table column that uses it, with its data", what.to_uppercase()), "drop or change the columns that use it first (each is a DROP COLUMN of its own), then drop it without CASCADE"));
        }
        return;
    }
    let Some((table, actions)) = ctx.alter_table() else { return };
    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
        return;
    }
    for a in actions {
        if let AlterAction::DropColumn { names, .. } = a {
            out.push(ctx.finding(DEF.id, format!("dropping `{}` from `{table}` destroys its data and breaks code that still reads or writes it", names.join("`, `")), "first deploy code that no longer uses the column (e.g. Rails ignored_columns), then drop it; keep a backup if the data may be needed"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{analyze, Facts, RuleId};

    fn rules(sql: &str) -> Vec<RuleId> {
        analyze(sql, &Facts::default(), &Default::default())[0]
            .findings
            .iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn cascades_that_drop_columns_and_tables_are_seen() {
        let (col, table) = (RuleId::DroppingColumn, RuleId::DroppingTable);
        let r = rules("DROP TYPE mood CASCADE");
        assert!(r.contains(&col) && r.contains(&table), "{r:?}");
        assert!(rules("DROP DOMAIN positive CASCADE").contains(&col));
        assert!(rules("DROP FUNCTION f() CASCADE").contains(&col));
        assert!(rules("DROP EXTENSION citext CASCADE").contains(&col));
        // RESTRICT (the default) fails when something depends on it.
        assert!(!rules("DROP TYPE mood").contains(&col));
        assert!(!rules("DROP DOMAIN positive RESTRICT").contains(&col));
        assert!(rules("ALTER TABLE t SET SCHEMA archive").contains(&RuleId::RenamingTable));
    }
}
