//! A client's statement text as the server's scanner will read it, made into standard UTF-8
//! SQL for analysis.
//!
//! Two session settings change how PostgreSQL tokenizes the same bytes:
//! - `client_encoding`: the server converts the text to its own encoding *before* scanning.
//!   In SJIS, BIG5, GBK, UHC, GB18030 and JOHAB the second byte of a character can be `0x5C`
//!   (`\`), which is no backslash to the server
//!   (<https://www.postgresql.org/docs/current/multibyte.html>);
//! - `standard_conforming_strings = off`: `'…'` takes backslash escapes like `E'…'`.
//!
//! [`prepare`] reads the bytes with the session's [`Lexing`]: multibyte characters are cut where
//! the server's own `pg_*_mblen` cuts them, and under `standard_conforming_strings = off` every
//! plain string that holds a backslash is given its `E` prefix, so that the text means the same
//! under the default settings the analyser assumes. A text without a `\` byte reads the same
//! under every setting ([`ambiguous`] is false for it).

use crate::lexer::{Lexer, Strings, TokKind};

/// A client encoding, as far as tokenizing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientEncoding {
    /// Every byte of a multibyte character has its high bit set (UTF8, the EUC and ISO/WIN
    /// families, SQL_ASCII, …): ASCII bytes are always ASCII characters.
    #[default]
    AsciiSafe,
    /// `SJIS` and `SHIFT_JIS_2004`.
    Sjis,
    /// `BIG5`.
    Big5,
    /// `GBK`.
    Gbk,
    /// `UHC`.
    Uhc,
    /// `GB18030`.
    Gb18030,
    /// `JOHAB`.
    Johab,
}

impl ClientEncoding {
    /// From the name the server reports in `ParameterStatus` (case-insensitive).
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        match name.to_ascii_uppercase().as_str() {
            "SJIS" | "SHIFT_JIS_2004" => Self::Sjis,
            "BIG5" => Self::Big5,
            "GBK" => Self::Gbk,
            "UHC" => Self::Uhc,
            "GB18030" => Self::Gb18030,
            "JOHAB" => Self::Johab,
            _ => Self::AsciiSafe,
        }
    }

    /// Length of the character starting with `s[0]`, as the server's `pg_encoding_mblen`.
    fn char_len(self, s: &[u8]) -> usize {
        let b = s[0];
        if b < 0x80 {
            return 1;
        }
        match self {
            Self::AsciiSafe => 1,
            // Half-width katakana are one byte.
            Self::Sjis if (0xA1..=0xDF).contains(&b) => 1,
            Self::Gb18030 if s.get(1).is_some_and(|c| (0x30..=0x39).contains(c)) => 4,
            _ => 2,
        }
    }

    fn decoder(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            Self::Sjis => Some(encoding_rs::SHIFT_JIS),
            Self::Big5 => Some(encoding_rs::BIG5),
            Self::Gbk => Some(encoding_rs::GBK),
            Self::Uhc => Some(encoding_rs::EUC_KR),
            Self::Gb18030 => Some(encoding_rs::GB18030),
            Self::Johab | Self::AsciiSafe => None,
        }
    }
}

/// How the server tokenizes this session's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lexing {
    /// `standard_conforming_strings`.
    pub strings: Strings,
    /// `client_encoding`.
    pub encoding: ClientEncoding,
}

/// A statement text ready for analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Standard SQL (UTF-8, standard-conforming strings) meaning what the server will read.
    pub sql: String,
    /// Whether `sql` is byte for byte what the client sent (then spans into it are spans into
    /// the client's text). A rewritten text means the same to the server under the session's
    /// settings; a lossy one (not decodable) must be refused whole if anything is refused.
    pub exact: bool,
    /// Whether `sql` can stand in for the client's text when sent to the server (only plain
    /// strings were given an `E`): false when characters were decoded or replaced.
    pub sendable: bool,
}

/// Reads `bytes` as the server will under `lexing` (see the module docs).
#[must_use]
pub fn prepare(bytes: &[u8], lexing: Lexing) -> Prepared {
    let (text, decoded) = decode(bytes, lexing.encoding);
    let exact = decoded.is_none_or(|d| d) && text.as_bytes() == bytes;
    let lossless = decoded.unwrap_or(exact);
    if lexing.strings == Strings::Standard || !text.contains('\\') {
        return Prepared {
            sql: text,
            exact,
            sendable: exact,
        };
    }
    let (sql, national) = escape_plain_strings(&text);
    Prepared {
        sql,
        exact: false,
        sendable: lossless && exact && !national,
    }
}

/// Whether another `standard_conforming_strings` or `client_encoding` could make the server
/// tokenize `bytes` differently: only a text with a `\` byte can be read two ways.
#[must_use]
pub fn ambiguous(bytes: &[u8]) -> bool {
    let Some(first) = memchr_backslash(bytes) else {
        return false;
    };
    // A backslash right after a high byte may be the second byte of a character.
    if bytes[..first].iter().any(|b| *b >= 0x80) {
        return true;
    }
    let text = String::from_utf8_lossy(bytes);
    let spans = |strings| -> Vec<(TokKind, std::ops::Range<usize>)> {
        Lexer::with(&text, strings)
            .map(|t| (t.kind, t.span))
            .collect()
    };
    spans(Strings::Standard) != spans(Strings::BackslashEscapes)
}

fn memchr_backslash(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\\')
}

/// The text, and `Some(lossless)` when it went through a multibyte decoder (`None`: read as
/// UTF-8 directly).
fn decode(bytes: &[u8], encoding: ClientEncoding) -> (String, Option<bool>) {
    if encoding == ClientEncoding::AsciiSafe || bytes.is_ascii() {
        return (String::from_utf8_lossy(bytes).into_owned(), None);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut lossless = true;
    let mut i = 0;
    while i < bytes.len() {
        let n = encoding.char_len(&bytes[i..]).min(bytes.len() - i);
        let ch = &bytes[i..i + n];
        if n == 1 && ch[0] < 0x80 {
            out.push(char::from(ch[0]));
        } else {
            match encoding
                .decoder()
                .and_then(|d| d.decode_without_bom_handling_and_without_replacement(ch))
            {
                Some(s) if s.chars().count() == 1 => out.push_str(&s),
                _ => {
                    lossless = false;
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
        }
        i += n;
    }
    (out, Some(lossless))
}

/// Under `standard_conforming_strings = off`: the text with an `E` before every plain (or
/// national) string that holds a backslash in any of its segments, so that it reads the same
/// with the setting on (a string continued on later lines is one token, read like its first
/// segment). Returns whether a national string (`N'…'`, whose `N` is dropped) was rewritten.
fn escape_plain_strings(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len() + 8);
    let mut at = 0;
    let mut national = false;
    for tok in Lexer::with(text, Strings::BackslashEscapes) {
        if tok.kind != TokKind::String {
            continue;
        }
        let t = tok.text(text);
        let plain = t.starts_with('\'');
        let nat =
            t.len() > 1 && t.as_bytes()[0].eq_ignore_ascii_case(&b'n') && t[1..].starts_with('\'');
        if (plain || nat) && t.contains('\\') {
            out.push_str(&text[at..tok.span.start]);
            let glued = text[..tok.span.start]
                .bytes()
                .last()
                .is_some_and(crate::lexer::is_ident_cont);
            out.push_str(if glued { " E" } else { "E" });
            out.push_str(if nat { &t[1..] } else { t });
            national |= nat;
            at = tok.span.end;
        }
    }
    out.push_str(&text[at..]);
    (out, national)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::split;

    fn stmts(sql: &str) -> Vec<String> {
        split(sql)
            .iter()
            .filter_map(|s| s.stmt.clone().map(|r| sql[r].to_owned()))
            .collect()
    }

    const OFF: Lexing = Lexing {
        strings: Strings::BackslashEscapes,
        encoding: ClientEncoding::AsciiSafe,
    };

    #[test]
    fn with_standard_strings_off_a_backslash_quote_does_not_end_the_string() {
        let attack = br"SELECT 'a\', '; DROP TABLE t; --'";
        let on = prepare(attack, Lexing::default());
        assert_eq!(stmts(&on.sql).len(), 1, "on: one SELECT");
        let off = prepare(attack, OFF);
        assert_eq!(off.sql, r"SELECT E'a\', '; DROP TABLE t; --'");
        assert_eq!(stmts(&off.sql), vec![r"SELECT E'a\', '", "DROP TABLE t"]);
        assert!(!off.exact && off.sendable);
        assert!(ambiguous(attack));
    }

    #[test]
    fn rewriting_keeps_typed_literals_and_continuations() {
        let off = prepare(b"SELECT date'2020\\-01-01', 'a\\'b'\n'c\\'d', 'plain'", OFF);
        assert_eq!(
            off.sql,
            "SELECT date E'2020\\-01-01', E'a\\'b'\n'c\\'d', 'plain'"
        );
        // A backslash in a continued segment only: the first segment takes the `E`.
        let continued = prepare(b"SELECT 'ab'\n'a\\'' AS v; SELECT 'after'", OFF);
        assert_eq!(continued.sql, "SELECT E'ab'\n'a\\'' AS v; SELECT 'after'");
        assert_eq!(stmts(&continued.sql).len(), 2);
        // Two strings without a newline between are two strings (a syntax error).
        let two = prepare(b"SELECT 'a' 'b\\'c'", OFF);
        assert_eq!(two.sql, "SELECT 'a' E'b\\'c'");
        let national = prepare(b"SELECT N'a\\'b'", OFF);
        assert_eq!(national.sql, "SELECT E'a\\'b'");
        assert!(!national.sendable);
    }

    #[test]
    fn texts_without_a_backslash_read_the_same_everywhere() {
        for text in [
            &b"SELECT 'a'; DROP TABLE t"[..],
            b"SELECT '\xe8\xa1\xa8'",
            b"-- x\rDROP TABLE t",
        ] {
            assert!(!ambiguous(text));
            let p = prepare(text, OFF);
            assert_eq!(p.sql.as_bytes(), text);
            assert!(p.exact);
        }
    }

    #[test]
    fn a_multibyte_second_byte_is_no_backslash() {
        // 0x95 0x5C is one SJIS character (表); to a byte-level lexer it ends in a backslash.
        let attack = b"SELECT E'\x95\x5c' ; DROP TABLE t; -- '";
        let sjis = Lexing {
            encoding: ClientEncoding::from_name("SJIS"),
            ..Lexing::default()
        };
        let p = prepare(attack, sjis);
        assert_eq!(p.sql, "SELECT E'表' ; DROP TABLE t; -- '");
        assert_eq!(stmts(&p.sql), vec!["SELECT E'表'", "DROP TABLE t"]);
        assert!(!p.exact && !p.sendable);
        assert!(ambiguous(attack));
        // GB18030 four-byte characters, BIG5 and GBK two-byte ones.
        let gb = prepare(
            b"SELECT E'\x81\x30\x81\x30\x95\x5c'",
            Lexing {
                encoding: ClientEncoding::Gb18030,
                ..Lexing::default()
            },
        );
        assert_eq!(
            gb.sql.chars().filter(|c| *c == '\\').count(),
            0,
            "{}",
            gb.sql
        );
        for enc in ["BIG5", "GBK", "UHC", "JOHAB"] {
            let lexing = Lexing {
                encoding: ClientEncoding::from_name(enc),
                ..Lexing::default()
            };
            let p = prepare(b"SELECT E'\xa4\x5c'; DROP TABLE t", lexing);
            assert!(!p.sql.contains('\\'), "{enc}: {}", p.sql);
            assert_eq!(stmts(&p.sql).len(), 2, "{enc}: {}", p.sql);
        }
    }
}
