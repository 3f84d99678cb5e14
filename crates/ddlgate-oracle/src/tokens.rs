//! Both scanners' tokens projected onto one alphabet, so that they can be compared span for
//! span.
//!
//! The projection keeps every distinction that decides where a statement ends (comments,
//! words, quoted identifiers, strings, dollar-quoted strings, numbers, parameters, `;`, `(` and
//! `)`) and folds the rest (operators, `,`, `.`, `::`, `..`, stray characters) into
//! [`Class::Other`]; a run of adjacent `Other` tokens becomes one, because the two scanners cut
//! operator runs differently (PostgreSQL's `+`/`-` rules) without it mattering to anything
//! else.

use ddlgate_ddl::lexer::{Lexer, TokKind};
use pg_query::protobuf::{ScanToken, Token};
use std::ops::Range;

/// What a lexeme is, in both scanners' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `-- …` or `/* … */`.
    Comment,
    /// An unquoted identifier or key word.
    Word,
    /// `"…"` or `U&"…"`.
    QuotedIdent,
    /// `'…'`, `E'…'`, `B'…'`, `X'…'`, `N'…'`, `U&'…'`, with any continuation lines.
    String,
    /// `$tag$…$tag$`.
    DollarString,
    /// A numeric constant.
    Number,
    /// `$n`.
    Param,
    /// `;`
    Semicolon,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// Operators and other punctuation.
    Other,
}

/// One projected token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexeme {
    /// What it is.
    pub class: Class,
    /// Where it is, in bytes.
    pub span: Range<usize>,
}

/// A token of PostgreSQL's scanner, with a trustworthy span.
#[derive(Debug, Clone)]
pub struct PgToken {
    /// The scanner's token number (`pg_query::protobuf::Token`, or the character itself).
    pub token: i32,
    /// Whether it is a key word (of any category).
    pub keyword: bool,
    /// Where it is, in bytes.
    pub span: Range<usize>,
}

impl PgToken {
    /// A comment token (libpg_query reports comments as tokens).
    #[must_use]
    pub fn is_comment(&self) -> bool {
        self.token == Token::SqlComment as i32 || self.token == Token::CComment as i32
    }

    /// Whether this is the token `t`.
    #[must_use]
    pub fn is(&self, t: Token) -> bool {
        self.token == t as i32
    }
}

/// Whitespace to PostgreSQL 16 and later (15 lacks `\v`, which [`crate::reading`] replaces).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// libpg_query's tokens of `sql` (see [`crate::reading`] for the text to give it), or `None`
/// when its scanner rejects the text (an unterminated literal or comment, a bad escape, …).
///
/// libpg_query reports the end of a `U&"…"` or `U&'…'` token wrongly (at its start): those
/// end where the next token starts, less the whitespace in between. Every other end is the
/// scanner's own.
#[must_use]
pub fn postgres(sql: &str) -> Option<Vec<PgToken>> {
    let scanned = pg_query::scan(sql).ok()?;
    let starts: Vec<usize> = scanned.tokens.iter().map(|t| offset(t.start)).collect();
    let tokens = scanned.tokens.iter().enumerate().map(|(i, t)| {
        let start = offset(t.start);
        let end = if is_unicode_escaped(t) {
            let next = starts.get(i + 1).copied().unwrap_or(sql.len());
            let gap = sql.as_bytes()[start..next].iter().rev();
            next - gap.take_while(|b| is_space(**b)).count()
        } else {
            offset(t.end)
        };
        PgToken {
            token: t.token,
            keyword: t.keyword_kind != 0,
            span: start..end,
        }
    });
    Some(tokens.collect())
}

fn is_unicode_escaped(t: &ScanToken) -> bool {
    t.token == Token::Uident as i32 || t.token == Token::Usconst as i32
}

fn offset(v: i32) -> usize {
    usize::try_from(v).unwrap_or(0)
}

/// PostgreSQL's tokens projected. `N'…'` comes out of the scanner as the key word `NCHAR`
/// (spanning the `N`) followed by the string: the two become one string.
#[must_use]
pub fn project_postgres(sql: &str, tokens: &[PgToken]) -> Vec<Lexeme> {
    let mut out: Vec<Lexeme> = Vec::with_capacity(tokens.len());
    for t in tokens {
        let class = postgres_class(sql, t);
        if let Some(last) = out.last_mut() {
            let national = last.class == Class::Word && last.span.len() == 1 && {
                let prev = &sql.as_bytes()[last.span.start];
                matches!(prev, b'n' | b'N') && sql.as_bytes().get(t.span.start) == Some(&b'\'')
            };
            if last.span.end == t.span.start && class == Class::String && national {
                last.class = Class::String;
                last.span.end = t.span.end;
                continue;
            }
        }
        out.push(Lexeme {
            class,
            span: t.span.clone(),
        });
    }
    merge_others(out)
}

fn postgres_class(sql: &str, t: &PgToken) -> Class {
    let first = sql.as_bytes().get(t.span.start).copied();
    match t.token {
        40 => Class::LParen,
        41 => Class::RParen,
        59 => Class::Semicolon,
        _ if t.keyword => Class::Word,
        _ if t.is_comment() => Class::Comment,
        _ if t.is(Token::Ident) && first == Some(b'"') => Class::QuotedIdent,
        _ if t.is(Token::Ident) => Class::Word,
        _ if t.is(Token::Uident) => Class::QuotedIdent,
        _ if t.is(Token::Sconst) && first == Some(b'$') => Class::DollarString,
        _ if [Token::Sconst, Token::Usconst, Token::Bconst, Token::Xconst]
            .iter()
            .any(|k| t.is(*k)) =>
        {
            Class::String
        }
        _ if t.is(Token::Iconst) || t.is(Token::Fconst) => Class::Number,
        _ if t.is(Token::Param) => Class::Param,
        _ => Class::Other,
    }
}

/// Our lexer's tokens of `sql` (standard_conforming_strings on), projected.
#[must_use]
pub fn project_ours(sql: &str) -> Vec<Lexeme> {
    let lexemes = Lexer::new(sql).filter_map(|t| {
        let class = match t.kind {
            TokKind::Whitespace => return None,
            TokKind::LineComment | TokKind::BlockComment => Class::Comment,
            TokKind::Word => Class::Word,
            TokKind::QuotedIdent => Class::QuotedIdent,
            TokKind::String => Class::String,
            TokKind::DollarString => Class::DollarString,
            TokKind::Number => Class::Number,
            TokKind::Param => Class::Param,
            TokKind::Semicolon => Class::Semicolon,
            TokKind::LParen => Class::LParen,
            TokKind::RParen => Class::RParen,
            TokKind::Comma | TokKind::Dot | TokKind::Op => Class::Other,
        };
        Some(Lexeme {
            class,
            span: t.span,
        })
    });
    merge_others(lexemes.collect())
}

fn merge_others(lexemes: Vec<Lexeme>) -> Vec<Lexeme> {
    let mut out: Vec<Lexeme> = Vec::with_capacity(lexemes.len());
    for l in lexemes {
        match out.last_mut() {
            Some(last)
                if last.class == Class::Other
                    && l.class == Class::Other
                    && last.span.end == l.span.start =>
            {
                last.span.end = l.span.end;
            }
            _ => out.push(l),
        }
    }
    out
}
