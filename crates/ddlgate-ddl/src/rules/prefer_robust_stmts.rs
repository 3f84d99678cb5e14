//! A migration run outside a transaction that fails half-way leaves its first statements
//! applied; re-running it then fails on them unless they are idempotent (`IF [NOT] EXISTS`).
//! Advice only: inside a transaction (explicit or one multi-statement Query) a failure rolls
//! everything back, and this rule stays quiet.

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{AlterAction, Stmt};
use crate::lexer::{significant, Token};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::PreferRobustStmts,
    aliases: &[],
    severity: Severity::Info,
    category: Category::Style,
    summary: "outside a transaction, CREATE/DROP/ADD COLUMN without IF [NOT] EXISTS cannot be re-run",
    check,
};

const HELP: &str = "use IF NOT EXISTS / IF EXISTS so the migration can be re-run after a partial failure, or run it in a transaction";

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if ctx.tx.in_transaction() {
        return;
    }
    let sql = ctx.text;
    // The leading key words (up to the object name) carry the IF [NOT] EXISTS clause.
    let head: Vec<Token> = significant(sql).take(8).collect();
    let has = |words: &[&str]| {
        head.windows(words.len())
            .any(|w| w.iter().zip(words).all(|(t, k)| t.is_kw(sql, k)))
    };
    let mut push = |what: String, clause: &str| {
        out.push(ctx.finding(
            DEF.id,
            format!("{what} without {clause} fails if re-run after a partial failure"),
            HELP,
        ));
    };
    match ctx.stmt {
        Stmt::CreateTable {
            name, temporary: false, ..
        } if !has(&["if", "not", "exists"]) => {
            push(format!("CREATE TABLE `{name}`"), "IF NOT EXISTS");
        }
        Stmt::CreateIndex {
            name,
            if_not_exists: false,
            ..
        } => match name {
            Some(n) => push(format!("CREATE INDEX `{n}`"), "IF NOT EXISTS"),
            None => push(
                "an unnamed CREATE INDEX (a re-run creates a duplicate index)".to_owned(),
                "a name and IF NOT EXISTS",
            ),
        },
        Stmt::DropIndex {
            names,
            if_exists: false,
            ..
        } => push(format!("DROP INDEX `{}`", join(names)), "IF EXISTS"),
        Stmt::DropTable { names, .. } if !has(&["if", "exists"]) => {
            push(format!("DROP TABLE `{}`", join(names)), "IF EXISTS");
        }
        Stmt::AlterTable { table, actions } => {
            for a in actions {
                match a {
                    AlterAction::AddColumn {
                        column,
                        if_not_exists: false,
                    } => push(
                        format!("ADD COLUMN `{}` on `{table}`", column.name),
                        "IF NOT EXISTS",
                    ),
                    AlterAction::DropColumn {
                        names,
                        if_exists: false,
                        ..
                    } => push(
                        format!("DROP COLUMN `{}` on `{table}`", names.join(", ")),
                        "IF EXISTS",
                    ),
                    AlterAction::DropConstraint {
                        name,
                        if_exists: false,
                        ..
                    } => push(format!("DROP CONSTRAINT `{name}` on `{table}`"), "IF EXISTS"),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn join(names: &[crate::ir::QualifiedName]) -> String {
    names
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
