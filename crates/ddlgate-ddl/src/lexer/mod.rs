//! A small byte-level SQL lexer that knows exactly as much of PostgreSQL's lexical
//! structure as the splitter, the classifier, the fallback table and `redact` need.
//!
//! Covered (PostgreSQL docs, "Lexical Structure", §4.1):
//! - whitespace, `--` line comments (ended by a newline *or* a carriage return, as in the
//!   server's scanner: `non_newline [^\n\r]`) and nested `/* … */` block comments (§4.1.5);
//! - standard strings `'…'` with `''` escapes, or with backslash escapes too when the session
//!   has `standard_conforming_strings = off` ([`Lexer::with`], §4.1.2.1);
//! - escape strings `E'…'` with backslash escapes (§4.1.2.2), and the `B''`/`X''`/`N''`
//!   prefixes;
//! - dollar-quoted strings `$tag$…$tag$` (§4.1.2.4), distinguished from `$1` parameters and
//!   from `$` inside identifiers;
//! - quoted identifiers `"…"` with `""` escapes, and `U&"…"`/`U&'…'` (§4.1.1).
//!
//! Unterminated strings and comments run to the end of the input; the lexer never fails and
//! never panics, whatever the bytes (it works on `&[u8]`; every delimiter it looks for is ASCII,
//! so token boundaries always fall on UTF-8 character boundaries).

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
    /// `'…'`, `E'…'`, `B'…'`, `X'…'`, `N'…'`, `U&'…'`.
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
    /// Any other operator or punctuation character sequence.
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
        }
    }

    /// Start lexing `src` at byte `pos` (must be a token boundary).
    #[must_use]
    pub fn at(src: &'a str, pos: usize) -> Self {
        Lexer {
            src: src.as_bytes(),
            pos: pos.min(src.len()),
            strings: Strings::Standard,
        }
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
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

/// Length of a dollar-quote opening delimiter (`$tag$`) starting at `s[0] == b'$'`.
fn dollar_tag_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'$') {
        return None;
    }
    let mut i = 1;
    if let Some(&b) = s.get(1) {
        if b == b'$' {
            return Some(2);
        }
        if !is_ident_start(b) {
            return None;
        }
    }
    while let Some(&b) = s.get(i) {
        if b == b'$' {
            return Some(i + 1);
        }
        if !(is_ident_start(b) || b.is_ascii_digit()) {
            return None;
        }
        i += 1;
    }
    None
}

fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

impl Lexer<'_> {
    fn scan_quoted(&mut self, start: usize, quote: u8, backslash: bool) -> usize {
        // self.pos is at the opening quote.
        let mut i = self.pos + 1;
        while i < self.src.len() {
            let b = self.src[i];
            if backslash && b == b'\\' {
                i += 2;
                continue;
            }
            if b == quote {
                if self.src.get(i + 1) == Some(&quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i += 1;
        }
        let _ = start;
        self.src.len()
    }

    fn scan_block_comment(&self) -> usize {
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.src.len() {
            if self.src[i] == b'/' && self.src.get(i + 1) == Some(&b'*') {
                depth += 1;
                i += 2;
            } else if self.src[i] == b'*' && self.src.get(i + 1) == Some(&b'/') {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            } else {
                i += 1;
            }
        }
        self.src.len()
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let start = self.pos;
        let b = *self.src.get(start)?;
        let s = &self.src[start..];
        let (kind, end) = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                let n = s
                    .iter()
                    .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
                    .unwrap_or(s.len());
                (TokKind::Whitespace, start + n)
            }
            b'-' if self.peek(1) == Some(b'-') => {
                let n = s
                    .iter()
                    .position(|&c| c == b'\n' || c == b'\r')
                    .unwrap_or(s.len());
                (TokKind::LineComment, start + n)
            }
            b'/' if self.peek(1) == Some(b'*') => {
                (TokKind::BlockComment, self.scan_block_comment())
            }
            b'\'' => {
                let escapes = self.strings == Strings::BackslashEscapes;
                (TokKind::String, self.scan_quoted(start, b'\'', escapes))
            }
            b'"' => (TokKind::QuotedIdent, self.scan_quoted(start, b'"', false)),
            b'e' | b'E' if self.peek(1) == Some(b'\'') => {
                self.pos += 1;
                (TokKind::String, self.scan_quoted(start, b'\'', true))
            }
            b'b' | b'B' | b'x' | b'X' if self.peek(1) == Some(b'\'') => {
                self.pos += 1;
                (TokKind::String, self.scan_quoted(start, b'\'', false))
            }
            // `N'…'` is a national character string: read like a plain one.
            b'n' | b'N' if self.peek(1) == Some(b'\'') => {
                self.pos += 1;
                let escapes = self.strings == Strings::BackslashEscapes;
                (TokKind::String, self.scan_quoted(start, b'\'', escapes))
            }
            b'u' | b'U'
                if self.peek(1) == Some(b'&') && matches!(self.peek(2), Some(b'\'' | b'"')) =>
            {
                let q = self.peek(2).unwrap_or(b'\'');
                self.pos += 2;
                let kind = if q == b'"' {
                    TokKind::QuotedIdent
                } else {
                    TokKind::String
                };
                (kind, self.scan_quoted(start, q, false))
            }
            b'$' => {
                if let Some(n) = dollar_tag_len(s) {
                    let tag = &s[..n];
                    match find_sub(&s[n..], tag) {
                        Some(p) => (TokKind::DollarString, start + n + p + n),
                        None => (TokKind::DollarString, self.src.len()),
                    }
                } else {
                    let n = 1 + s[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    (TokKind::Param, start + n)
                }
            }
            _ if is_ident_start(b) => {
                let n = s.iter().position(|&c| !is_ident_cont(c)).unwrap_or(s.len());
                (TokKind::Word, start + n)
            }
            b'0'..=b'9' => {
                let n = s
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || c == b'.' || c == b'_'))
                    .unwrap_or(s.len());
                (TokKind::Number, start + n)
            }
            b';' => (TokKind::Semicolon, start + 1),
            b'(' => (TokKind::LParen, start + 1),
            b')' => (TokKind::RParen, start + 1),
            b',' => (TokKind::Comma, start + 1),
            b'.' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) => {
                let n = 1 + s[1..]
                    .iter()
                    .position(|&c| !(c.is_ascii_alphanumeric() || c == b'.'))
                    .unwrap_or(s.len() - 1);
                (TokKind::Number, start + n)
            }
            b'.' => (TokKind::Dot, start + 1),
            _ => {
                // Operators: a run of operator characters, but never swallow the start of a
                // comment. Anything else (including stray bytes) is a one-byte token.
                const OPS: &[u8] = b"+-*/<>=~!@#%^&|`?:[]{}\\";
                if OPS.contains(&b) {
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
                    (TokKind::Op, start + n)
                } else {
                    // Advance by one UTF-8 character so spans stay on char boundaries.
                    let n = utf8_len(b);
                    (TokKind::Op, (start + n).min(self.src.len()))
                }
            }
        };
        let end = end.max(start + 1).min(self.src.len());
        self.pos = end;
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
    fn ident_values() {
        let src = r#"Foo "Bar""x""#;
        let toks: Vec<_> = significant(src).collect();
        assert_eq!(ident_value(&toks[0], src), "foo");
        assert_eq!(ident_value(&toks[1], src), "Bar\"x");
    }
}
