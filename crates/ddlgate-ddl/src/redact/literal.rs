//! The value of a string constant, as the server reads it (PostgreSQL docs, "String
//! Constants", §4.1.2): doubled quotes, `E'…'` backslash escapes (also plain strings under
//! `standard_conforming_strings = off`), `U&'…'` Unicode escapes with an optional `UESCAPE`,
//! dollar quotes, and continued segments read like the first one.
//!
//! Made for looking for secrets, not for executing: a segment without its closing delimiter
//! is read to the end, and an escape the server would reject is kept as written.

use crate::lexer::{Strings, Token};

/// How the characters between the quotes of a segment are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// `''` only.
    Plain,
    /// `''` and backslash escapes.
    Backslash,
    /// `''` and Unicode escapes introduced by this character.
    Unicode(char),
    /// A dollar-quoted body: nothing is escaped.
    Dollar,
}

/// A string in the text: its segments (the first and those continuing it, with any comments
/// between them), whether the last one runs to the end of the input without its closing
/// delimiter, and the character of a `UESCAPE '…'` clause after it.
pub(super) struct Literal<'t> {
    pub segments: &'t [Token],
    pub open: bool,
    pub uescape: Option<char>,
}

/// The value of `lit` in `sql`.
pub(super) fn value(sql: &str, lit: &Literal<'_>, strings: Strings) -> String {
    let mut out = String::new();
    let mut escapes = None;
    for (i, seg) in lit.segments.iter().enumerate() {
        if seg.kind.is_trivia() {
            continue;
        }
        let text = seg.text(sql);
        let closed = !(lit.open && i + 1 == lit.segments.len());
        let (how, inner) = match escapes {
            Some(how) if text.starts_with('\'') => (how, quoted_inner(text, closed)),
            _ => first_segment(text, strings, lit.uescape, closed),
        };
        escapes = Some(how);
        out.push_str(&unescape(inner, how));
    }
    out
}

/// How a segment that starts a string is read, and its characters between the delimiters.
fn first_segment(
    text: &str,
    strings: Strings,
    uescape: Option<char>,
    closed: bool,
) -> (Escapes, &str) {
    let b = text.as_bytes();
    let plain = match strings {
        Strings::Standard => Escapes::Plain,
        Strings::BackslashEscapes => Escapes::Backslash,
    };
    match b.first().map(u8::to_ascii_lowercase) {
        Some(b'$') => (Escapes::Dollar, dollar_inner(text, closed)),
        Some(b'e') => (Escapes::Backslash, quoted_inner(&text[1..], closed)),
        Some(b'u') if b.get(1) == Some(&b'&') => (
            Escapes::Unicode(uescape.unwrap_or('\\')),
            quoted_inner(&text[2..], closed),
        ),
        // Bit strings: no escapes; national strings read like plain ones.
        Some(b'b' | b'x') => (Escapes::Plain, quoted_inner(&text[1..], closed)),
        Some(b'n') => (plain, quoted_inner(&text[1..], closed)),
        _ => (plain, quoted_inner(text, closed)),
    }
}

/// `'…'` without its quotes.
fn quoted_inner(text: &str, closed: bool) -> &str {
    let inner = text.strip_prefix('\'').unwrap_or(text);
    match inner.strip_suffix('\'') {
        Some(body) if closed => body,
        _ => inner,
    }
}

/// `$tag$…$tag$` without its delimiters.
fn dollar_inner(text: &str, closed: bool) -> &str {
    let Some(open) = text.get(1..).and_then(|s| s.find('$')).map(|p| p + 2) else {
        return "";
    };
    let body = &text[open..];
    match body.strip_suffix(&text[..open]) {
        Some(inner) if closed => inner,
        _ => body,
    }
}

fn unescape(inner: &str, how: Escapes) -> String {
    match how {
        Escapes::Dollar => inner.to_owned(),
        Escapes::Plain => inner.replace("''", "'"),
        Escapes::Backslash => backslash(inner),
        Escapes::Unicode(esc) => unicode(&inner.replace("''", "'"), esc),
    }
}

/// `E'…'` escapes: `\b \f \n \r \t`, octal and hex bytes, `\u`/`\U` code points, any other
/// character as itself. Bytes that are no UTF-8 become U+FFFD.
fn backslash(inner: &str) -> String {
    let b = inner.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1).copied()) {
            (b'\'', Some(b'\'')) => {
                out.push(b'\'');
                i += 2;
            }
            (b'\\', Some(c)) => i += 1 + escape(&b[i + 1..], c, &mut out),
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One backslash escape starting with `c == rest[0]`: appends its value, returns its length.
fn escape(rest: &[u8], c: u8, out: &mut Vec<u8>) -> usize {
    let digits = |n: usize, radix: u32| {
        let len = rest[1..]
            .iter()
            .take(n)
            .take_while(|d| char::from(**d).is_digit(radix))
            .count();
        let text = std::str::from_utf8(&rest[1..=len]).unwrap_or("");
        (len, u32::from_str_radix(text, radix).ok())
    };
    match c {
        b'b' => out.push(8),
        b'f' => out.push(12),
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'0'..=b'7' => {
            let len = 1 + rest[1..]
                .iter()
                .take(2)
                .take_while(|d| (b'0'..=b'7').contains(d))
                .count();
            let v = u32::from_str_radix(std::str::from_utf8(&rest[..len]).unwrap_or("0"), 8);
            out.push(v.unwrap_or(0) as u8);
            return len;
        }
        b'x' | b'u' | b'U' => {
            let (most, least) = match c {
                b'x' => (2, 1),
                b'u' => (4, 4),
                _ => (8, 8),
            };
            match digits(most, 16) {
                (len, Some(v)) if len >= least => {
                    if c == b'x' {
                        out.push(v as u8);
                    } else {
                        push_char(out, v);
                    }
                    return 1 + len;
                }
                _ => out.push(c),
            }
        }
        other => out.push(other),
    }
    1
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// `U&'…'` escapes: `<esc>XXXX`, `<esc>+XXXXXX`, and the escape character doubled.
fn unicode(inner: &str, esc: char) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(p) = rest.find(esc) {
        out.push_str(&rest[..p]);
        let after = &rest[p + esc.len_utf8()..];
        let (n, skip) = if after.starts_with(esc) {
            out.push(esc);
            rest = &after[esc.len_utf8()..];
            continue;
        } else if let Some(plus) = after.strip_prefix('+') {
            (plus.get(..6), 7)
        } else {
            (after.get(..4), 4)
        };
        match n.and_then(|h| u32::from_str_radix(h, 16).ok()) {
            Some(code) => {
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                rest = &after[skip..];
            }
            None => {
                out.push(esc);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{string_segments, Lexer, TokKind};

    fn read(sql: &str, strings: Strings) -> String {
        let mut lexer = Lexer::with(sql, strings);
        let (mut toks, mut open) = (Vec::new(), false);
        while let Some(t) = lexer.next() {
            match t.kind {
                TokKind::String => {
                    let parts = string_segments(sql, &t, strings).0;
                    toks.extend(parts.into_iter().map(|span| Token {
                        kind: TokKind::String,
                        span,
                    }));
                }
                TokKind::DollarString => toks.push(t),
                _ => continue,
            }
            open = lexer.unterminated();
        }
        let lit = Literal {
            segments: &toks,
            open,
            uescape: None,
        };
        value(sql, &lit, strings)
    }

    #[test]
    fn values_are_read_as_the_server_reads_them() {
        let on = Strings::Standard;
        assert_eq!(read("'a''b'", on), "a'b");
        assert_eq!(read("'a\\b'", on), "a\\b");
        assert_eq!(read("'a\\'b'", Strings::BackslashEscapes), "a'b");
        assert_eq!(read(r"E'pa\163s\x77o\u0072d\n'", on), "password\n");
        assert_eq!(read(r"E'\U0001F600\q'", on), "😀q");
        assert_eq!(read("E'se'\n'\\'cret'", on), "se'cret");
        assert_eq!(read("U&'pa\\0073\\+000073word\\\\'", on), "password\\");
        assert_eq!(read("$x$ a $ b $x$", on), " a $ b ");
        assert_eq!(read("$x$ open", on), " open");
        assert_eq!(read("'open", on), "open");
        assert_eq!(read("'open''", on), "open'");
        assert_eq!(read("E'a\\''", on), "a'");
        assert_eq!(read("E'a\\'", on), "a'");
        assert_eq!(read("N'a''b'", on), "a'b");
    }

    #[test]
    fn a_uescape_character_replaces_the_backslash() {
        let sql = "U&'pa!0073sword'";
        let toks: Vec<Token> = Lexer::new(sql).collect();
        let lit = Literal {
            segments: &toks,
            open: false,
            uescape: Some('!'),
        };
        assert_eq!(value(sql, &lit, Strings::Standard), "password");
    }
}
