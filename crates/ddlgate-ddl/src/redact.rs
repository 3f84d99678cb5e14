//! Password redaction for logging: `CREATE/ALTER ROLE|USER … PASSWORD '…'` must never be
//! logged verbatim (PostgreSQL docs, `CREATE ROLE`: "the password … will be logged in
//! cleartext in the server log and the client's command history").

use crate::lexer::{Lexer, TokKind};

/// The replacement written over a password literal.
pub const REDACTED: &str = "'<redacted>'";

/// Replace every string literal that follows the key word `PASSWORD` (optionally after
/// `ENCRYPTED`/`UNENCRYPTED`) with [`REDACTED`]. Everything else is kept byte for byte.
/// Also blanks the argument of `\password`-style `SET … password` and `ALTER USER MAPPING …
/// OPTIONS (password '…')`, where the key word precedes the literal the same way.
#[must_use]
pub fn redact(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0usize;
    let mut armed = false;
    for tok in Lexer::new(sql) {
        if tok.kind.is_trivia() {
            continue;
        }
        match tok.kind {
            TokKind::Word if tok.is_kw(sql, "password") => armed = true,
            TokKind::Op if armed && tok.text(sql) == "=" => {}
            TokKind::String | TokKind::DollarString if armed => {
                out.push_str(sql.get(last..tok.span.start).unwrap_or(""));
                out.push_str(REDACTED);
                last = tok.span.end;
                armed = false;
            }
            _ => armed = false,
        }
    }
    out.push_str(sql.get(last..).unwrap_or(""));
    out
}

/// Does `sql` contain a password literal (what [`redact`] would blank out)?
#[must_use]
pub fn has_password(sql: &str) -> bool {
    redact(sql) != sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts() {
        assert_eq!(
            redact("CREATE ROLE app LOGIN PASSWORD 'se''cret' VALID UNTIL '2030-01-01'"),
            "CREATE ROLE app LOGIN PASSWORD '<redacted>' VALID UNTIL '2030-01-01'"
        );
        assert_eq!(
            redact("alter user x with encrypted password E'a\\'b'; select 'password'"),
            "alter user x with encrypted password '<redacted>'; select 'password'"
        );
        assert_eq!(
            redact("ALTER ROLE x PASSWORD NULL"),
            "ALTER ROLE x PASSWORD NULL"
        );
        assert!(!has_password("select 1"));
    }
}
