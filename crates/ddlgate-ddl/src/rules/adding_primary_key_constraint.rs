//! `ADD PRIMARY KEY` builds its index under ACCESS EXCLUSIVE and implicitly sets NOT NULL
//! (a scan) on nullable key columns (docs, `ALTER TABLE`, ADD table_constraint_using_index).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, ConstraintKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingPrimaryKeyConstraint,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD PRIMARY KEY builds an index under ACCESS EXCLUSIVE",
    check,
};

const HELP: &str = "make the key columns NOT NULL safely first, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY USING INDEX";

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        match a {
            AlterAction::AddConstraint { constraint, .. } => match &constraint.kind {
                ConstraintKind::PrimaryKey { .. } => ctx.sized(out, DEF.id, table,
                    format!("PRIMARY KEY builds its index on `{table}` under ACCESS EXCLUSIVE"), HELP),
                ConstraintKind::PrimaryKeyUsingIndex { index } => {
                    let nullable = ctx.facts.table(table).is_none_or(|t| {
                        t.indexes.iter().find(|i| &i.name == index).is_none_or(|i| {
                            i.columns.iter().any(|c| t.column(c).is_none_or(|c| !c.not_null))
                        })
                    });
                    if nullable && ctx.size(table) != super::ctx::SizeClass::CreatedInTx {
                        let mut f = ctx.finding(DEF.id,
                            format!("PRIMARY KEY USING INDEX `{index}` sets NOT NULL on key columns not known to be NOT NULL: a scan under ACCESS EXCLUSIVE"),
                            "make the key columns NOT NULL first (CHECK NOT VALID, VALIDATE, SET NOT NULL)");
                        f.severity = Severity::Warning;
                        out.push(f);
                    }
                }
                _ => {}
            },
            AlterAction::AddColumn { column, .. } if column.primary_key => ctx.sized(out, DEF.id, table,
                format!("inline PRIMARY KEY on new column `{}` builds an index under ACCESS EXCLUSIVE", column.name), HELP),
            _ => {}
        }
    }
}
