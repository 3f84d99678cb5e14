//! Statement splitter with exact byte spans.
//!
//! Splits on `;` outside strings, quoted identifiers, dollar quotes, comments and parentheses
//! (the parenthesis rule is what lets `CREATE RULE … DO (a; b)` through, as in psql), and
//! outside SQL-standard function bodies (`BEGIN ATOMIC … END`, PostgreSQL 14+, see the
//! `CREATE FUNCTION` reference, "sql_body").
//!
//! Bodies follow the server's grammar (`gram.y`), not psql's `BEGIN`/`CASE`/`END` counting:
//! - only `CREATE [OR REPLACE] {FUNCTION | PROCEDURE}` has one (`CreateFunctionStmt`), opened
//!   by the key words `BEGIN ATOMIC` outside parentheses;
//! - a body is a list of statements, each ended by `;` (`routine_body_stmt_list`), and the
//!   body's `END` is the word where a statement would start: right after `ATOMIC` or after a
//!   body statement's `;`. Inside a body no statement starts with `END` or `BEGIN` (the
//!   legacy transaction forms are `TransactionStmtLegacy`, top level only), so `END`
//!   elsewhere — `CASE … END`, a column labelled `end`, `t.end` — and `begin` as an identifier
//!   never open or close anything;
//! - a body's statement can itself be a `CREATE FUNCTION` with a body: bodies nest.
//!
//! What a text the grammar rejects is split into does not matter: the server runs none of it.
//! `crates/ddlgate-oracle` checks the splits against PostgreSQL's own parser.
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
    let mut nesting = Nesting::default();
    for tok in Lexer::new(src) {
        if tok.kind.is_trivia() {
            continue;
        }
        let word = (tok.kind == TokKind::Word).then(|| tok.text(src));
        if nesting.ends_statement(tok.kind, word) {
            out.push(Segment {
                span: seg_start..tok.span.end,
                stmt: stmt.take(),
            });
            seg_start = tok.span.end;
            continue;
        }
        match &mut stmt {
            Some(r) => r.end = tok.span.end,
            None => stmt = Some(tok.span.clone()),
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

/// How far a statement's first words go towards `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Start,
    Create,
    CreateOr,
    CreateOrReplace,
    /// A routine: `BEGIN ATOMIC` outside parentheses opens its body.
    Routine,
    /// Anything else.
    Other,
}

impl Head {
    /// The head after one more significant token (`word`: its text when it is a word).
    fn then(self, word: Option<&str>) -> Head {
        let is = |kw: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(kw));
        match self {
            Head::Start if is("create") => Head::Create,
            Head::Create | Head::CreateOrReplace if is("function") || is("procedure") => {
                Head::Routine
            }
            Head::Create if is("or") => Head::CreateOr,
            Head::CreateOr if is("replace") => Head::CreateOrReplace,
            Head::Routine => Head::Routine,
            _ => Head::Other,
        }
    }
}

/// One statement being read, at the top level or inside a routine body.
#[derive(Debug, Clone, Copy)]
struct Stmt {
    head: Head,
    /// Parentheses open in this statement.
    depth: usize,
    /// The last token was the word `begin`, outside parentheses.
    after_begin: bool,
    /// No significant token of the statement read yet.
    at_start: bool,
}

impl Default for Stmt {
    fn default() -> Self {
        Stmt {
            head: Head::Start,
            depth: 0,
            after_begin: false,
            at_start: true,
        }
    }
}

/// The top-level statement and the statement of each routine body it is inside, innermost
/// last.
#[derive(Debug, Default)]
struct Nesting {
    top: Stmt,
    bodies: Vec<Stmt>,
}

impl Nesting {
    fn current(&mut self) -> &mut Stmt {
        match self.bodies.last_mut() {
            Some(stmt) => stmt,
            None => &mut self.top,
        }
    }

    /// Reads one significant token; true when it is the `;` that ends a top-level statement.
    fn ends_statement(&mut self, kind: TokKind, word: Option<&str>) -> bool {
        let is = |kw: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(kw));
        let in_body = !self.bodies.is_empty();
        let cur = self.current();
        if in_body && cur.at_start && is("end") {
            self.bodies.pop();
            return false;
        }
        if kind == TokKind::Semicolon && cur.depth == 0 {
            *cur = Stmt::default();
            return !in_body;
        }
        cur.at_start = false;
        match kind {
            TokKind::LParen => cur.depth += 1,
            TokKind::RParen => cur.depth = cur.depth.saturating_sub(1),
            _ => {}
        }
        let outside = cur.depth == 0;
        let opens = outside && cur.head == Head::Routine && cur.after_begin && is("atomic");
        cur.after_begin = outside && is("begin");
        cur.head = cur.head.then(word);
        if opens {
            self.bodies.push(Stmt::default());
        }
        false
    }
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
    fn a_continued_escape_string_keeps_its_escapes() {
        // The server reads `'a\''` here as `a'` and a closing quote: the DROP is a statement.
        let src = "SELECT E'x'\n'a\\'' AS v; DROP TABLE t; --'";
        assert_eq!(stmts(src), vec!["SELECT E'x'\n'a\\'' AS v", "DROP TABLE t"]);
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
    fn a_body_ends_at_the_end_where_a_statement_would_start() {
        let f = "create function f() returns int language sql begin atomic";
        for body in [
            "select begin from t;",
            "select 1 as end;",
            "select 1 end;",
            "select t.end from t;",
            "select 1 as case;",
            "select case when true then 2 end;",
            ";;",
            "",
        ] {
            let src = format!("{f} {body} end; drop table t");
            let want = format!("{f} {body} end");
            assert_eq!(stmts(&src), vec![want.as_str(), "drop table t"], "{body}");
        }
        let nested = format!(
            "{f} create function g() returns int language sql begin atomic select 1; end; end"
        );
        assert_eq!(
            stmts(&format!("{nested}; drop table t")),
            vec![nested.as_str(), "drop table t"]
        );
    }

    #[test]
    fn only_create_function_and_procedure_have_bodies() {
        // A table named `function` and a column `begin` labelled `atomic`.
        assert_eq!(
            stmts("create table function as select begin atomic from t; drop table t"),
            vec![
                "create table function as select begin atomic from t",
                "drop table t"
            ]
        );
        let p = "create or replace procedure p() language sql begin atomic select 1; end";
        assert_eq!(
            stmts(&format!("{p}; drop table t")),
            vec![p, "drop table t"]
        );
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
