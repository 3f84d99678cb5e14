//! Secrets out of every text ddlgate logs or shows: `CREATE/ALTER ROLE … PASSWORD '…'` must
//! never be logged verbatim (PostgreSQL docs, `CREATE ROLE`: "the password … will be logged
//! in cleartext in the server log and the client's command history"), nor a user mapping's
//! `password` option, a subscription's connection string, or a `DO` block that sets one.
//!
//! The text is read as the server reads it ([`redact_with`] takes the session's
//! `standard_conforming_strings`), string by string — a string continued on the next line is
//! one string (one lexer token, split into its segments by [`crate::lexer::string_segments`]) — and a whole string is replaced by
//! [`REDACTED`] when
//! 1. it is the value of something named like a secret: `PASSWORD 'x'`, `OPTIONS (password
//!    'x')`, `SET password 'x'`, `ADD "password" 'x'`, `app.secret = 'x'` (names in
//!    `secret`, quoted or not, compared in lower case either way);
//! 2. its value mentions one: a libpq connection string or URI with a password
//!    (`CONNECTION 'host=h password=x'`, `dblink_connect('postgresql://u:x@h')`), or a body
//!    with the word `password` (`DO $$ … PASSWORD … $$`, `CREATE FUNCTION … AS '…'`);
//! 3. its value, read as SQL, has anything to redact (a string nested in a body, whose
//!    escapes could spell a secret the plain value does not show), to a depth of
//!    [`MAX_DEPTH`] strings, past which a string that may hold another is replaced.
//!
//! A comment that mentions a secret is replaced too, and when the text ends inside a string,
//! a quoted identifier or a comment, everything from its opening is replaced: the server
//! would read it some other way, or not at all. Not covered: a secret built at run time
//! (`format('… PASSWORD %L', $1)`, `'pass' || 'word'`): only its pieces are in the text.

mod literal;
mod secret;
#[cfg(test)]
mod tests;

use std::ops::Range;

use crate::lexer::{string_segments, Lexer, Strings, TokKind, Token};
use literal::Literal;

/// The replacement written over a secret.
pub const REDACTED: &str = "'<redacted>'";

/// How many strings deep a string inside a string is read for secrets.
pub const MAX_DEPTH: usize = 6;

/// [`redact_with`] for text read with `standard_conforming_strings = on` (the default, and
/// the form [`crate::client_text::prepare`] gives every statement the analyser sees).
#[must_use]
pub fn redact(sql: &str) -> String {
    redact_with(sql, Strings::Standard)
}

/// `sql` with every secret (see the module docs) replaced by [`REDACTED`], read with the
/// session's `strings` setting; everything else is kept byte for byte. `sql` is text as the
/// server reads it after its encoding conversion (see [`crate::client_text`]).
#[must_use]
pub fn redact_with(sql: &str, strings: Strings) -> String {
    let edits = Walk::new(sql, strings, 0).edits();
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for (span, marker) in edits {
        out.push_str(sql.get(last..span.start).unwrap_or(""));
        out.push_str(marker);
        last = span.end;
    }
    out.push_str(sql.get(last..).unwrap_or(""));
    out
}

/// Does `sql` (standard strings) set a password: a string right after the key word
/// `PASSWORD`? (What the `password-in-role` rule reports; [`redact`] blanks more.)
#[must_use]
pub fn has_password(sql: &str) -> bool {
    let mut armed = false;
    for tok in crate::lexer::significant(sql) {
        match tok.kind {
            TokKind::Word if tok.is_kw(sql, "password") => armed = true,
            TokKind::Op if armed && tok.text(sql) == "=" => {}
            TokKind::String | TokKind::DollarString if armed => return true,
            _ => armed = false,
        }
    }
    false
}

/// Where a walk stands: after the name of a secret (and an `=` or `TO`), a value is one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Armed {
    No,
    Name,
    Connector,
}

/// One text read for secrets, `depth` strings deep.
struct Walk<'a> {
    sql: &'a str,
    strings: Strings,
    depth: usize,
    /// Tokens other than whitespace.
    toks: Vec<Token>,
    /// The start of a last token that runs to the end without its closing delimiter.
    open: Option<usize>,
}

impl<'a> Walk<'a> {
    fn new(sql: &'a str, strings: Strings, depth: usize) -> Self {
        let mut lexer = Lexer::with(sql, strings);
        let (mut toks, mut open) = (Vec::new(), None);
        while let Some(tok) = lexer.next() {
            if tok.kind == TokKind::String {
                // A string continued on later lines: one token, read segment by segment.
                let (segments, _) = string_segments(sql, &tok, strings);
                toks.extend(segments.into_iter().map(|span| Token {
                    kind: TokKind::String,
                    span,
                }));
            } else if tok.kind != TokKind::Whitespace || lexer.unterminated() {
                toks.push(tok);
            }
            if lexer.unterminated() {
                open = toks.last().map(|t| t.span.start);
            }
        }
        Walk {
            sql,
            strings,
            depth,
            toks,
            open,
        }
    }

    /// The spans to replace, in order, with their replacements.
    fn edits(&self) -> Vec<(Range<usize>, &'static str)> {
        let mut edits = Vec::new();
        let mut armed = Armed::No;
        let mut i = 0;
        while let Some(tok) = self.toks.get(i) {
            if self.depth == 0 && self.open == Some(tok.span.start) {
                // Top level: whatever follows the opening of an unfinished token.
                edits.push((tok.span.start..self.sql.len(), REDACTED));
                break;
            }
            let text = tok.text(self.sql);
            match tok.kind {
                TokKind::LineComment | TokKind::BlockComment => {
                    if secret::mentions_secret(text) {
                        edits.push((tok.span.clone(), comment_marker(tok.kind)));
                    }
                    i += 1;
                    continue;
                }
                TokKind::String | TokKind::DollarString => {
                    let (n, lit) = self.literal(i);
                    if self.depth == 0 && lit.open {
                        edits.push((tok.span.start..self.sql.len(), REDACTED));
                        break;
                    }
                    let end = lit.segments.last().map_or(tok.span.end, |t| t.span.end);
                    if armed != Armed::No || self.is_secret(&lit) {
                        edits.push((tok.span.start..end, REDACTED));
                    }
                    armed = Armed::No;
                    i += n;
                    continue;
                }
                TokKind::Number | TokKind::QuotedIdent if armed != Armed::No => {
                    edits.push((tok.span.clone(), REDACTED));
                    armed = Armed::No;
                }
                _ => armed = next_armed(armed, tok, self.sql),
            }
            i += 1;
        }
        edits
    }

    /// The string starting at token `i`: how many tokens it spans (its segments and the
    /// comments between them), and the string. Strings with only comments and whitespace
    /// between are taken as one (more than the server's continuation: redacting both is
    /// right either way).
    fn literal(&self, i: usize) -> (usize, Literal<'_>) {
        let is_string = |t: &Token| matches!(t.kind, TokKind::String | TokKind::DollarString);
        let mut end = i + 1;
        let mut j = i + 1;
        while let Some(t) = self.toks.get(j) {
            if is_string(t) {
                end = j + 1;
            } else if !t.kind.is_trivia() {
                break;
            }
            j += 1;
        }
        let segments = &self.toks[i..end];
        let open = segments.last().map(|t| t.span.start) == self.open;
        let uescape = self.uescape(end);
        let lit = Literal {
            segments,
            open,
            uescape,
        };
        (end - i, lit)
    }

    /// The character of a `UESCAPE 'c'` clause starting at token `j`.
    fn uescape(&self, j: usize) -> Option<char> {
        let kw = self.toks.get(j)?;
        let lit = self.toks.get(j + 1)?;
        if !kw.is_kw(self.sql, "uescape") || lit.kind != TokKind::String {
            return None;
        }
        let text = lit.text(self.sql);
        let mut chars = text.strip_prefix('\'')?.chars();
        chars.next()
    }

    /// Whether the value of `lit` is a secret, or holds one (rules 2 and 3 of the module docs).
    fn is_secret(&self, lit: &Literal<'_>) -> bool {
        holds_secret(&literal::value(self.sql, lit, self.strings), self.depth)
    }
}

/// Rules 2 and 3 of the module docs for a string's value found `depth` strings deep.
fn holds_secret(value: &str, depth: usize) -> bool {
    if secret::mentions_secret(value) {
        return true;
    }
    // Only a string nested in this one can hide a secret from the plain reading above: by
    // escapes, or by continuing on another line.
    let backslash = value.contains('\\');
    if !(backslash || value.contains('\'') || value.to_ascii_lowercase().contains("uescape")) {
        return false;
    }
    if depth + 1 >= MAX_DEPTH {
        return true;
    }
    let modes: &[Strings] = if backslash {
        &[Strings::Standard, Strings::BackslashEscapes]
    } else {
        &[Strings::Standard]
    };
    modes
        .iter()
        .any(|&m| !Walk::new(value, m, depth + 1).edits().is_empty())
}

/// The state after `tok`, given the state before it.
fn next_armed(before: Armed, tok: &Token, sql: &str) -> Armed {
    let connector = (tok.kind == TokKind::Op && tok.text(sql) == "=") || tok.is_kw(sql, "to");
    match tok.kind {
        _ if before == Armed::Name && connector => Armed::Connector,
        TokKind::Word | TokKind::QuotedIdent
            if secret::is_secret_name(&crate::lexer::ident_value(tok, sql)) =>
        {
            Armed::Name
        }
        _ => Armed::No,
    }
}

fn comment_marker(kind: TokKind) -> &'static str {
    match kind {
        TokKind::LineComment => "-- <redacted>",
        _ => "/* <redacted> */",
    }
}
