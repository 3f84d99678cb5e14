//! PostgreSQL truncates identifiers longer than `NAMEDATALEN - 1` (63) bytes with only a
//! NOTICE, so the object gets a different name than the one the migration (and the code) uses
//! — and two long names sharing a 63-byte prefix collide (docs, "Identifiers and Key Words").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, Stmt};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::IdentifierTooLong,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Compatibility,
    summary: "an identifier longer than 63 bytes is silently truncated",
    check,
};

/// `NAMEDATALEN - 1` in a default build.
const MAX_IDENTIFIER_BYTES: usize = 63;

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let mut names: Vec<(&str, &str)> = Vec::new();
    match ctx.stmt {
        Stmt::CreateTable { name, columns, .. } => {
            names.push(("table", &name.name));
            names.extend(columns.iter().map(|c| ("column", c.name.as_str())));
        }
        Stmt::CreateIndex { name: Some(n), .. } => names.push(("index", &n.name)),
        Stmt::AlterTable { actions, .. } => {
            for a in actions {
                match a {
                    AlterAction::AddColumn { column, .. } => names.push(("column", &column.name)),
                    AlterAction::AddConstraint { constraint, .. } => {
                        if let Some(n) = &constraint.name {
                            names.push(("constraint", n));
                        }
                    }
                    AlterAction::RenameColumn { to, .. } => names.push(("column", to)),
                    AlterAction::RenameConstraint { to, .. } => names.push(("constraint", to)),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    for (kind, name) in names {
        if name.len() > MAX_IDENTIFIER_BYTES {
            let truncated = truncate(name);
            out.push(ctx.finding(DEF.id,
                format!("{kind} name `{name}` is {} bytes: PostgreSQL silently truncates it to `{truncated}`", name.len()),
                "use a name of at most 63 bytes, so the object is called what the migration and the application say"));
        }
    }
}

/// The first 63 bytes, cut back to a character boundary (as PostgreSQL's `pg_mbcliplen`).
fn truncate(name: &str) -> &str {
    let mut end = MAX_IDENTIFIER_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}
