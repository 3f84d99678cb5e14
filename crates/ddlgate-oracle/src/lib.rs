//! # ddlgate-oracle — PostgreSQL's own scanner and grammar as the oracle for ddlgate's lexer
//!
//! Dev-only. The gateway finds statement boundaries in a simple Query with
//! `ddlgate_ddl::split`; if those boundaries differed from the server's, a client could hide a
//! statement from the analysis. libpg_query (through the `pg_query` crate, 0.8: PostgreSQL 15's
//! `scan.l` and `gram.y`) is the server's real scanner and grammar, so [`check`] compares ours
//! with it, on the corpus and the generated texts of `tests/` and in the `split_vs_postgres`
//! fuzz target.
//!
//! ## The comparison rule
//!
//! Everything is read with `standard_conforming_strings = on` (libpg_query's and the server's
//! default) and as UTF-8. For a text `sql`:
//!
//! 1. A text holding a NUL byte is not compared: a Query's text is a C string (the server
//!    rejects a message with bytes after its first NUL), and so is libpg_query's input.
//! 2. The text is given to libpg_query as the server would read it ([`reading`]): a `\v` is
//!    a space (PostgreSQL 16 and later read it as whitespace wherever a space is; 15 rejects
//!    it outside literals and comments, and our lexer reads it as 16 does), and a `--` comment
//!    between a string and its continuation line is blanked (libpg_query's scanner, which
//!    reports comments as tokens, no longer continues a string across one; the server does).
//!    Both keep the length, so spans stay comparable; our side reads the text as given.
//! 3. **Tokens.** When PostgreSQL's scanner accepts the text, both token streams projected onto
//!    [`tokens::Class`] (comments, words, quoted identifiers, strings with their continuation
//!    lines, dollar-quoted strings, numbers, parameters, `;`, `(`, `)`, and `Other` for runs of
//!    operators and punctuation) must be equal, span for span. When the scanner rejects the
//!    text (an unterminated literal or comment, a bad escape), so does the server: it runs
//!    nothing, and any reading of ours is safe.
//! 4. **Statements, by the grammar.** When `split_with_parser` accepts the text (the server's
//!    `raw_parser`, which `exec_simple_query` runs on the whole text before executing any of
//!    it), our statements must be exactly its statements, each trimmed to its first and last
//!    significant (non-comment) token. This is the rule that matters: a text the grammar
//!    rejects runs nothing, so where PostgreSQL reports a syntax error the gateway may split
//!    any way it likes (and fails closed).
//! 5. **Statements, by the scanner.** When the scanner accepts the text, our statements that
//!    hold a key word must be exactly `split_with_scanner`'s, trimmed the same way.
//!    `split_with_scanner` is a scanner-only approximation, so this is compared only where its
//!    rules are PostgreSQL's: it ends a statement at every `;` outside parentheses, drops the
//!    statements without a key word (hence the filter), knows no `BEGIN ATOMIC` bodies (texts
//!    with those two key words next to each other are left to rule 4), lets a stray `)` wrap
//!    its depth counter and drops the last statement when a `(` is left open (texts with
//!    either are left out).
//!
//! Versions: libpg_query 15 undoes PostgreSQL 15's rejection of a letter right after a number
//! (its patch `09_allow_trailing_junk`), so it reads `1e'…'` as `1` and the escape string
//! `e'…'`, as PostgreSQL 14 does and as our lexer does (15 and later reject the text).
//! PostgreSQL 16's `0x1F`, `0o17`, `0b101` and `1_000` are one number there and two tokens
//! here; neither reading puts a quote, comment, `;` or parenthesis anywhere else.
//!
//! Where the `scs = off` reading matters (a `\` in a plain string), the gateway reads the text
//! through `ddlgate_ddl::client_text::prepare`, which rewrites it into the `scs = on` form
//! compared here; that rewriting and the multibyte client encodings are checked by
//! `client_text`'s unit tests and against a real server by the integration tests
//! (`tests/integration/tests/bypass.rs`).

pub mod reading;
pub mod statements;
pub mod tokens;

use std::fmt;
use std::ops::Range;

/// Which comparisons [`check`] could make for a text (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// PostgreSQL's scanner accepted the text: tokens compared (rule 3).
    pub tokens: bool,
    /// PostgreSQL's grammar accepted the text: statements compared (rule 4).
    pub parser: bool,
    /// `split_with_scanner`'s statements compared (rule 5).
    pub scanner: bool,
}

/// Which oracle disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oracle {
    /// `pg_query::scan` (rule 3).
    Scanner,
    /// `pg_query::split_with_parser` (rule 4).
    Parser,
    /// `pg_query::split_with_scanner` (rule 5).
    ScannerSplit,
}

/// A disagreement between ddlgate and PostgreSQL on one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The oracle that disagreed.
    pub oracle: Oracle,
    /// The text.
    pub sql: String,
    /// Our reading (tokens or statements), rendered.
    pub ours: String,
    /// PostgreSQL's reading, rendered the same way.
    pub postgres: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} disagrees on {:?}\n  ours:     {}\n  postgres: {}",
            self.oracle, self.sql, self.ours, self.postgres
        )
    }
}

impl std::error::Error for Divergence {}

/// Compares our lexer and splitter with PostgreSQL's on `sql` (the rule is in the module
/// docs).
///
/// # Errors
/// The first [`Divergence`] found.
pub fn check(sql: &str) -> Result<Checked, Divergence> {
    let mut checked = Checked::default();
    if sql.contains('\0') {
        return Ok(checked);
    }
    let Some(reading::Reading {
        text: pg_text,
        tokens: pg_tokens,
    }) = reading::postgres(sql)
    else {
        return Ok(checked);
    };
    let diverge = |oracle, ours: String, postgres: String| Divergence {
        oracle,
        sql: sql.to_owned(),
        ours,
        postgres,
    };
    let ours = tokens::project_ours(sql);
    let theirs = tokens::project_postgres(&pg_text, &pg_tokens);
    if ours != theirs {
        return Err(diverge(
            Oracle::Scanner,
            render_lexemes(sql, &ours),
            render_lexemes(sql, &theirs),
        ));
    }
    checked.tokens = true;
    let our_statements = statements::ours(sql);
    if let Some(theirs) = statements::parser(&pg_text, &pg_tokens) {
        if our_statements != theirs {
            return Err(diverge(
                Oracle::Parser,
                render_spans(sql, &our_statements),
                render_spans(sql, &theirs),
            ));
        }
        checked.parser = true;
    }
    if let Some(theirs) = statements::scanner(&pg_text, &pg_tokens) {
        let kept = statements::with_keyword(&our_statements, &pg_tokens);
        if kept != theirs {
            return Err(diverge(
                Oracle::ScannerSplit,
                render_spans(sql, &kept),
                render_spans(sql, &theirs),
            ));
        }
        checked.scanner = true;
    }
    Ok(checked)
}

fn render_lexemes(sql: &str, lexemes: &[tokens::Lexeme]) -> String {
    let shown: Vec<String> = lexemes
        .iter()
        .map(|l| format!("{:?}{:?}", l.class, sql.get(l.span.clone()).unwrap_or("?")))
        .collect();
    shown.join(" ")
}

fn render_spans(sql: &str, spans: &[Range<usize>]) -> String {
    let shown: Vec<String> = spans
        .iter()
        .map(|s| format!("{:?}", sql.get(s.clone()).unwrap_or("?")))
        .collect();
    format!("[{}]", shown.join(", "))
}
