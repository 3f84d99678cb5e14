//! Statement spans: ours (`ddlgate_ddl::split`), the grammar's (`split_with_parser`) and the
//! scanner's (`split_with_scanner`), each trimmed to its first and last significant token.

use crate::tokens::PgToken;
use pg_query::protobuf::Token;
use std::ops::Range;

/// Our statements: the segments that hold one, from their first to their last significant
/// token.
#[must_use]
pub fn ours(sql: &str) -> Vec<Range<usize>> {
    ddlgate_ddl::split(sql)
        .into_iter()
        .filter_map(|s| s.stmt)
        .collect()
}

/// The statements of PostgreSQL's grammar (`raw_parser`, as `exec_simple_query` runs it on a
/// Query's text), or `None` when it rejects the text: then the server runs none of it.
#[must_use]
pub fn parser(sql: &str, tokens: &[PgToken]) -> Option<Vec<Range<usize>>> {
    let pieces = pg_query::split_with_parser(sql).ok()?;
    Some(trimmed(sql, &pieces, tokens))
}

/// The statements of libpg_query's scanner-only splitter, or `None` where its rules are not
/// PostgreSQL's: when the text has the key words `BEGIN ATOMIC` next to each other (it knows
/// no routine bodies), a `)` without its `(` (its depth counter wraps) or a `(` left open at
/// the end (it drops the last statement).
#[must_use]
pub fn scanner(sql: &str, tokens: &[PgToken]) -> Option<Vec<Range<usize>>> {
    let significant: Vec<&PgToken> = tokens.iter().filter(|t| !t.is_comment()).collect();
    let body = significant
        .windows(2)
        .any(|w| w[0].is(Token::BeginP) && w[1].is(Token::Atomic));
    let mut depth = 0i64;
    for t in &significant {
        depth += i64::from(t.token == 40) - i64::from(t.token == 41);
        if depth < 0 {
            return None;
        }
    }
    if body || depth != 0 {
        return None;
    }
    let pieces = pg_query::split_with_scanner(sql).ok()?;
    Some(trimmed(sql, &pieces, tokens))
}

/// Our statements that `split_with_scanner` keeps: it drops a statement without a key word.
#[must_use]
pub fn with_keyword(ours: &[Range<usize>], tokens: &[PgToken]) -> Vec<Range<usize>> {
    ours.iter()
        .filter(|s| tokens.iter().any(|t| t.keyword && inside(&t.span, s)))
        .cloned()
        .collect()
}

fn inside(inner: &Range<usize>, outer: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// The pieces (slices of `sql`) as byte ranges, each cut to its first and last significant
/// token; a piece with none (only comments) is left out.
fn trimmed(sql: &str, pieces: &[&str], tokens: &[PgToken]) -> Vec<Range<usize>> {
    let base = sql.as_ptr() as usize;
    pieces
        .iter()
        .filter_map(|p| {
            let start = p.as_ptr() as usize - base;
            let piece = start..start + p.len();
            let mut sig = tokens
                .iter()
                .filter(|t| !t.is_comment() && inside(&t.span, &piece));
            let first = sig.next()?;
            let last = sig.next_back().unwrap_or(first);
            Some(first.span.start..last.span.end)
        })
        .collect()
}
