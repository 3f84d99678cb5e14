//! Where literals and comments end, by the rules of PostgreSQL's `scan.l`
//! (<https://github.com/postgres/postgres/blob/master/src/backend/parser/scan.l>).
//!
//! Every function takes the whole input and the offset of the literal's first byte, and returns
//! the offset just past its end (the end of the input when it is unterminated: the server then
//! rejects the text).

/// How the inside of a quoted literal is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quoting {
    /// `''` is a quote (`'…'` with standard_conforming_strings on, `U&'…'`, `"…"`).
    Doubled,
    /// `''` is a quote and `\` escapes the next byte (`E'…'`, and `'…'` with
    /// standard_conforming_strings off).
    Escaped,
    /// Nothing is escaped: the first quote ends it (`B'…'`, `X'…'`: the scanner's `xb`/`xh`
    /// states have no `xqdouble` rule, so `B'1''0'` is `B'1'` followed by `'0'`).
    Bare,
}

/// The end of the quoted run whose opening `quote` is at `s[open]`, or `None` when it is
/// unterminated.
fn closing(s: &[u8], open: usize, quote: u8, quoting: Quoting) -> Option<usize> {
    let mut i = open + 1;
    while let Some(&b) = s.get(i) {
        if b == b'\\' && quoting == Quoting::Escaped {
            i += 2;
        } else if b == quote {
            if quoting != Quoting::Bare && s.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The end of a quoted identifier (`"…"`, `U&"…"`) whose opening quote is at `s[open]`.
pub(super) fn quoted_ident_end(s: &[u8], open: usize) -> usize {
    quoted_ident_close(s, open).unwrap_or(s.len())
}

/// The end of a quoted identifier, or `None` when it is unterminated.
pub(super) fn quoted_ident_close(s: &[u8], open: usize) -> Option<usize> {
    closing(s, open, b'"', Quoting::Doubled)
}

/// Walks a string literal starting at `s[start]` (its prefix, if any) whose opening `'` is at
/// `s[open]`, continuation lines included: two literals separated only by whitespace with at
/// least one newline (and `--` comments) are one literal to the server (`quotecontinue`, SQL
/// standard), and the continued part is read as the first one is — after `E'…'`, with
/// backslash escapes. Calls `each` with every part (the first from `start`, each continuation
/// from its quote; an unterminated last one runs to the end of the input) and returns whether
/// the last one is closed.
fn walk_string(
    s: &[u8],
    (start, open): (usize, usize),
    quoting: Quoting,
    mut each: impl FnMut(std::ops::Range<usize>),
) -> bool {
    let (mut from, mut quote) = (start, open);
    loop {
        let Some(end) = closing(s, quote, b'\'', quoting) else {
            each(from..s.len());
            return false;
        };
        each(from..end);
        match continuation(s, end) {
            Some(next) => (from, quote) = (next, next),
            None => return true,
        }
    }
}

/// The parts of a string literal ([`walk_string`]) and whether the last one is closed.
pub(super) fn string_segments(
    s: &[u8],
    at: (usize, usize),
    quoting: Quoting,
) -> (Vec<std::ops::Range<usize>>, bool) {
    let mut out = Vec::new();
    let closed = walk_string(s, at, quoting, |part| out.push(part));
    (out, closed)
}

/// The end of a string literal whose opening `'` is at `s[open]`, continuation lines included
/// ([`walk_string`]); the end of the input when it is unterminated.
pub(super) fn string_end(s: &[u8], open: usize, quoting: Quoting) -> usize {
    let mut end = s.len();
    walk_string(s, (open, open), quoting, |part| end = part.end);
    end
}

/// The offset of the `'` that continues a literal closed just before `s[at]`:
/// `{whitespace_with_newline}{quote}`, where the whitespace may hold `--` comments (each runs
/// to a newline) and must hold a newline (`\n` or `\r`). `\v` is whitespace as in PostgreSQL
/// 16 and later (15 rejects it).
fn continuation(s: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    let mut newline = false;
    loop {
        match *s.get(i)? {
            b' ' | b'\t' | 0x0b | 0x0c => i += 1,
            b'\n' | b'\r' => {
                newline = true;
                i += 1;
            }
            b'-' if s.get(i + 1) == Some(&b'-') => {
                i += s[i..]
                    .iter()
                    .position(|&c| c == b'\n' || c == b'\r')
                    .unwrap_or(s.len() - i);
            }
            b'\'' if newline => return Some(i),
            _ => return None,
        }
    }
}

/// The end of a nested `/* … */` comment starting at `s[start]`.
pub(super) fn block_comment_end(s: &[u8], start: usize) -> usize {
    block_comment_close(s, start).unwrap_or(s.len())
}

/// The end of a nested `/* … */` comment, or `None` when it is unterminated.
pub(super) fn block_comment_close(s: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < s.len() {
        if s[i] == b'/' && s.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if s[i] == b'*' && s.get(i + 1) == Some(&b'/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The end of a numeric constant starting at `s[start]` (a digit, or a `.` before a digit):
/// `{integer}`, `{decimal}` or `{real}`, as PostgreSQL 14 scans them (libpg_query 15 too):
/// `1..2` is `1`, `..`, `2` (`{decimalfail}`), an exponent needs a digit (`1e'…'` is `1`
/// followed by the escape string `e'…'`: `{realfail1}`), and letters after a number start
/// the next token. (PostgreSQL 15 and later reject a letter right after a number.)
pub(super) fn number_end(s: &[u8], start: usize) -> usize {
    let digits = |i: usize| {
        s.get(i..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let mut i = start + digits(start);
    if s.get(i) == Some(&b'.') {
        if i > start && s.get(i + 1) == Some(&b'.') {
            return i;
        }
        i += 1;
        i += digits(i);
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let exp = digits(i + 1 + sign);
        if exp > 0 {
            i += 1 + sign + exp;
        }
    }
    i
}

/// Length of a dollar-quote opening delimiter (`$tag$`) starting at `s[0] == b'$'`.
fn dollar_tag_len(s: &[u8]) -> Option<usize> {
    let tag = s.get(1..)?;
    let n = tag
        .iter()
        .take_while(|&&b| super::is_ident_start(b) || b.is_ascii_digit())
        .count();
    let starts_well = tag
        .first()
        .is_some_and(|&b| b == b'$' || super::is_ident_start(b));
    (starts_well && tag.get(n) == Some(&b'$')).then_some(n + 2)
}

/// Whether the dollar-quoted string `s[start..end]` ends with its closing delimiter.
pub(super) fn dollar_string_closed(s: &[u8], start: usize, end: usize) -> bool {
    let Some(n) = dollar_tag_len(&s[start..]) else {
        return false;
    };
    end - start >= 2 * n && s[end - n..end] == s[start..start + n]
}

/// The end of a dollar-quoted string starting at `s[start]`, or `None` when no `$tag$`
/// delimiter starts there.
pub(super) fn dollar_string_end(s: &[u8], start: usize) -> Option<usize> {
    let n = dollar_tag_len(&s[start..])?;
    let tag = &s[start..start + n];
    let body = &s[start + n..];
    Some(match body.windows(n).position(|w| w == tag) {
        Some(p) => start + n + p + n,
        None => s.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_end_where_the_server_ends_them() {
        for (text, len) in [
            ("1", 1),
            ("1.5", 3),
            ("1.", 2),
            (".5", 2),
            ("1..2", 1),
            ("1.2.3", 3),
            ("1e5", 3),
            ("1e+5", 4),
            ("1e", 1),
            ("1e-", 1),
            ("1.5e'x'", 3),
            ("1abc", 1),
            ("1_000", 1),
            (".5e3", 4),
        ] {
            assert_eq!(number_end(text.as_bytes(), 0), len, "{text}");
        }
    }

    #[test]
    fn dollar_tags() {
        assert_eq!(dollar_tag_len(b"$$"), Some(2));
        assert_eq!(dollar_tag_len(b"$a1$"), Some(4));
        assert_eq!(dollar_tag_len(b"$1$"), None);
        assert_eq!(dollar_tag_len(b"$a"), None);
        assert_eq!(dollar_tag_len(b"$"), None);
    }
}
