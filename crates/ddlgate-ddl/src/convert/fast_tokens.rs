//! sqlparser tokens built from the project lexer, for the subset of SQL whose sqlparser
//! tokenisation is known exactly.
//!
//! sqlparser's tokenizer walks a `Peekable<Chars>` and allocates per token; on a typical
//! `ALTER TABLE` it costs about as much as the parse itself. The statement has already been
//! lexed by [`crate::lexer`], so for ASCII text made only of the token kinds below the
//! sqlparser tokens (and their line/column spans) are produced directly and handed to
//! `Parser::with_tokens_with_locations`. Anything outside the subset returns `None` and the
//! caller uses sqlparser's own tokenizer, so the parse — and therefore the analysis — is the
//! same either way. Tests assert token-for-token, span-for-span equality with
//! `Tokenizer::tokenize_with_location` on the fixtures and on generated input.
//!
//! The subset (PostgreSqlDialect, sqlparser 0.63, `unescape` on):
//! - whitespace `' '`, `'\t'`, `'\n'`, `'\x0b'`, `'\x0c'` (one token per character; no `'\r'`);
//! - `--` line comments;
//! - unquoted words not immediately followed by a quote (`E'…'`, `B'…'`, `b"…"`, `X'…'`,
//!   `N'…'` are prefixed literals), with sqlparser's keyword lookup;
//! - terminated `"…"` identifiers and plain `'…'` strings, `""` / `''` unescaped;
//! - integers made of ASCII digits only, not followed by an identifier character or `.`;
//! - `( ) , ; .` (a `.` before `_` is context-dependent in sqlparser: not covered) and the
//!   operators `= :: * + - / < > <= >= <> != || [ ]` standing alone (not followed by another
//!   operator character, not even the `-` of a comment).
//!
//! Not covered (fall back): block comments, dollar quotes, parameters, prefixed strings,
//! decimals and exponents, other operators, `'\r'`, non-ASCII text.

use crate::lexer::{TokKind, Token as LexTok};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Whitespace, Word};

/// Line/column walker matching sqlparser's `State` (1-based; `'\n'` starts a new line; every
/// other character advances the column by one). ASCII only, so bytes are characters.
struct Cursor {
    line: u64,
    col: u64,
}

impl Cursor {
    fn loc(&self) -> Location {
        Location {
            line: self.line,
            column: self.col,
        }
    }

    fn advance(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
    }
}

/// The contents of a terminated quoted token `q…q` with doubled quotes unescaped, or `None`
/// when the closing quote is not the token's last byte.
fn unquote(text: &str, q: u8) -> Option<String> {
    let b = text.as_bytes();
    if b.len() < 2 || b.first() != Some(&q) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() - 2);
    let mut i = 1;
    while i < b.len() {
        let c = b[i];
        if c == q {
            if b.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            // The closing quote must end the token.
            return (i + 1 == b.len()).then(|| String::from_utf8(out).ok())?;
        }
        out.push(c);
        i += 1;
    }
    None
}

/// A number token made of ASCII digits that nothing glues on to: sqlparser reads `0x1F`,
/// `1_000` or `1abc` as one token, the lexer (as PostgreSQL 14) as two.
fn plain_integer(raw: &[u8], next: Option<&u8>) -> bool {
    raw.iter().all(u8::is_ascii_digit)
        && !next.is_some_and(|&c| crate::lexer::is_ident_cont(c) || c == b'.')
}

/// `PostgreSqlDialect::is_custom_operator_part`.
const CUSTOM_OP: &[u8] = b"+-*/<>=~!@#%^&|`?";

fn operator(text: &str) -> Option<Token> {
    Some(match text {
        "=" => Token::Eq,
        "::" => Token::DoubleColon,
        "*" => Token::Mul,
        "+" => Token::Plus,
        "-" => Token::Minus,
        "/" => Token::Div,
        "<" => Token::Lt,
        ">" => Token::Gt,
        "<=" => Token::LtEq,
        ">=" => Token::GtEq,
        "<>" | "!=" => Token::Neq,
        "||" => Token::StringConcat,
        _ => return None,
    })
}

fn push(out: &mut Vec<TokenWithSpan>, cur: &mut Cursor, token: Token, raw: &[u8]) {
    let start = cur.loc();
    cur.advance(raw);
    out.push(TokenWithSpan {
        token,
        span: Span::new(start, cur.loc()),
    });
}

fn word(text: &str) -> Token {
    Token::Word(Word {
        value: text.to_owned(),
        quote_style: None,
        keyword: crate::convert::keyword::lookup(text),
    })
}

/// sqlparser's tokens for `sql`, given the project lexer's tokens of the same text (trivia
/// included), or `None` when the text leaves the subset described in the module docs.
pub(crate) fn tokens(sql: &str, lexed: &[LexTok]) -> Option<Vec<TokenWithSpan>> {
    if !sql.is_ascii() || sql.as_bytes().contains(&b'\r') {
        return None;
    }
    let bytes = sql.as_bytes();
    let mut out = Vec::with_capacity(lexed.len());
    let mut cur = Cursor { line: 1, col: 1 };
    for t in lexed {
        let text = sql.get(t.span.clone())?;
        let raw = text.as_bytes();
        match t.kind {
            TokKind::Whitespace => {
                for c in raw {
                    let ws = match c {
                        b' ' | 0x0b | 0x0c => Whitespace::Space,
                        b'\t' => Whitespace::Tab,
                        b'\n' => Whitespace::Newline,
                        _ => return None,
                    };
                    push(
                        &mut out,
                        &mut cur,
                        Token::Whitespace(ws),
                        std::slice::from_ref(c),
                    );
                }
            }
            TokKind::LineComment => {
                let comment = text.strip_prefix("--")?.to_owned();
                let ws = Whitespace::SingleLineComment {
                    comment,
                    prefix: "--".to_owned(),
                };
                push(&mut out, &mut cur, Token::Whitespace(ws), raw);
            }
            TokKind::Word => {
                if matches!(bytes.get(t.span.end), Some(b'\'' | b'"')) {
                    return None;
                }
                push(&mut out, &mut cur, word(text), raw);
            }
            TokKind::QuotedIdent => {
                let value = unquote(text, b'"')?;
                let w = Word {
                    value,
                    quote_style: Some('"'),
                    keyword: Keyword::NoKeyword,
                };
                push(&mut out, &mut cur, Token::Word(w), raw);
            }
            TokKind::String => {
                let value = unquote(text, b'\'')?;
                push(&mut out, &mut cur, Token::SingleQuotedString(value), raw);
            }
            TokKind::Number if plain_integer(raw, bytes.get(t.span.end)) => {
                push(
                    &mut out,
                    &mut cur,
                    Token::Number(text.to_owned(), false),
                    raw,
                );
            }
            TokKind::Semicolon => push(&mut out, &mut cur, Token::SemiColon, raw),
            TokKind::LParen => push(&mut out, &mut cur, Token::LParen, raw),
            TokKind::RParen => push(&mut out, &mut cur, Token::RParen, raw),
            TokKind::Comma => push(&mut out, &mut cur, Token::Comma, raw),
            TokKind::Dot if bytes.get(t.span.end) != Some(&b'_') => {
                push(&mut out, &mut cur, Token::Period, raw);
            }
            TokKind::Op if raw.iter().all(|c| matches!(c, b'[' | b']')) => {
                for c in raw {
                    let tok = if *c == b'[' {
                        Token::LBracket
                    } else {
                        Token::RBracket
                    };
                    push(&mut out, &mut cur, tok, std::slice::from_ref(c));
                }
            }
            TokKind::Op => {
                // sqlparser extends most operators with any following operator character
                // (custom operators); the lexer stops a run before `--` and `/*`.
                if bytes.get(t.span.end).is_some_and(|c| CUSTOM_OP.contains(c)) {
                    return None;
                }
                let tok = operator(text)?;
                push(&mut out, &mut cur, tok, raw);
            }
            TokKind::Number
            | TokKind::Dot
            | TokKind::BlockComment
            | TokKind::DollarString
            | TokKind::Param => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::Lexer;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    /// `Some(true)`: the fast path covers `sql` and agrees with sqlparser; `None`: not covered.
    pub(crate) fn agrees(sql: &str) -> Option<bool> {
        let lexed: Vec<LexTok> = Lexer::new(sql).collect();
        let fast = tokens(sql, &lexed)?;
        let slow = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location();
        Some(slow.is_ok_and(|s| s == fast))
    }

    #[test]
    fn covered_statements_agree() {
        for sql in [
            "ALTER TABLE orders ADD COLUMN status text DEFAULT 'pending'",
            "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"st\"\"atus\" text NOT NULL DEFAULT 'it''s'",
            "alter table t alter column c type numeric(10, 2) using c::numeric",
            "CREATE TABLE t (\n\tid bigint PRIMARY KEY, -- the key\n\ttags text[] NOT NULL\n)",
            "CREATE INDEX i ON t (a, b) WHERE a >= 1 AND b <> 2 OR c != 3 AND d <= 4",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a + b * 2 - 1 / 3 > 0 AND x || y = 'z')",
            "x\x0by\x0cz",
            "a.b.c;",
        ] {
            assert_eq!(agrees(sql), Some(true), "{sql}");
        }
    }

    /// Every statement of every rule fixture: where the fast path applies, it agrees; and it
    /// applies to most of them (or the test would prove little).
    #[test]
    fn fixtures_agree() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ddl");
        let (mut covered, mut total) = (0, 0);
        for rule in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            for f in ["bad.sql", "good.sql"] {
                let Ok(src) = std::fs::read_to_string(rule.path().join(f)) else {
                    continue;
                };
                for seg in crate::split::split(&src) {
                    let Some(span) = seg.stmt else { continue };
                    let sql = &src[span];
                    total += 1;
                    if let Some(ok) = agrees(sql) {
                        assert!(ok, "{sql}");
                        covered += 1;
                    }
                }
            }
        }
        assert!(total > 100, "{total} fixture statements");
        assert!(covered * 10 >= total * 7, "{covered}/{total} covered");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Random concatenations of fragments chosen around the subset's edges: whenever the
        /// fast path answers, sqlparser's tokenizer succeeds with the same tokens and spans.
        #[test]
        fn never_disagrees(parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..40)) {
            let sql: String = parts.concat();
            proptest::prop_assert_ne!(agrees(&sql), Some(false), "{:?}", sql);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The same over fragments that the fast path mostly covers, so that most cases
        /// compare two token streams rather than fall back.
        #[test]
        fn covered_text_agrees(parts in proptest::collection::vec(proptest::sample::select(COVERED), 0..40)) {
            let sql: String = parts.concat();
            proptest::prop_assert_ne!(agrees(&sql), Some(false), "{:?}", sql);
        }
    }

    const COVERED: &[&str] = &[
        "ALTER ",
        "table ",
        "t",
        " t2",
        "_x",
        "a$b",
        "Status",
        " e",
        " b",
        " x",
        " n",
        " u",
        "'",
        "'abc'",
        "'a''b'",
        "\"",
        "\"Q\"\"\"",
        " ",
        "\t",
        "\n",
        "\x0c",
        "--c\n",
        "0",
        " 12",
        ".",
        "(",
        ")",
        ",",
        ";",
        " = ",
        "::",
        " * ",
        " + ",
        " - ",
        " / ",
        " < ",
        " > ",
        " <= ",
        " >= ",
        " <> ",
        " != ",
        " || ",
        "[",
        "]",
        "[]",
        "text",
        "DEFAULT",
        "NOT",
        "NULL",
    ];

    const FRAGMENTS: &[&str] = &[
        "ALTER", "table", "t", "_x", "a$b", "Status", "e", "E", "b", "B", "x", "X", "n", "N", "u",
        "U", "r", "q", "L", "&", "'", "''", "'abc'", "'a''b'", "\"", "\"\"", "\"Q\"", " ", " ",
        "\t", "\n", "\r", "\x0b", "\x0c", "--c\n", "--", "/*", "*/", "0", "12", "0x1F", "1.5", ".",
        "._", "_", "1e5", "e5", "(", ")", ",", ";", "=", "==", "=>", "::", ":", "*", "+", "-", "/",
        "<", ">", "<=", ">=", "<>", "!=", "!", "||", "|", "[", "]", "$", "$1", "$$", "%", "#", "@",
        "?", "->", "->>", "é", "\\", "~", "^", "`", "{", "}", "1_000",
    ];

    #[test]
    fn uncovered_statements_fall_back() {
        for sql in [
            "select E'a'",
            "select b'01'",
            "select b\"x\"",
            "select x'ff'",
            "select n'x'",
            "select U&'x'",
            "select 1.5",
            "select 1e5",
            "select 1_000",
            "select $1",
            "do $$ begin end $$",
            "select /* c */ 1",
            "select a\r\nfrom b",
            "select 'é'",
            "select t._x",
            "select 'unterminated",
            "select \"unterminated\"\"",
            "select a->>'b'",
            "select a=-1",
        ] {
            assert_eq!(agrees(sql), None, "{sql}");
        }
    }
}
