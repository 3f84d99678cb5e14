//! Statement splitter with exact byte spans.
//!
//! Splits on `;` outside strings, quoted identifiers, dollar quotes, comments and parentheses
//! (the parenthesis rule is what lets `CREATE RULE … DO (a; b)` through, as in psql), and
//! outside SQL-standard function bodies (`BEGIN ATOMIC … END`, PostgreSQL 14+, see the
//! `CREATE FUNCTION` reference, "sql_body").
//!
//! The segments partition the input: concatenating every [`Segment::span`] gives the input
//! back. Each segment also carries the span of the statement proper (first to last significant
//! token, without the `;`), or `None` when the segment is only whitespace and comments.

use crate::lexer::{Lexer, TokKind};
use std::ops::Range;

/// One piece of a multi-statement string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The whole piece: leading trivia, the statement and its `;` (if any).
    pub span: Range<usize>,
    /// The statement itself, from its first to its last significant token.
    pub stmt: Option<Range<usize>>,
}

impl Segment {
    /// The leading trivia (comments before the statement), where suppressions live.
    #[must_use]
    pub fn leading<'a>(&self, src: &'a str) -> &'a str {
        let end = self.stmt.as_ref().map_or(self.span.end, |s| s.start);
        src.get(self.span.start..end).unwrap_or("")
    }
}

/// Split `src` into segments. Never panics; always returns segments covering `src` exactly.
#[must_use]
pub fn split(src: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut seg_start = 0usize;
    let mut stmt: Option<Range<usize>> = None;
    let mut depth = 0usize;
    // SQL-standard function body tracking.
    let mut words_seen = 0usize;
    let mut first_is_create = false;
    let mut routine = false;
    let mut prev_begin = false;
    let mut atomic_depth = 0usize;

    for tok in Lexer::new(src) {
        if tok.kind.is_trivia() {
            continue;
        }
        if tok.kind == TokKind::Semicolon && depth == 0 && atomic_depth == 0 {
            out.push(Segment {
                span: seg_start..tok.span.end,
                stmt: stmt.take(),
            });
            seg_start = tok.span.end;
            words_seen = 0;
            first_is_create = false;
            routine = false;
            prev_begin = false;
            continue;
        }
        match &mut stmt {
            Some(r) => r.end = tok.span.end,
            None => stmt = Some(tok.span.clone()),
        }
        match tok.kind {
            TokKind::LParen => depth += 1,
            TokKind::RParen => depth = depth.saturating_sub(1),
            TokKind::Word => {
                let w = tok.text(src);
                if words_seen == 0 {
                    first_is_create = w.eq_ignore_ascii_case("create");
                }
                words_seen += 1;
                if first_is_create
                    && (w.eq_ignore_ascii_case("function") || w.eq_ignore_ascii_case("procedure"))
                {
                    routine = true;
                }
                // A body starts at `BEGIN ATOMIC` outside the parameter list: `f(begin atomic)`
                // is a parameter named `begin` of a type named `atomic`.
                if routine && depth == 0 {
                    if atomic_depth == 0 {
                        if prev_begin && w.eq_ignore_ascii_case("atomic") {
                            atomic_depth = 1;
                        }
                    } else if w.eq_ignore_ascii_case("case") || w.eq_ignore_ascii_case("begin") {
                        atomic_depth += 1;
                    } else if w.eq_ignore_ascii_case("end") {
                        atomic_depth -= 1;
                    }
                    prev_begin = w.eq_ignore_ascii_case("begin");
                }
            }
            _ => prev_begin = false,
        }
    }
    if seg_start < src.len() || out.is_empty() {
        out.push(Segment {
            span: seg_start..src.len(),
            stmt,
        });
    }
    out
}

/// Count the statements (segments with a statement) in `src`.
#[must_use]
pub fn count_statements(src: &str) -> usize {
    split(src).iter().filter(|s| s.stmt.is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmts(src: &str) -> Vec<&str> {
        split(src)
            .into_iter()
            .filter_map(|s| s.stmt.map(|r| &src[r]))
            .collect()
    }

    #[test]
    fn splits_simple() {
        assert_eq!(stmts("select 1; select 2;"), vec!["select 1", "select 2"]);
        assert_eq!(stmts("  ;;"), Vec::<&str>::new());
    }

    #[test]
    fn respects_quotes_and_bodies() {
        let src = "do $$ begin execute 'a;b'; end $$; select ';' , \"x;\"; select E'\\';' ";
        assert_eq!(
            stmts(src),
            vec![
                "do $$ begin execute 'a;b'; end $$",
                "select ';' , \"x;\"",
                "select E'\\';'"
            ]
        );
    }

    #[test]
    fn words_begin_and_atomic_in_a_parameter_list_start_no_body() {
        let src =
            "create function f(begin atomic) returns int language sql as 'select 1'; drop table t";
        assert_eq!(
            stmts(src),
            vec![
                "create function f(begin atomic) returns int language sql as 'select 1'",
                "drop table t"
            ]
        );
    }

    #[test]
    fn a_carriage_return_ends_a_line_comment() {
        assert_eq!(
            stmts("select 1; --c\rdrop table t"),
            vec!["select 1", "drop table t"]
        );
        assert_eq!(stmts("--c\rDROP TABLE t"), vec!["DROP TABLE t"]);
    }

    #[test]
    fn a_continued_escape_string_ends_where_the_server_ends_it() {
        let src = "select E''\n'a\\'';drop table t;--'";
        assert_eq!(stmts(src), vec!["select E''\n'a\\''", "drop table t"]);
        let src = "select 'a' -- c\n 'b;'; drop table t";
        assert_eq!(stmts(src), vec!["select 'a' -- c\n 'b;'", "drop table t"]);
    }

    #[test]
    fn begin_atomic() {
        let src = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end; select 3";
        assert_eq!(stmts(src).len(), 2);
    }

    #[test]
    fn segments_cover_input() {
        let src = "-- c\nselect 1 ; /* x; */ alter table t add column a int;\n-- tail";
        let segs = split(src);
        let joined: String = segs.iter().map(|s| &src[s.span.clone()]).collect();
        assert_eq!(joined, src);
        assert_eq!(segs[1].leading(src), " /* x; */ ");
    }
}
