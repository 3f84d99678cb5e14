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
        StatementClass::MaybeDdl => match crate::convert::parse(text) {
            Ok(s) => s,
            Err(error) => crate::fallback::parse(text).unwrap_or_else(|| unparseable(text, error)),
        },
    };
    (class, stmt)
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
