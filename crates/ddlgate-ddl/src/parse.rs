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
            Err(error) => crate::fallback::parse(text).unwrap_or_else(|| Stmt::Unparseable {
                first_words: text
                    .split_whitespace()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" "),
                error,
            }),
        },
    };
    (class, stmt)
}
