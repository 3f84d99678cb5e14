//! A small byte-level SQL lexer that knows exactly as much of PostgreSQL's lexical
//! structure as the splitter, the classifier, the fallback table and `redact` need.
//!
//! Covered (PostgreSQL docs, "Lexical Structure", §4.1):
//! - whitespace, `--` line comments (ended by a newline *or* a carriage return, as in the
//!   server's scanner: `non_newline [^\n\r]`) and nested `/* … */` block comments (§4.1.5);
//! - standard strings `'…'` with `''` escapes, or with backslash escapes too when the session
//!   has `standard_conforming_strings = off` ([`Lexer::with`], §4.1.2.1);
//! - escape strings `E'…'` with backslash escapes (§4.1.2.2), `N'…'`, `U&'…'`, and the bit
//!   strings `B'…'`/`X'…'` (which the first quote ends: no `''`);
//! - string continuation (§4.1.2.2): `'a'⏎'b'` — two strings separated only by whitespace
//!   holding a newline, `--` comments allowed — is *one* literal, and one [`TokKind::String`]
//!   token; the continued part is read as the first (after `E'…'`, with backslash escapes);
//! - dollar-quoted strings `$tag$…$tag$` (§4.1.2.4), distinguished from `$1` parameters and
//!   from `$` inside identifiers;
//! - quoted identifiers `"…"` with `""` escapes, and `U&"…"`/`U&'…'` (§4.1.1);
//! - numbers as PostgreSQL 14 scans them (`1..2` is `1`, `..`, `2`; `1e'…'` is `1` then the
//!   escape string `e'…'`; later versions reject a letter right after a number).
//!
//! The lexer is checked token for token against PostgreSQL's own scanner (libpg_query) by
//! `crates/ddlgate-oracle`.
//!
//! Unterminated strings and comments run to the end of the input; the lexer never fails and
//! never panics, whatever the bytes (it works on `&[u8]`; every delimiter it looks for is ASCII,
//! so token boundaries always fall on UTF-8 character boundaries).

mod literal;

use literal::Quoting;
use std::ops::Range;

/// The kind of a lexical token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    /// Spaces, tabs, newlines.
    Whitespace,
    /// `-- …` up to the end of the line.
    LineComment,
    /// `/* … */`, possibly nested.
    BlockComment,
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
    /// A positional parameter `$n`.
    Param,
    /// `;`
    Semicolon,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// Any other operator or punctuation character sequence (also `..` and a lone `$`).
    Op,
}

impl TokKind {
    /// Whitespace and comments.
    #[must_use]
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokKind::Whitespace | TokKind::LineComment | TokKind::BlockComment
        )
    }
}

/// One token: its kind and byte range in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokKind,
    /// Where it is, in bytes.
    pub span: Range<usize>,
}

impl Token {
    /// The token's text.
    #[must_use]
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.span.clone()).unwrap_or("")
    }

    /// True when this is an unquoted word equal (ASCII case-insensitively) to `kw`.
    #[must_use]
    pub fn is_kw(&self, src: &str, kw: &str) -> bool {
        self.kind == TokKind::Word && self.text(src).eq_ignore_ascii_case(kw)
    }
}

/// How the server reads plain string literals: `standard_conforming_strings`
/// (<https://www.postgresql.org/docs/current/runtime-config-compatible.html#GUC-STANDARD-CONFORMING-STRINGS>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strings {
    /// `on` (the default since PostgreSQL 9.1): backslashes are literal in `'…'`.
    #[default]
    Standard,
    /// `off`: `'…'` takes backslash escapes like `E'…'`.
    BackslashEscapes,
}

/// Iterator over the tokens of `src`, trivia included.
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    strings: Strings,
    /// Whether the last token ran to the end without its closing delimiter.
    open: bool,
}

impl<'a> Lexer<'a> {
    /// Start lexing `src` at byte 0.
    #[must_use]
    pub fn new(src: &'a str) -> Self {
        Self::with(src, Strings::Standard)
    }

    /// Start lexing `src` at byte 0, reading plain strings as `strings` says.
    #[must_use]
    pub fn with(src: &'a str, strings: Strings) -> Self {
        Lexer {
            src: src.as_bytes(),
            pos: 0,
            strings,
            open: false,
        }
    }

    /// Start lexing `src` at byte `pos` (must be a token boundary).
    #[must_use]
    pub fn at(src: &'a str, pos: usize) -> Self {
        Lexer {
            src: src.as_bytes(),
            pos: pos.min(src.len()),
            strings: Strings::Standard,
            open: false,
        }
    }

    /// Whether the token just returned is a string, quoted identifier, dollar quote or block
    /// comment that runs to the end of the input without its closing delimiter (the server
    /// would reject the text).
    #[must_use]
    pub fn unterminated(&self) -> bool {
        self.open
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    /// How plain (and national) strings are quoted under this lexer's settings.
    fn plain(&self) -> Quoting {
        plain_quoting(self.strings)
    }
}

/// Is `b` a byte that may start an unquoted identifier? (Letters, `_`, non-ASCII.)
#[must_use]
pub fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

/// Is `b` a byte that may continue an unquoted identifier? (Adds digits and `$`.)
#[must_use]
pub fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Operator characters (PostgreSQL's `op_chars` and `self` punctuation, with the characters
/// no rule accepts).
const OPS: &[u8] = b"+-*/<>=~!@#%^&|`?:[]{}\\";

impl Lexer<'_> {
    /// The token starting at `start`: a literal with a one- or two-letter prefix, or `None`.
    fn prefixed(&self, start: usize) -> Option<(TokKind, usize)> {
        let s = self.src;
        let (kind, quoting, open) = prefix_of(s, start, self.plain())?;
        let end = match kind {
            TokKind::QuotedIdent => literal::quoted_ident_end(s, start + open),
            _ => literal::string_end(s, start + open, quoting),
        };
        Some((kind, end))
    }

    /// The kind and end of the token starting at `start` (`start < src.len()`).
    fn token_at(&self, start: usize) -> (TokKind, usize) {
        let s = self.src;
        let b = s[start];
        let next = self.peek(1);
        if let Some(prefixed) = self.prefixed(start) {
            return prefixed;
        }
        match b {
            _ if is_space(b) => {
                let n = s[start..].iter().take_while(|&&c| is_space(c)).count();
                (TokKind::Whitespace, start + n)
            }
            b'-' if next == Some(b'-') => {
                let n = s[start..]
                    .iter()
                    .position(|&c| c == b'\n' || c == b'\r')
                    .unwrap_or(s.len() - start);
                (TokKind::LineComment, start + n)
            }
            b'/' if next == Some(b'*') => {
                (TokKind::BlockComment, literal::block_comment_end(s, start))
            }
            b'\'' => (TokKind::String, literal::string_end(s, start, self.plain())),
            b'"' => (TokKind::QuotedIdent, literal::quoted_ident_end(s, start)),
            b'$' => self.dollar(start),
            _ if is_ident_start(b) => {
                let n = s[start..].iter().take_while(|&&c| is_ident_cont(c)).count();
                (TokKind::Word, start + n)
            }
            b'0'..=b'9' => (TokKind::Number, literal::number_end(s, start)),
            b'.' if next.is_some_and(|c| c.is_ascii_digit()) => {
                (TokKind::Number, literal::number_end(s, start))
            }
            // `..` is one token (`DOT_DOT`), as in `1..2`.
            b'.' if next == Some(b'.') => (TokKind::Op, start + 2),
            b'.' => (TokKind::Dot, start + 1),
            b';' => (TokKind::Semicolon, start + 1),
            b'(' => (TokKind::LParen, start + 1),
            b')' => (TokKind::RParen, start + 1),
            b',' => (TokKind::Comma, start + 1),
            _ if OPS.contains(&b) => (TokKind::Op, start + operator_len(&s[start..])),
            // Anything else (a stray byte): one UTF-8 character, so spans stay on char
            // boundaries.
            _ => (TokKind::Op, start + utf8_len(b)),
        }
    }

    /// `$tag$…$tag$`, a parameter `$n`, or a lone `$`.
    fn dollar(&self, start: usize) -> (TokKind, usize) {
        if let Some(end) = literal::dollar_string_end(self.src, start) {
            return (TokKind::DollarString, end);
        }
        let digits = self.src[start + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let kind = if digits > 0 {
            TokKind::Param
        } else {
            TokKind::Op
        };
        (kind, start + 1 + digits)
    }
}

/// The kind, quoting and prefix length of a literal with a one- or two-letter prefix
/// starting at `s[start]`.
fn prefix_of(s: &[u8], start: usize, plain: Quoting) -> Option<(TokKind, Quoting, usize)> {
    Some(
        match (s[start], *s.get(start + 1)?, s.get(start + 2).copied()) {
            (b'e' | b'E', b'\'', _) => (TokKind::String, Quoting::Escaped, 1),
            (b'b' | b'B' | b'x' | b'X', b'\'', _) => (TokKind::String, Quoting::Bare, 1),
            // `N'…'` is a national character string: read like a plain one.
            (b'n' | b'N', b'\'', _) => (TokKind::String, plain, 1),
            (b'u' | b'U', b'&', Some(b'\'')) => (TokKind::String, Quoting::Doubled, 2),
            (b'u' | b'U', b'&', Some(b'"')) => (TokKind::QuotedIdent, Quoting::Doubled, 2),
            _ => return None,
        },
    )
}

/// The parts of the string token `tok` of `src` (one token to the server): the first with its
/// prefix, then each segment that continues it on a later line (comments and whitespace
/// between belong to none), and whether the last is closed.
#[must_use]
pub fn string_segments(src: &str, tok: &Token, strings: Strings) -> (Vec<Range<usize>>, bool) {
    let s = &src.as_bytes()[..tok.span.end];
    string_parts(s, tok.span.start, plain_quoting(strings))
        .unwrap_or_else(|| (vec![tok.span.clone()], false))
}

/// How plain (and national) strings are quoted under `strings`.
fn plain_quoting(strings: Strings) -> Quoting {
    match strings {
        Strings::Standard => Quoting::Doubled,
        Strings::BackslashEscapes => Quoting::Escaped,
    }
}

/// The parts of the string literal starting at `s[start]` and whether the last is closed;
/// `None` when no string starts there.
fn string_parts(s: &[u8], start: usize, plain: Quoting) -> Option<(Vec<Range<usize>>, bool)> {
    let (quoting, open) = match prefix_of(s, start, plain) {
        Some((TokKind::String, quoting, n)) => (quoting, start + n),
        _ if s.get(start) == Some(&b'\'') => (plain, start),
        _ => return None,
    };
    Some(literal::string_segments(s, (start, open), quoting))
}

/// Whether the token of `kind` spanning `start..end` of `s` (ending at the end of the input)
/// lacks its closing delimiter.
fn unclosed(s: &[u8], kind: TokKind, start: usize, plain: Quoting) -> bool {
    match kind {
        TokKind::String => string_parts(s, start, plain).is_some_and(|(_, closed)| !closed),
        TokKind::QuotedIdent => {
            let open = if s[start] == b'"' { start } else { start + 2 };
            literal::quoted_ident_close(s, open).is_none()
        }
        TokKind::BlockComment => literal::block_comment_close(s, start).is_none(),
        TokKind::DollarString => !literal::dollar_string_closed(s, start, s.len()),
        _ => false,
    }
}

/// Length of the run of operator characters at the start of `s`: it never swallows the start
/// of a comment.
fn operator_len(s: &[u8]) -> usize {
    let mut n = 1;
    while let Some(&c) = s.get(n) {
        if !OPS.contains(&c)
            || (c == b'-' && s.get(n + 1) == Some(&b'-'))
            || (c == b'/' && s.get(n + 1) == Some(&b'*'))
        {
            break;
        }
        n += 1;
    }
    n
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        if start >= self.src.len() {
            return None;
        }
        let (kind, end) = self.token_at(start);
        let end = end.max(start + 1).min(self.src.len());
        self.pos = end;
        self.open = end == self.src.len() && unclosed(self.src, kind, start, self.plain());
        Some(Token {
            kind,
            span: start..end,
        })
    }
}

fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Significant (non-trivia) tokens of `src`.
pub fn significant(src: &str) -> impl Iterator<Item = Token> + '_ {
    Lexer::new(src).filter(|t| !t.kind.is_trivia())
}

/// The value of an unquoted word or quoted identifier, as PostgreSQL folds it: unquoted words
/// are lower-cased (ASCII only, like PostgreSQL's `downcase_identifier`), quoted ones keep their
/// case and lose the doubled quotes.
#[must_use]
pub fn ident_value(tok: &Token, src: &str) -> String {
    let text = tok.text(src);
    match tok.kind {
        TokKind::QuotedIdent => {
            let inner = text.strip_prefix("U&").unwrap_or(text);
            let inner = inner.strip_prefix('"').unwrap_or(inner);
            let inner = inner.strip_suffix('"').unwrap_or(inner);
            inner.replace("\"\"", "\"")
        }
        _ => text.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_tokens_are_reported() {
        for (src, open) in [
            ("'abc", true),
            ("'abc'", false),
            ("'a''", true),
            ("E'a\\'", true),
            ("'a'\n'b", true),
            ("'a'\n'b'", false),
            ("$x$ a $y$", true),
            ("$x$ a $x$", false),
            ("$x$", true),
            ("/* /* */", true),
            ("/* */", false),
            ("\"id", true),
            ("U&\"id\"", false),
            ("x", false),
        ] {
            let mut lexer = Lexer::new(src);
            let mut last = false;
            while lexer.next().is_some() {
                last = lexer.unterminated();
            }
            assert_eq!(last, open, "{src}");
        }
    }

    #[test]
    fn a_continued_string_is_one_token_of_several_segments() {
        let src = "SELECT E'x'\n -- c\n'a\\'' AS v";
        let tok = Lexer::new(src)
            .find(|t| t.kind == TokKind::String)
            .expect("string");
        assert_eq!(tok.text(src), "E'x'\n -- c\n'a\\''");
        let (parts, closed) = string_segments(src, &tok, Strings::Standard);
        let parts: Vec<&str> = parts.into_iter().map(|r| &src[r]).collect();
        assert_eq!(parts, ["E'x'", "'a\\''"]);
        assert!(closed);
    }

    fn kinds(s: &str) -> Vec<(TokKind, &str)> {
        Lexer::new(s)
            .map(|t| (t.kind, &s[t.span.clone()]))
            .collect()
    }

    #[test]
    fn strings_and_quotes() {
        let k = kinds(r#"E'it\'s;' 'a''b;' "x"";y" $f$ ; $f$ $1 a$b"#);
        let sig: Vec<_> = k.into_iter().filter(|(k, _)| !k.is_trivia()).collect();
        assert_eq!(
            sig,
            vec![
                (TokKind::String, r"E'it\'s;'"),
                (TokKind::String, "'a''b;'"),
                (TokKind::QuotedIdent, "\"x\"\";y\""),
                (TokKind::DollarString, "$f$ ; $f$"),
                (TokKind::Param, "$1"),
                (TokKind::Word, "a$b"),
            ]
        );
    }

    #[test]
    fn nested_comments() {
        let k = kinds("/* a /* b; */ c; */x--y;\nz");
        assert_eq!(k[0], (TokKind::BlockComment, "/* a /* b; */ c; */"));
        assert_eq!(k[1], (TokKind::Word, "x"));
        assert_eq!(k[2], (TokKind::LineComment, "--y;"));
    }

    #[test]
    fn unterminated_runs_to_end() {
        assert_eq!(kinds("'abc"), vec![(TokKind::String, "'abc")]);
        assert_eq!(kinds("$$abc"), vec![(TokKind::DollarString, "$$abc")]);
        assert_eq!(kinds("/* /* */"), vec![(TokKind::BlockComment, "/* /* */")]);
    }

    #[test]
    fn a_string_continued_on_the_next_line_is_one_literal_read_as_the_first() {
        // After E'', the continuation is read with backslash escapes: `\'` is a quote and the
        // `'` after it ends the literal, so the server runs the DROP.
        fn sig(s: &str) -> Vec<TokKind> {
            significant(s).map(|t| t.kind).collect()
        }
        let attack = "select E''\n'a\\'';drop table t;--'";
        let k = kinds(attack);
        assert_eq!(k[2], (TokKind::String, "E''\n'a\\''"));
        assert_eq!(k[3], (TokKind::Semicolon, ";"));
        // Whitespace with a newline (and `--` comments, `\r`, `\f`, `\v`) continues; without a
        // newline, or across a block comment, it does not.
        for glue in ["\n", " -- c\n ", "\r", " \t\x0c\x0b\n\n", "\n-- c\r--d\n  "] {
            let text = format!("select 'a'{glue}'b'");
            assert_eq!(sig(&text), [TokKind::Word, TokKind::String], "{text:?}");
        }
        for glue in [" ", " /* c\n */ ", "\n/**/"] {
            let text = format!("select 'a'{glue}'b'");
            let two = [TokKind::Word, TokKind::String, TokKind::String];
            assert_eq!(sig(&text), two, "{text:?}");
        }
        // Every quoted kind continues, dollar quotes do not.
        for first in ["b'1'", "x'1'", "n'a'", "U&'a'", "E'a'"] {
            assert_eq!(sig(&format!("{first}\n'b'")), [TokKind::String], "{first}");
        }
        assert_eq!(sig("$$a$$\n'b'"), [TokKind::DollarString, TokKind::String]);
    }

    #[test]
    fn bit_strings_end_at_their_first_quote() {
        assert_eq!(
            kinds("b'1''0'"),
            vec![(TokKind::String, "b'1'"), (TokKind::String, "'0'")]
        );
        assert_eq!(kinds("X''''")[0], (TokKind::String, "X''"));
    }

    #[test]
    fn numbers_stop_where_the_server_stops_them() {
        // `1e'…'` is the number 1 and an escape string (PostgreSQL 14; 15+ reject it).
        let k = kinds("1e'\\'';drop table t");
        assert_eq!(k[0], (TokKind::Number, "1"));
        assert_eq!(k[1], (TokKind::String, "e'\\''"));
        assert_eq!(k[2], (TokKind::Semicolon, ";"));
        assert_eq!(
            kinds("1..2"),
            vec![
                (TokKind::Number, "1"),
                (TokKind::Op, ".."),
                (TokKind::Number, "2")
            ]
        );
        assert_eq!(kinds("0x'ab'")[1], (TokKind::String, "x'ab'"));
        assert_eq!(kinds("1abc")[1], (TokKind::Word, "abc"));
        assert_eq!(kinds("$ $1")[0], (TokKind::Op, "$"));
    }

    #[test]
    fn ident_values() {
        let src = r#"Foo "Bar""x""#;
        let toks: Vec<_> = significant(src).collect();
        assert_eq!(ident_value(&toks[0], src), "foo");
        assert_eq!(ident_value(&toks[1], src), "Bar\"x");
    }
}
