//! `ADD FOREIGN KEY` without `NOT VALID` scans the table while SHARE ROW EXCLUSIVE blocks
//! writes on both tables (docs, `ALTER TABLE`, Notes: "ADD FOREIGN KEY requires only a SHARE
//! ROW EXCLUSIVE lock on the referenced table").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, ConstraintKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingForeignKeyConstraint,
    aliases: &[],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD FOREIGN KEY without NOT VALID blocks writes on both tables during a scan",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        match a {
            AlterAction::AddConstraint { constraint, not_valid: false } => {
                if let ConstraintKind::ForeignKey { references, .. } = &constraint.kind {
                    ctx.sized(out, DEF.id, table,
                        format!("foreign key to `{references}` is validated by scanning `{table}` while SHARE ROW EXCLUSIVE blocks writes on both tables"),
                        "add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction");
                }
            }
            AlterAction::AddColumn { column, .. } => {
                if let Some(r) = &column.references {
                    if ctx.size(table) == super::ctx::SizeClass::CreatedInTx {
                        continue;
                    }
                    if crate::model::inline_fk_validates(column) {
                        ctx.sized(out, DEF.id, table,
                            format!("inline REFERENCES `{r}` on new column `{}` with a default checks every row: `{table}` is scanned while ACCESS EXCLUSIVE blocks its reads and writes (and SHARE ROW EXCLUSIVE the writes on `{r}`)", column.name),
                            "add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE it separately");
                        continue;
                    }
                    let mut f = ctx.finding(DEF.id,
                        format!("inline REFERENCES `{r}` on new column `{}` takes SHARE ROW EXCLUSIVE on `{r}` (blocks its writes) and cannot be NOT VALID", column.name),
                        "add the column without REFERENCES, then ADD CONSTRAINT … FOREIGN KEY … NOT VALID and VALIDATE it separately");
                    f.severity = Severity::Warning;
                    out.push(f);
                }
            }
            _ => {}
        }
    }
}
