//! The transaction as analysis tracks it across the statements of a text: what rules see
//! and what decides whether a plan can run.

use crate::ir::QualifiedName;
use std::collections::BTreeSet;

/// The transaction as it stands when the statement runs.
#[derive(Debug, Clone, Default)]
pub struct TxView {
    /// Inside an explicit `BEGIN` block (from the facts or an earlier `BEGIN` in the text).
    pub in_block: bool,
    /// Part of an implicit multi-statement transaction (several statements in one Query).
    pub implicit_multi: bool,
    /// Relations created earlier in this transaction.
    pub created_in_tx: BTreeSet<QualifiedName>,
    /// Relations the transaction already holds ACCESS EXCLUSIVE on.
    pub access_exclusive_held: BTreeSet<QualifiedName>,
    /// Effective `lock_timeout` in ms, when known.
    pub lock_timeout_ms: Option<u64>,
    /// Effective `statement_timeout` in ms, when known.
    pub statement_timeout_ms: Option<u64>,
    /// Constraints added `NOT VALID` earlier in this transaction: (table, constraint).
    pub not_valid_added: BTreeSet<(QualifiedName, String)>,
}

impl TxView {
    /// Inside any transaction block, explicit or implicit.
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        self.in_block || self.implicit_multi
    }
}
