//! A B-tree is only used efficiently for its leading columns; an index over many key columns
//! is large, slow to maintain on every write and rarely better than a narrower one (docs,
//! "Multicolumn Indexes": "indexes with more than three columns are unlikely to be helpful").

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::Stmt;
use crate::lexer::{significant, TokKind};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::IndexTooManyColumns,
    aliases: &[],
    severity: Severity::Warning,
    category: Category::Style,
    summary: "an index with more than three key columns",
    check,
};

/// strong_migrations' (and the PostgreSQL manual's) limit.
const MAX_KEY_COLUMNS: usize = 3;

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Stmt::CreateIndex { table, .. } = ctx.stmt else { return };
    let Some(n) = key_columns(ctx.text) else { return };
    if n > MAX_KEY_COLUMNS {
        out.push(ctx.finding(DEF.id,
            format!("index on `{table}` has {n} key columns: it is large and costly on every write, and queries rarely use more than its leading columns"),
            "index the two or three most selective leading columns (move columns that are only read into INCLUDE (…)), or use several smaller indexes"));
    }
}

/// The number of key expressions in the parenthesised list after `ON table` (INCLUDE columns
/// come after it and are not counted).
fn key_columns(sql: &str) -> Option<usize> {
    let mut toks = significant(sql).skip_while(|t| !t.is_kw(sql, "on"));
    toks.find(|t| t.kind == TokKind::LParen)?;
    let (mut depth, mut n) = (1usize, 1usize);
    for t in toks {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(n);
                }
            }
            TokKind::Comma if depth == 1 => n += 1,
            _ => {}
        }
    }
    None
}
