//! `ADD COLUMN … serial` / `GENERATED … AS IDENTITY` fills every row from a sequence: a
//! table rewrite under ACCESS EXCLUSIVE (`nextval` is volatile; docs, `ALTER TABLE` Notes).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, Generated};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::AddingSerialOrIdentityColumn,
    aliases: &["adding-serial-primary-key-field"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "ADD COLUMN serial/identity rewrites the table",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some((table, actions)) = ctx.alter_table() else { return };
    for a in actions {
        if let AlterAction::AddColumn { column, .. } = a {
            if column.serial || column.generated == Some(Generated::Identity) {
                ctx.sized_at(out, (DEF.id, table, &column.name),
                    format!("auto-incrementing column `{}` fills every existing row: `{table}` is rewritten under ACCESS EXCLUSIVE", column.name),
                    "add a nullable bigint column, create a sequence, SET DEFAULT nextval(...), backfill existing rows in batches, then add NOT NULL via a validated CHECK");
            }
        }
    }
}
