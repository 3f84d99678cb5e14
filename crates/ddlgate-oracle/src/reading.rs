//! The text as libpg_query must be given it to read it as the server does.
//!
//! Two differences between libpg_query 15 and the server's scanner are undone here, both by
//! replacing bytes with spaces, so that every span into the given text is a span into the
//! original:
//! - `\v` is whitespace to PostgreSQL 16 and later (in `{space}` and `{horiz_space}`); 15
//!   rejects it outside literals and comments. Every `\v` becomes a space.
//! - libpg_query reports `--` comments as tokens, and its patched `scan.l` (patch
//!   `04_lexer_comments_as_tokens`) no longer lets a string continue across one. The server
//!   does: `'a' -- c⏎ 'b'` is one literal, and after `E'…'` the continuation is read with
//!   backslash escapes. A `--` comment in the whitespace between a string's closing quote and
//!   a `'` that continues it (the gap holds only whitespace and `--` comments, with a newline:
//!   `{whitespace_with_newline}`) becomes spaces, and the text is read again, until none is
//!   left.

use crate::tokens::{self, PgToken};
use pg_query::protobuf::Token;

/// The text given to libpg_query and its tokens.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The text, with the bytes above replaced by spaces (same length as the original).
    pub text: String,
    /// libpg_query's tokens of `text`.
    pub tokens: Vec<PgToken>,
}

/// How the server reads `sql`, or `None` when its scanner rejects it.
#[must_use]
pub fn postgres(sql: &str) -> Option<Reading> {
    let mut text = sql.replace('\u{b}', " ");
    loop {
        let tokens = tokens::postgres(&text)?;
        let Some(comments) = continuation_comments(&text, &tokens) else {
            return Some(Reading { text, tokens });
        };
        let mut bytes = std::mem::take(&mut text).into_bytes();
        for c in comments {
            bytes[c].fill(b' ');
        }
        // Only ASCII `--…` comment bytes up to a newline became spaces, and a comment's
        // non-ASCII characters are whole inside it.
        text = String::from_utf8(bytes).ok()?;
    }
}

/// The `--` comments between the first string that the server continues across them and its
/// continuation.
fn continuation_comments(text: &str, tokens: &[PgToken]) -> Option<Vec<std::ops::Range<usize>>> {
    let bytes = text.as_bytes();
    for (i, t) in tokens.iter().enumerate() {
        if !continues(bytes, t) {
            continue;
        }
        let rest = &tokens[i + 1..];
        let n = rest.iter().take_while(|c| c.is(Token::SqlComment)).count();
        let Some(next) = rest.get(n) else { break };
        let gap = &bytes[t.span.end..next.span.start];
        let spaces_and_comments = {
            let mut in_gap = gap.to_vec();
            for c in &rest[..n] {
                in_gap[c.span.start - t.span.end..c.span.end - t.span.end].fill(b' ');
            }
            in_gap
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c))
        };
        let newline = gap.iter().any(|b| matches!(b, b'\n' | b'\r'));
        if n > 0 && spaces_and_comments && newline && bytes.get(next.span.start) == Some(&b'\'') {
            return Some(rest[..n].iter().map(|c| c.span.clone()).collect());
        }
    }
    None
}

/// A string literal whose closing quote the server looks past for a continuation: every
/// quoted kind except dollar quotes.
fn continues(bytes: &[u8], t: &PgToken) -> bool {
    let quoted = [Token::Sconst, Token::Usconst, Token::Bconst, Token::Xconst]
        .iter()
        .any(|k| t.is(*k));
    quoted && bytes.get(t.span.start) != Some(&b'$')
}
