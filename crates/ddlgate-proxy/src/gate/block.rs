//! What the gateway remembers about the client's open transaction block: relations created in
//! it (their DDL is not dangerous: nobody else can see them yet) and plan steps deferred to its
//! COMMIT.

use std::collections::BTreeSet;

use ddlgate_ddl::ir::{Stmt, TxCommand};
use ddlgate_ddl::session::{SavepointCommand, Savepoints};
use ddlgate_ddl::{classify, split, Decision, Pending, QualifiedName, StatementClass, Step};
use ddlgate_session::BatchMessage;

/// Steps of one plan that run after the client's COMMIT.
#[derive(Clone, Debug)]
pub struct Deferred {
    /// The text the statement came in (the decision's span points into it).
    pub text: String,
    /// How it was sent.
    pub protocol: ddlgate_session::Protocol,
    /// The analyser's decision for it.
    pub decision: Decision,
    /// The plan's one-line summary.
    pub summary: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Deferred {
    /// The statement, secrets redacted (for messages and job rows).
    pub fn statement(&self) -> String {
        super::audit::redacted(self.decision.text(&self.text))
    }

    /// Whether this plan needs something `other` was to build, validate or fill (its index,
    /// constraint or column). Plans that merely share a table are independent.
    pub fn needs(&self, other: &Deferred) -> bool {
        let theirs = ddlgate_ddl::plan::deferral::pending(&other.steps);
        ddlgate_ddl::plan::deferral::pending(&self.steps)
            .iter()
            .any(|p| !matches!(p, Pending::Table { .. }) && theirs.contains(p))
    }
}

/// The client's open transaction block, as far as the gateway is concerned.
#[derive(Debug, Default)]
pub struct TxWork {
    /// Relations created earlier in the block.
    pub created: BTreeSet<QualifiedName>,
    /// Deferred plans, in the order their statements arrived.
    pub deferred: Vec<Deferred>,
    /// What the deferred steps will touch.
    pub pending: BTreeSet<Pending>,
    /// The session's [`idle_points`](ddlgate_session::Session::idle_points) when this block
    /// was last seen: a different count means the block has ended since.
    pub epoch: u64,
    /// The client's savepoints in the block, each with what the block held when it was set:
    /// a rollback to it drops the plans after and forgets the relations created after.
    pub savepoints: Savepoints<Mark>,
}

/// What the block held when a savepoint was set.
#[derive(Debug, Clone)]
pub struct Mark {
    /// `deferred.len()`.
    deferred: usize,
    /// The relations created so far.
    created: BTreeSet<QualifiedName>,
}

impl TxWork {
    /// Whether steps wait for COMMIT.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Defers `steps` of the plan for `decision` (a statement of `text`).
    pub fn defer(
        &mut self,
        text: &str,
        protocol: ddlgate_session::Protocol,
        decision: &Decision,
        summary: &str,
        steps: Vec<Step>,
    ) {
        if steps.is_empty() {
            return;
        }
        self.pending
            .extend(ddlgate_ddl::plan::deferral::pending(&steps));
        self.deferred.push(Deferred {
            text: text.to_owned(),
            protocol,
            decision: decision.clone(),
            summary: summary.to_owned(),
            steps,
        });
    }

    /// Remembers the relations `decisions` create.
    pub fn note_created(&mut self, decisions: &[Decision]) {
        self.created.extend(
            decisions
                .iter()
                .filter_map(|d| d.statement.created_relation()),
        );
    }

    /// The block ends: forget it. Returns the deferred plans (to run at COMMIT, or to report
    /// as dropped).
    pub fn end(&mut self) -> Vec<Deferred> {
        self.created.clear();
        self.pending.clear();
        self.savepoints.clear();
        std::mem::take(&mut self.deferred)
    }

    /// Follows a savepoint command the client sent in the block, as PostgreSQL does
    /// (<https://www.postgresql.org/docs/current/sql-rollback-to.html>). Returns the deferred
    /// plans a `ROLLBACK TO` undid: their in-block steps are gone, so the rest must not run.
    /// An unknown name changes nothing (the server fails the statement).
    pub fn savepoint(&mut self, cmd: &SavepointCommand) -> Vec<Deferred> {
        let deferred = self.deferred.len();
        let now = || Mark {
            deferred,
            created: self.created.clone(),
        };
        let Some(mark) = self.savepoints.apply(cmd, now) else {
            return Vec::new();
        };
        let keep = mark.deferred;
        // What was created after the savepoint is gone: it must not exempt anything any more.
        self.created = mark.created.clone();
        let undone = self.deferred.split_off(keep.min(deferred));
        if !undone.is_empty() {
            self.pending = self
                .deferred
                .iter()
                .flat_map(|d| ddlgate_ddl::plan::deferral::pending(&d.steps))
                .collect();
        }
        undone
    }
}

/// Remembers (or forgets) a named statement that ends a transaction block (name → text), so
/// a later Bind of one can be captured when steps wait for COMMIT. Only short texts are looked
/// at, so ordinary statements cost one length check.
pub fn note_named(
    map: &mut std::collections::HashMap<bytes::Bytes, String>,
    name: &[u8],
    query: &[u8],
) {
    if query.len() <= 32 {
        let text = String::from_utf8_lossy(query);
        if ends_transaction(&text) {
            map.insert(bytes::Bytes::copy_from_slice(name), text.into_owned());
            return;
        }
    }
    if !map.is_empty() {
        map.remove(name);
    }
}

/// Whether `sql` holds a statement ending a transaction block (COMMIT, END, ROLLBACK, ABORT).
pub fn ends_transaction(sql: &str) -> bool {
    split(sql)
        .iter()
        .filter_map(|s| s.stmt.clone())
        .any(|span| {
            let text = &sql[span];
            classify(text) == StatementClass::Transaction
                && matches!(
                    ddlgate_ddl::session::parse(text),
                    Stmt::Tx(
                        TxCommand::Commit
                            | TxCommand::CommitAndChain
                            | TxCommand::Rollback
                            | TxCommand::RollbackAndChain
                    )
                )
        })
}

/// Whether a transaction-control text may hold a savepoint command or a chained end (`… AND
/// CHAIN`), the forwarded statements that change the block's bookkeeping. The usual `BEGIN`,
/// `COMMIT`, `END` are told apart by their first byte and their last word, without lexing.
pub fn may_change_block(text: &[u8]) -> bool {
    let body = text.trim_ascii();
    let body = body.strip_suffix(b";").unwrap_or(body).trim_ascii_end();
    let chained = body.len() >= 5 && body[body.len() - 5..].eq_ignore_ascii_case(b"chain");
    // savepoint, release, rollback [to], start; or a comment first.
    let first = matches!(body.first(), Some(b's' | b'S' | b'r' | b'R' | b'-' | b'/'));
    first || chained || memchr::memchr(b';', body).is_some()
}

/// What a `Parse` of `sql` into statement `name` means to the batch tracker: a transaction
/// start into the unnamed statement, other transaction control, or anything else.
pub fn batch_parse(name: &[u8], sql: &[u8]) -> BatchMessage {
    if ddlgate_ddl::classify_bytes(sql) != StatementClass::Transaction {
        return BatchMessage::Parse;
    }
    let text = String::from_utf8_lossy(sql);
    match ddlgate_ddl::session::parse(&text) {
        Stmt::Tx(TxCommand::Begin) if name.is_empty() => BatchMessage::ParseBegin,
        _ => BatchMessage::ParseTransactionControl,
    }
}

/// How a transaction-control statement ends the block, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockEnd {
    /// COMMIT / END.
    Commit,
    /// COMMIT AND CHAIN: a new block with the same characteristics follows at once.
    CommitAndChain,
    /// ROLLBACK / ABORT, chained or not (either way the block's work is gone).
    Rollback,
}

impl BlockEnd {
    /// Whether this commits the block.
    pub fn commits(self) -> bool {
        matches!(self, Self::Commit | Self::CommitAndChain)
    }
}

/// Whether the decision's statement ends the block, and how.
pub fn block_end(d: &Decision) -> Option<BlockEnd> {
    match d.statement {
        Stmt::Tx(TxCommand::Commit) => Some(BlockEnd::Commit),
        Stmt::Tx(TxCommand::CommitAndChain) => Some(BlockEnd::CommitAndChain),
        Stmt::Tx(TxCommand::Rollback | TxCommand::RollbackAndChain) => Some(BlockEnd::Rollback),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ends_are_found_anywhere_in_the_text() {
        assert!(ends_transaction("COMMIT"));
        assert!(ends_transaction("end"));
        assert!(ends_transaction("INSERT INTO t VALUES (1); COMMIT"));
        assert!(ends_transaction("rollback"));
        assert!(ends_transaction("COMMIT AND CHAIN"));
        assert!(ends_transaction("rollback and chain"));
        assert!(!ends_transaction("ROLLBACK TO SAVEPOINT a"));
        assert!(!ends_transaction("COMMIT PREPARED 'x'"));
        assert!(!ends_transaction("SELECT 'commit'"));
        assert!(!ends_transaction("BEGIN"));
    }

    #[test]
    fn plain_transaction_control_is_told_apart_without_lexing() {
        for plain in [
            "BEGIN",
            "begin;",
            " COMMIT ",
            "END;",
            "commit and no chain x",
            "ABORT",
        ] {
            assert!(!may_change_block(plain.as_bytes()), "{plain}");
        }
        for maybe in [
            "SAVEPOINT a",
            "release a",
            "ROLLBACK TO a",
            "commit and chain;",
            "END AND CHAIN",
            "BEGIN; SAVEPOINT a",
            "/* x */ SAVEPOINT a",
        ] {
            assert!(may_change_block(maybe.as_bytes()), "{maybe}");
        }
    }

    #[test]
    fn batch_parses_are_told_apart() {
        assert_eq!(batch_parse(b"", b"BEGIN"), BatchMessage::ParseBegin);
        assert_eq!(
            batch_parse(b"", b"start transaction isolation level serializable"),
            BatchMessage::ParseBegin
        );
        assert_eq!(
            batch_parse(b"S_1", b"BEGIN"),
            BatchMessage::ParseTransactionControl
        );
        assert_eq!(
            batch_parse(b"", b"COMMIT"),
            BatchMessage::ParseTransactionControl
        );
        assert_eq!(batch_parse(b"", b"SELECT 1"), BatchMessage::Parse);
        assert_eq!(
            batch_parse(b"", b"ALTER TABLE t ADD c int"),
            BatchMessage::Parse
        );
    }
}
