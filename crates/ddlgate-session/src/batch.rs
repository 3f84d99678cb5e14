//! Where the client's extended-protocol batch stands, for deciding whether the gateway may end
//! it early.
//!
//! Until `Sync`, the messages of a batch run in one implicit transaction unless a `BEGIN` opened
//! an explicit block ([Multiple Statements in a Simple Query / Pipelining],
//! <https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING>). Inside
//! an explicit block a `Sync` does not commit anything; it only closes the batch. So when every
//! message so far ran inside a block (pgjdbc with autocommit off sends `BEGIN` in the same batch
//! as the transaction's first statement), the gateway may send a `Sync` of its own before a DDL
//! statement, swallow its `ReadyForQuery`, and then inspect the catalog and run plans exactly as
//! at a batch boundary, without changing what the client's transaction does.

/// How the batch open since the last `Sync` stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Batch {
    /// At a `Sync` boundary: nothing sent since.
    #[default]
    Clean,
    /// Messages sent since the last `Sync`; whether ending the batch early is harmless.
    Open(Scope),
}

/// What a `Sync` sent by the gateway in the middle of the batch would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The messages so far run in the batch's implicit transaction (or their scope is not
    /// known): a `Sync` now would commit them early.
    Implicit,
    /// A `BEGIN` was parsed as the batch's first statement and is not yet executed.
    BeginParsed,
    /// That `BEGIN` is bound to the unnamed portal.
    BeginBound,
    /// Every message so far ran inside an explicit transaction block: a `Sync` only closes the
    /// batch.
    Block,
}

/// A client message, as far as the batch tracker needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchMessage {
    /// `Parse` of a transaction-start statement (`BEGIN`, `START TRANSACTION`) into the unnamed
    /// statement.
    ParseBegin,
    /// `Parse` of a transaction-control statement other than a start (`COMMIT`, `ROLLBACK`,
    /// `PREPARE TRANSACTION`, savepoints…).
    ParseTransactionControl,
    /// Any other `Parse`.
    Parse,
    /// `Bind` of the unnamed statement to the unnamed portal.
    BindUnnamed,
    /// Any other `Bind`.
    Bind,
    /// `Execute` of the unnamed portal.
    ExecuteUnnamed,
    /// Any other `Execute`.
    Execute,
    /// `Describe`, `Flush`: no statement runs.
    NoEffect,
    /// `Close`.
    Close,
    /// `Sync`.
    Sync,
}

impl Batch {
    /// The state after the client's next message. `in_block` is whether the server was in a
    /// transaction block at the last `ReadyForQuery` (read only when a batch starts).
    #[must_use]
    pub fn next(self, msg: BatchMessage, in_block: bool) -> Batch {
        use BatchMessage as M;
        use Scope as S;
        if msg == M::Sync {
            return Batch::Clean;
        }
        let scope = match self {
            Batch::Clean => match msg {
                M::ParseBegin => S::BeginParsed,
                M::ParseTransactionControl => S::Implicit,
                _ if in_block => S::Block,
                _ => S::Implicit,
            },
            Batch::Open(S::Implicit) => S::Implicit,
            Batch::Open(S::BeginParsed) => match msg {
                M::BindUnnamed => S::BeginBound,
                M::NoEffect => S::BeginParsed,
                _ => S::Implicit,
            },
            Batch::Open(S::BeginBound) => match msg {
                M::ExecuteUnnamed => S::Block,
                M::NoEffect => S::BeginBound,
                _ => S::Implicit,
            },
            Batch::Open(S::Block) => match msg {
                // COMMIT or ROLLBACK would end the block: later messages run implicitly.
                M::ParseBegin | M::ParseTransactionControl => S::Implicit,
                _ => S::Block,
            },
        };
        Batch::Open(scope)
    }

    /// Whether the gateway may send a `Sync` of its own now without changing what the client's
    /// transaction does.
    #[must_use]
    pub fn may_sync_early(self) -> bool {
        self == Batch::Open(Scope::Block)
    }

    /// Whether a batch is open.
    #[must_use]
    pub fn is_open(self) -> bool {
        self != Batch::Clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BatchMessage as M;

    fn run(start_in_block: bool, msgs: &[BatchMessage]) -> Batch {
        msgs.iter()
            .fold(Batch::Clean, |b, m| b.next(*m, start_in_block))
    }

    #[test]
    fn pgjdbc_begin_then_statement_is_a_block() {
        // pgjdbc, autocommit off: Parse/Bind/Execute of BEGIN, then the first statement.
        let b = run(false, &[M::ParseBegin, M::BindUnnamed, M::ExecuteUnnamed]);
        assert!(b.may_sync_early());
        // Its Describe and the next Parse keep it so.
        let b = b.next(M::Parse, false).next(M::NoEffect, false);
        assert!(b.may_sync_early());
    }

    #[test]
    fn a_batch_without_begin_is_implicit() {
        assert!(!run(false, &[M::Parse, M::BindUnnamed, M::ExecuteUnnamed]).may_sync_early());
        assert!(!run(false, &[M::Parse]).may_sync_early());
    }

    #[test]
    fn begin_not_yet_executed_is_not_a_block() {
        assert!(!run(false, &[M::ParseBegin]).may_sync_early());
        assert!(!run(false, &[M::ParseBegin, M::BindUnnamed]).may_sync_early());
        // Bound to a named statement or portal: not known to be the BEGIN.
        assert!(!run(false, &[M::ParseBegin, M::Bind, M::ExecuteUnnamed]).may_sync_early());
        assert!(!run(false, &[M::ParseBegin, M::BindUnnamed, M::Execute]).may_sync_early());
    }

    #[test]
    fn a_batch_started_inside_a_block_stays_one_until_transaction_control() {
        let b = run(true, &[M::Parse, M::BindUnnamed, M::ExecuteUnnamed]);
        assert!(b.may_sync_early());
        assert!(!b.next(M::ParseTransactionControl, true).may_sync_early());
        assert!(!run(true, &[M::ParseTransactionControl]).may_sync_early());
        // Once implicit, always implicit until Sync.
        let b = run(true, &[M::ParseTransactionControl, M::Parse]);
        assert_eq!(b, Batch::Open(Scope::Implicit));
    }

    #[test]
    fn sync_ends_every_batch() {
        for start in [false, true] {
            let b = run(start, &[M::ParseBegin, M::BindUnnamed, M::Sync]);
            assert_eq!(b, Batch::Clean);
            assert!(!b.is_open());
        }
    }
}
