//! One statement's text to the IR: first-keyword class, then sqlparser, then the fallback
//! table, then fail closed. Shared by the analyser and the planner's self-check.

use crate::classify::{classify, StatementClass};
use crate::ir::Stmt;

/// Parse one statement's text into the IR, with its first-keyword class. Never panics.
#[must_use]
pub fn parse_statement(text: &str) -> (StatementClass, Stmt) {
    let class = classify(text);
    let stmt = match class {
        StatementClass::Empty | StatementClass::Dml | StatementClass::Other => Stmt::NotDdl,
        StatementClass::Transaction | StatementClass::Session => crate::session::parse(text),
        StatementClass::MaybeDdl if text.len() > MAX_DDL_BYTES => too_large(text),
        StatementClass::MaybeDdl => match crate::convert::parse(text) {
            Ok(s) => s,
            Err(error) => crate::fallback::parse(text).unwrap_or_else(|| unparseable(text, error)),
        },
    };
    (class, stmt)
}

/// The largest DDL statement the analyser parses (1 MiB). Parsing holds the statement's
/// tokens and tree in memory several times over; a larger one is not read at all and counts
/// as unparseable (`[policy] unparseable`, blocked by default) — so a hostile 60 MiB statement
/// costs its bytes, not a parse.
pub const MAX_DDL_BYTES: usize = 1 << 20;

/// A statement too large to parse, described by its (redacted) first words.
fn too_large(text: &str) -> Stmt {
    let mut head = 4096.min(text.len());
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    Stmt::Unparseable {
        first_words: crate::redact::redact(&text[..head])
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" "),
        error: format!(
            "the statement is {} bytes long, more than the {} bytes ddlgate analyses",
            text.len(),
            MAX_DDL_BYTES
        ),
    }
}

/// A statement the analyser cannot read, described without the secrets it may hold: its
/// first words and sqlparser's message (which quotes the token it stopped at, a string
/// included) come from the redacted text when redaction changes anything. The description
/// reaches the client's error, the server's log (a blocked statement is replaced by a `DO`
/// block raising it) and lint reports.
fn unparseable(text: &str, error: String) -> Stmt {
    let shown = crate::redact::redact(text);
    let error = if shown == text {
        error
    } else {
        crate::convert::parse(&shown).err().unwrap_or_else(|| {
            "sql parser error (the statement holds a secret: not shown)".to_owned()
        })
    };
    Stmt::Unparseable {
        first_words: shown
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" "),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_too_large_to_analyse_is_unparseable() {
        let big = format!("CREATE TABLE t (a int) /* {} */", "x".repeat(MAX_DDL_BYTES));
        match parse_statement(&big).1 {
            Stmt::Unparseable { first_words, error } => {
                assert_eq!(first_words, "CREATE TABLE t (a");
                assert!(error.contains("bytes ddlgate analyses"), "{error}");
            }
            other => panic!("expected unparseable, got {other:?}"),
        }
        let select = format!("SELECT 1 /* {} */", "x".repeat(MAX_DDL_BYTES));
        assert!(matches!(parse_statement(&select).1, Stmt::NotDdl));
    }

    #[test]
    fn an_unparseable_statement_is_described_without_its_secrets() {
        for text in [
            "ALTER TABLE t ADD COLUMN c text DEFAULT 'x' 'password=Zq9S3CR3T'",
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'x' $$ALTER ROLE r PASSWORD 'Zq9S3CR3T'$$",
            "ALTER SERVER s OPTIONS (SET password 'Zq9S3CR3T')",
            "CREATE USER u PASSWORD'Zq9S3CR3T' FOO",
        ] {
            let (_, stmt) = parse_statement(text);
            let shown = format!("{stmt:?}");
            assert!(!shown.contains("Zq9S3CR3T"), "{text}: {shown}");
        }
        // Without a secret, sqlparser's own message, as before.
        let (_, stmt) = parse_statement("ALTER TABLE t ADD COLUMN c text DEFAULT 'x' 'y'");
        let Stmt::Unparseable { error, first_words } = stmt else {
            panic!("{stmt:?}");
        };
        assert!(error.contains("found: 'y'"), "{error}");
        assert_eq!(first_words, "ALTER TABLE t ADD");
    }
}
