//! Token-level parsing of transaction-control and session commands (`BEGIN`, `COMMIT`,
//! `SET lock_timeout …`, `RESET`). These never need sqlparser: the classifier already knows
//! the first key word, and only a handful of facts matter.

use crate::ir::{Stmt, TxCommand};
use crate::lexer::{ident_value, significant, TokKind};

/// Parse a statement the classifier put in the Transaction or Session class.
#[must_use]
pub fn parse(sql: &str) -> Stmt {
    let toks: Vec<_> = significant(sql).collect();
    let word = |i: usize| {
        toks.get(i)
            .filter(|t| t.kind == TokKind::Word)
            .map(|t| t.text(sql).to_ascii_lowercase())
            .unwrap_or_default()
    };
    let first = word(0);
    match first.as_str() {
        "begin" | "start" => Stmt::Tx(TxCommand::Begin),
        "commit" | "end" => {
            if word(1) == "prepared" {
                Stmt::Tx(TxCommand::Other)
            } else if chains(&(1..toks.len()).map(word).collect::<Vec<_>>()) {
                Stmt::Tx(TxCommand::CommitAndChain)
            } else {
                Stmt::Tx(TxCommand::Commit)
            }
        }
        "abort" | "rollback" => {
            let rest: Vec<String> = (1..toks.len()).map(word).collect();
            if rest.iter().any(|w| w == "to") {
                Stmt::Tx(TxCommand::Savepoint)
            } else if rest.first().is_some_and(|w| w == "prepared") {
                Stmt::Tx(TxCommand::Other)
            } else if chains(&rest) {
                Stmt::Tx(TxCommand::RollbackAndChain)
            } else {
                Stmt::Tx(TxCommand::Rollback)
            }
        }
        "savepoint" | "release" => Stmt::Tx(TxCommand::Savepoint),
        "prepare" => Stmt::Tx(TxCommand::Other),
        "set" => {
            let mut i = 1;
            let mut local = false;
            match word(1).as_str() {
                "local" => {
                    local = true;
                    i = 2;
                }
                "session" if word(2) != "authorization" && word(2) != "characteristics" => i = 2,
                _ => {}
            }
            let mut name = word(i);
            if toks.get(i + 1).map(|t| t.kind) == Some(TokKind::Dot) {
                name = format!("{name}.{}", word(i + 2));
                i += 2;
            }
            // Skip `=` / `TO`.
            let v = toks.get(i + 2).map(|t| t.text(sql)).unwrap_or("");
            let value_ms = if name == "lock_timeout" || name == "statement_timeout" {
                parse_duration_ms(v)
            } else {
                None
            };
            Stmt::Set {
                name,
                value_ms,
                local,
            }
        }
        "reset" => Stmt::Reset { name: word(1) },
        _ => Stmt::NotDdl,
    }
}

/// Parse a GUC duration as PostgreSQL does for `lock_timeout`/`statement_timeout` (unit
/// default milliseconds; units `us`, `ms`, `s`, `min`, `h`, `d`; docs "Parameter Names and
/// Values", §20.1.1). Returns `None` for `DEFAULT` or anything unreadable.
#[must_use]
pub fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let ms = n * factor;
    if ms.is_finite() && ms >= 0.0 {
        // Truncation is intended: sub-millisecond values round down like the server's.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(ms as u64)
    } else {
        None
    }
}

/// A savepoint command and the savepoint it names
/// (<https://www.postgresql.org/docs/current/sql-savepoint.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavepointCommand {
    /// `SAVEPOINT name`.
    Set(String),
    /// `RELEASE [SAVEPOINT] name`: forgets it and every later savepoint.
    Release(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`: undoes what ran after it; the
    /// savepoint stays.
    RollbackTo(String),
}

/// The savepoint command in one statement, if it is one.
#[must_use]
pub fn savepoint(sql: &str) -> Option<SavepointCommand> {
    let toks: Vec<_> = significant(sql)
        .filter(|t| t.kind != TokKind::Semicolon)
        .collect();
    let kw = |i: usize, words: &[&str]| {
        toks.get(i)
            .is_some_and(|t| words.iter().any(|w| t.is_kw(sql, w)))
    };
    let name = |i: usize| {
        toks.get(i)
            .filter(|t| matches!(t.kind, TokKind::Word | TokKind::QuotedIdent))
            .filter(|_| toks.len() == i + 1)
            .map(|t| ident_value(t, sql))
    };
    if kw(0, &["savepoint"]) {
        return name(1).map(SavepointCommand::Set);
    }
    if kw(0, &["release"]) {
        let at = if kw(1, &["savepoint"]) { 2 } else { 1 };
        return name(at).map(SavepointCommand::Release);
    }
    if kw(0, &["rollback"]) {
        let mut at = 1;
        if kw(at, &["work", "transaction"]) {
            at += 1;
        }
        if !kw(at, &["to"]) {
            return None;
        }
        at += 1;
        if kw(at, &["savepoint"]) {
            at += 1;
        }
        return name(at).map(SavepointCommand::RollbackTo);
    }
    None
}

/// A transaction block's savepoints, oldest first, each with what its owner saved when it
/// was set (the analyser: the transaction as it stood; the gateway: how many plans were
/// deferred). Follows PostgreSQL's rules
/// (<https://www.postgresql.org/docs/current/sql-rollback-to.html>).
#[derive(Clone, Debug)]
pub struct Savepoints<T> {
    marks: Vec<(String, T)>,
}

impl<T> Default for Savepoints<T> {
    fn default() -> Self {
        Self { marks: Vec::new() }
    }
}

impl<T> Savepoints<T> {
    /// Follows `cmd`: `SAVEPOINT` remembers `now()`; `RELEASE` forgets the savepoint and every
    /// later one; `ROLLBACK TO` forgets the later ones, keeps the savepoint, and returns what
    /// was saved with it. The latest savepoint of a name is the one meant; an unknown name
    /// changes nothing (PostgreSQL fails the statement).
    pub fn apply(&mut self, cmd: &SavepointCommand, now: impl FnOnce() -> T) -> Option<&T> {
        let find = |name: &str| self.marks.iter().rposition(|(n, _)| n == name);
        match cmd {
            SavepointCommand::Set(name) => {
                self.marks.push((name.clone(), now()));
                None
            }
            SavepointCommand::Release(name) => {
                if let Some(i) = find(name) {
                    self.marks.truncate(i);
                }
                None
            }
            SavepointCommand::RollbackTo(name) => {
                let i = find(name)?;
                self.marks.truncate(i + 1);
                self.marks.get(i).map(|(_, saved)| saved)
            }
        }
    }

    /// The block ended: no savepoint is left.
    pub fn clear(&mut self) {
        self.marks.clear();
    }
}

/// Whether the words after `COMMIT` / `ROLLBACK` end in `AND CHAIN` (not `AND NO CHAIN`).
fn chains(rest: &[String]) -> bool {
    let words: Vec<&str> = rest
        .iter()
        .map(String::as_str)
        .filter(|w| !matches!(*w, "work" | "transaction"))
        .collect();
    words == ["and", "chain"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoints_follow_postgresql_rules() {
        use SavepointCommand::{Release, RollbackTo, Set};
        let mut sp = Savepoints::default();
        sp.apply(&Set("a".into()), || 1);
        sp.apply(&Set("b".into()), || 2);
        sp.apply(&Set("a".into()), || 3);
        assert_eq!(
            sp.apply(&RollbackTo("a".into()), || 0),
            Some(&3),
            "the latest of a name"
        );
        assert_eq!(
            sp.apply(&RollbackTo("a".into()), || 0),
            Some(&3),
            "it stays"
        );
        sp.apply(&Release("b".into()), || 0);
        assert_eq!(
            sp.apply(&RollbackTo("a".into()), || 0),
            Some(&1),
            "later ones went with b"
        );
        assert_eq!(sp.apply(&RollbackTo("zz".into()), || 0), None);
        sp.clear();
        assert_eq!(sp.apply(&RollbackTo("a".into()), || 0), None);
    }

    #[test]
    fn savepoint_commands_name_their_savepoint() {
        use SavepointCommand::{Release, RollbackTo, Set};
        assert_eq!(savepoint("SAVEPOINT s1"), Some(Set("s1".into())));
        assert_eq!(savepoint("savepoint \"Mixed\";"), Some(Set("Mixed".into())));
        assert_eq!(savepoint("RELEASE s1"), Some(Release("s1".into())));
        assert_eq!(
            savepoint("release savepoint S1"),
            Some(Release("s1".into()))
        );
        assert_eq!(savepoint("ROLLBACK TO s1"), Some(RollbackTo("s1".into())));
        assert_eq!(
            savepoint("rollback work to savepoint s1"),
            Some(RollbackTo("s1".into()))
        );
        assert_eq!(savepoint("ROLLBACK"), None);
        assert_eq!(savepoint("ROLLBACK AND CHAIN"), None);
        assert_eq!(savepoint("SELECT 1"), None);
        assert_eq!(savepoint("SAVEPOINT"), None);
    }

    #[test]
    fn parses_set() {
        assert_eq!(
            parse("SET lock_timeout = '2s'"),
            Stmt::Set {
                name: "lock_timeout".into(),
                value_ms: Some(2000),
                local: false
            }
        );
        assert_eq!(
            parse("set local lock_timeout to 500"),
            Stmt::Set {
                name: "lock_timeout".into(),
                value_ms: Some(500),
                local: true
            }
        );
        assert_eq!(
            parse("ROLLBACK TO SAVEPOINT a"),
            Stmt::Tx(TxCommand::Savepoint)
        );
        assert_eq!(parse("END"), Stmt::Tx(TxCommand::Commit));
        assert_eq!(
            parse("commit work and chain"),
            Stmt::Tx(TxCommand::CommitAndChain)
        );
        assert_eq!(parse("END AND NO CHAIN"), Stmt::Tx(TxCommand::Commit));
        assert_eq!(
            parse("ABORT TRANSACTION AND CHAIN"),
            Stmt::Tx(TxCommand::RollbackAndChain)
        );
        assert_eq!(
            parse("ROLLBACK AND NO CHAIN"),
            Stmt::Tx(TxCommand::Rollback)
        );
        assert_eq!(parse_duration_ms("'1min'"), Some(60_000));
        assert_eq!(parse_duration_ms("DEFAULT"), None);
    }
}
