//! What the gate remembers about one session between frames.

use std::collections::HashMap;

use bytes::Bytes;
use ddlgate_session::{Batch, PreparedRewrites};

use super::attention::LastPlain;
use super::block::TxWork;
use super::planned::{Capturing, Planned};

/// Whether the client's messages reach the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discard {
    /// Forward as usual.
    #[default]
    No,
    /// The server already failed this batch (while the gateway ended it early): drop the
    /// client's messages up to its `Sync`, as the server would have ignored them.
    UntilSync,
}

/// The gate's per-session state. Moves with the session when it is lent to the fast relay
/// (only while [`GateState::is_quiet`]).
#[derive(Default)]
pub struct GateState {
    /// The client's extended-protocol batch.
    pub(crate) batch: Batch,
    /// The last statement text found to need no attention.
    pub(super) last_plain: LastPlain,
    /// Named statements the client prepared on the server that end a transaction block
    /// (name → text), so a later Bind of one can be captured when steps wait for COMMIT.
    pub(super) tx_end_statements: HashMap<Bytes, String>,
    /// Named statements the client prepared whose execution changes the block's bookkeeping
    /// (savepoint commands, chained ends), name → text: followed at each Bind of them.
    pub(super) block_statements: HashMap<Bytes, String>,
    /// The extended-protocol batch being captured, if any.
    pub(super) capturing: Option<Box<Capturing>>,
    /// Statements the gateway prepared itself (never seen by the server).
    pub(super) prepared: PreparedRewrites<Planned>,
    /// The client's open transaction block: created relations, steps deferred to COMMIT.
    pub(super) tx: TxWork,
    /// Whether client messages are being dropped up to the next `Sync`.
    pub(super) discard: Discard,
}

impl std::fmt::Debug for GateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateState")
            .field("batch", &self.batch)
            .field("capturing", &self.capturing.is_some())
            .field("deferred", &self.tx.deferred.len())
            .field("discard", &self.discard)
            .finish_non_exhaustive()
    }
}

impl GateState {
    /// Whether nothing is pending that only the async relay handles: no batch captured, no
    /// statements of the gateway's own, no steps waiting for COMMIT, no savepoint bookkeeping
    /// by name, no batch being dropped. Then [`Self::screen`] forwards plain traffic alone.
    pub fn is_quiet(&self) -> bool {
        self.capturing.is_none()
            && self.prepared.is_empty()
            && !self.tx.has_deferred()
            && self.block_statements.is_empty()
            && self.discard == Discard::No
    }

    /// Whether the server has answered everything the client sent (no request in flight, no
    /// batch open): what was approved for the guard has run.
    pub fn answered_all(&self, session: &ddlgate_session::Session) -> bool {
        session.in_flight() == 0 && !self.batch.is_open()
    }

    /// The batch tracker's state.
    #[cfg(test)]
    pub(crate) fn batch(&self) -> Batch {
        self.batch
    }

    /// Whether the client prepared a statement of this name that ends a transaction block.
    #[cfg(test)]
    pub(crate) fn ends_block_by_name(&self, name: &[u8]) -> bool {
        self.tx_end_statements.contains_key(name)
    }
}
