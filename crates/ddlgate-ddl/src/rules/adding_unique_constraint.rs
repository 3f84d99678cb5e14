//! `ADD UNIQUE` builds its index under ACCESS EXCLUSIVE (docs, `ALTER TABLE`, ADD
//! table_constraint_using_index: build the index CONCURRENTLY, then attach it).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, ConstraintKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingUniqueConstraint,
    aliases: &["disallowed-unique-constraint"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD UNIQUE builds an index while ACCESS EXCLUSIVE blocks reads and writes",
    check,
};

const HELP: &str = "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX (brief lock)";

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        match a {
            AlterAction::AddConstraint { constraint, .. } if matches!(constraint.kind, ConstraintKind::Unique { .. }) => {
                ctx.sized(out, DEF.id, table,
                    format!("UNIQUE constraint builds its index on `{table}` under ACCESS EXCLUSIVE"), HELP);
            }
            AlterAction::AddColumn { column, .. } if column.unique && !column.primary_key => {
                ctx.sized(out, DEF.id, table,
                    format!("inline UNIQUE on new column `{}` builds an index under ACCESS EXCLUSIVE", column.name), HELP);
            }
            _ => {}
        }
    }
}
