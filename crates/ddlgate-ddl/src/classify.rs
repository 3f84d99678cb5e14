//! First-keyword classifier: decides in nanoseconds whether a statement can be DDL at all.
//!
//! It skips whitespace, `--` and nested `/* */` comments and opening parentheses, reads one
//! word and looks it up. No allocation. Only [`StatementClass::MaybeDdl`] statements are worth
//! a full parse; transaction and session commands are tracked; everything else passes.
//!
//! Known blind spots (documented, not fixable at this level): `SELECT … INTO new_table`
//! creates a table, and `EXPLAIN ANALYZE CREATE TABLE AS …` executes one.

use crate::lexer::{is_ident_cont, is_ident_start};

/// What the first key word says about a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementClass {
    /// DDL or something that can run DDL (`DO`, `CALL`): parse it.
    MaybeDdl,
    /// `BEGIN`, `COMMIT`, `SAVEPOINT`, …: track transaction state.
    Transaction,
    /// `SET`, `RESET`, `SHOW`, `DISCARD`: track session settings.
    Session,
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH`, `VALUES`, `TABLE`, `MERGE`, `COPY`,
    /// `EXPLAIN`.
    Dml,
    /// Anything else (`PREPARE`, `EXECUTE`, `LISTEN`, `FETCH`, …).
    Other,
    /// Only whitespace and comments.
    Empty,
}

const DDL: &[&str] = &[
    "alter", "create", "drop", "truncate", "reindex", "vacuum", "cluster", "comment", "grant",
    "revoke", "analyze", "analyse", "lock", "do", "call", "refresh", "security", "import",
    "reassign", "rename",
    // Not SQL: the gateway's own commands (`DDLGATE BREAKGLASS …`), answered by the gate.
    "ddlgate",
];
const TX: &[&str] = &[
    "begin",
    "start",
    "commit",
    "end",
    "rollback",
    "abort",
    "savepoint",
    "release",
    "prepare",
];
const SESSION: &[&str] = &["set", "reset", "show", "discard"];
const DML: &[&str] = &[
    "select", "insert", "update", "delete", "with", "values", "table", "merge", "copy", "explain",
];

/// Classify the statement text `sql` by its first key word.
#[must_use]
pub fn classify(sql: &str) -> StatementClass {
    classify_bytes(sql.as_bytes())
}

/// [`classify`] on raw bytes, as they arrive on the wire: the first key word is ASCII, so the
/// text need not be valid UTF-8 (nor checked) to classify it.
#[must_use]
pub fn classify_bytes(b: &[u8]) -> StatementClass {
    let mut i = 0usize;
    loop {
        match b.get(i) {
            None => return StatementClass::Empty,
            Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'(') => i += 1,
            Some(b'-') if b.get(i + 1) == Some(&b'-') => {
                while let Some(&c) = b.get(i) {
                    if c == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            Some(&c) if is_ident_start(c) => break,
            Some(_) => return StatementClass::Other,
        }
    }
    let start = i;
    while b.get(i).is_some_and(|&c| is_ident_cont(c)) {
        i += 1;
    }
    let word = &b[start..i];
    if word.len() > 9 {
        return StatementClass::Other;
    }
    let is = |list: &[&str]| list.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(word));
    // `PREPARE TRANSACTION` is transaction control; `PREPARE name AS …` cannot contain DDL.
    if is(DML) {
        StatementClass::Dml
    } else if is(DDL) {
        StatementClass::MaybeDdl
    } else if is(TX) {
        StatementClass::Transaction
    } else if is(SESSION) {
        StatementClass::Session
    } else {
        StatementClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(
            classify("  /* a /* b */ */ -- x\n ALTER TABLE t"),
            StatementClass::MaybeDdl
        );
        assert_eq!(classify("(select 1)"), StatementClass::Dml);
        assert_eq!(classify("select 1"), StatementClass::Dml);
        assert_eq!(classify("Begin"), StatementClass::Transaction);
        assert_eq!(classify("SET lock_timeout = 1"), StatementClass::Session);
        assert_eq!(classify("do $$ $$"), StatementClass::MaybeDdl);
        assert_eq!(classify("-- only"), StatementClass::Empty);
        assert_eq!(classify("listen x"), StatementClass::Other);
        assert_eq!(classify("createx"), StatementClass::Other);
        assert_eq!(classify("1"), StatementClass::Other);
    }
}
