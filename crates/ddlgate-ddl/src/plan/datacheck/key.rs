//! The key of a unique index as the client wrote it (`CREATE UNIQUE INDEX … ON t <tail>`):
//! its columns and expressions, `NULLS [NOT] DISTINCT` and `WHERE` predicate
//! (<https://www.postgresql.org/docs/current/sql-createindex.html>). Only keys whose equality
//! is the type's default are read: an element with an operator class or a collation gives no
//! key (nothing is checked for it).

use crate::ir::QualifiedName;
use crate::lexer::{ident_value, significant, TokKind, Token};
use crate::quote::quote_ident;

use super::super::sql::gen_name;

/// One element of an index key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    /// SQL computing it for a row (a quoted column, or the client's expression).
    pub expr: String,
    /// How PostgreSQL names it in `Key (…)=(…)`: the column quoted like `quote_ident`, an
    /// expression as written.
    pub label: String,
    /// The column, when the element is one.
    pub column: Option<String>,
    /// The name PostgreSQL gives the element when it names the index: the column, the called
    /// function, else `expr`.
    name: String,
}

/// Whether NULL keys conflict (`NULLS NOT DISTINCT`, PostgreSQL 15+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// The default: a key with a NULL in it never conflicts.
    Distinct,
    /// NULLs are equal to each other.
    NotDistinct,
}

/// A unique index's key, predicate and NULL treatment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    /// Key elements, in order.
    pub parts: Vec<KeyPart>,
    /// The `WHERE` predicate of a partial index (the client's text).
    pub predicate: Option<String>,
    /// NULL treatment.
    pub nulls: Nulls,
}

impl IndexKey {
    /// Reads `tail` (what follows the table name); `None` for anything it does not know.
    #[must_use]
    pub fn parse(tail: &str) -> Option<Self> {
        let toks: Vec<Token> = significant(tail).collect();
        let mut at = 0;
        if toks.first()?.is_kw(tail, "using") {
            if !toks.get(1)?.is_kw(tail, "btree") {
                return None;
            }
            at = 2;
        }
        let end = group_end(&toks, at)?;
        let parts = elements(tail, &toks[at + 1..end])?;
        let mut key = IndexKey {
            parts,
            predicate: None,
            nulls: Nulls::Distinct,
        };
        let mut i = end + 1;
        while let Some(t) = toks.get(i) {
            i = if t.is_kw(tail, "include") || t.is_kw(tail, "with") {
                group_end(&toks, i + 1)? + 1
            } else if t.is_kw(tail, "tablespace") {
                i + 2
            } else if t.is_kw(tail, "nulls") {
                let not = toks.get(i + 1)?.is_kw(tail, "not");
                let distinct = toks.get(i + 1 + usize::from(not))?;
                if !distinct.is_kw(tail, "distinct") {
                    return None;
                }
                if not {
                    key.nulls = Nulls::NotDistinct;
                }
                i + 2 + usize::from(not)
            } else if t.is_kw(tail, "where") {
                let from = toks.get(i + 1)?.span.start;
                key.predicate = Some(tail[from..].trim_end().to_owned());
                break;
            } else {
                return None;
            };
        }
        Some(key)
    }

    /// The key's plain columns.
    #[must_use]
    pub fn columns(&self) -> Vec<String> {
        self.parts.iter().filter_map(|p| p.column.clone()).collect()
    }

    /// The name PostgreSQL chooses for an unnamed unique index on `table` with this key
    /// (`<table>_<names>_idx`; a taken name gets a number, which this does not know).
    #[must_use]
    pub fn generated_name(&self, table: &QualifiedName) -> String {
        let mut parts: Vec<&str> = vec![&table.name];
        parts.extend(self.parts.iter().map(|p| p.name.as_str()));
        gen_name(&parts, "idx")
    }
}

/// The index of the `)` closing the `(` at `open`.
pub(super) fn group_end(toks: &[Token], open: usize) -> Option<usize> {
    if toks.get(open)?.kind != TokKind::LParen {
        return None;
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The comma-separated elements of a key list.
fn elements(src: &str, toks: &[Token]) -> Option<Vec<KeyPart>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.checked_sub(1)?,
            TokKind::Comma if depth == 0 => {
                parts.push(element(src, &toks[start..i])?);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(element(src, &toks[start..])?);
    Some(parts)
}

/// One key element: a column, `(expression)` or `function(…)`, with an optional ordering
/// (which does not change equality).
fn element(src: &str, toks: &[Token]) -> Option<KeyPart> {
    let mut toks = toks;
    loop {
        let n = toks.len();
        if n >= 1 && (toks[n - 1].is_kw(src, "asc") || toks[n - 1].is_kw(src, "desc")) {
            toks = &toks[..n - 1];
        } else if n >= 2
            && toks[n - 2].is_kw(src, "nulls")
            && (toks[n - 1].is_kw(src, "first") || toks[n - 1].is_kw(src, "last"))
        {
            toks = &toks[..n - 2];
        } else {
            break;
        }
    }
    let first = toks.first()?;
    let text = src[first.span.start..toks.last()?.span.end].to_owned();
    let word = matches!(first.kind, TokKind::Word | TokKind::QuotedIdent);
    if toks.len() == 1 && word {
        let column = ident_value(first, src);
        return Some(KeyPart {
            expr: quote_ident(&column),
            label: quote_ident(&column),
            name: column.clone(),
            column: Some(column),
        });
    }
    let name = match first.kind {
        TokKind::LParen if group_end(toks, 0)? == toks.len() - 1 => "expr".to_owned(),
        _ if word && group_end(toks, 1)? == toks.len() - 1 => ident_value(first, src),
        _ => return None,
    };
    Some(KeyPart {
        expr: text.clone(),
        label: text,
        name,
        column: None,
    })
}
