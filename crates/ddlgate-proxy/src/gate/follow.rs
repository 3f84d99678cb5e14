//! Following the client's transaction block as the server runs it: savepoints, chained ends,
//! and blocks that ended without the gate (a plain COMMIT, ROLLBACK, or an error), whose
//! deferred work is then dropped and audited.

use ddlgate_ddl::ir::{Stmt, TxCommand};
use ddlgate_ddl::session::SavepointCommand;
use ddlgate_ddl::{Pending, StatementClass};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{SqlState, TransactionStatus};

use super::audit::Origin;
use super::block::{Deferred, TxWork};
use super::Gate;
use crate::enforce::{Action, AuditOutcome};

/// Where the session stood when a forwarded statement was sent, as of the last ReadyForQuery.
#[derive(Clone, Copy, Debug)]
pub struct SentAt {
    /// [`ddlgate_session::Session::idle_points`].
    pub idle_points: u64,
    /// The transaction status.
    pub status: TransactionStatus,
}

/// The block ended without the gateway's COMMIT (ROLLBACK, or an error ended it): forget it
/// and audit the deferred plans that will not run.
pub fn end_block(gate: &Gate<'_>, tx: &mut TxWork) {
    let dropped = tx.end();
    drop_deferred(gate, &dropped, AuditOutcome::DroppedRolledBack);
}

/// Drops the block's work (audited) if a ReadyForQuery(Idle) has passed since the block was
/// last seen: the block ended without the gateway's COMMIT handling (a plain COMMIT, ROLLBACK,
/// or an error ended it), so nothing deferred runs and what it created is no longer new.
pub fn catch_up(gate: &Gate<'_>, tx: &mut TxWork, idle_points: u64) {
    if tx.epoch != idle_points {
        end_block(gate, tx);
        tx.epoch = idle_points;
    }
}

/// Follows the transaction-control statements in `sql` (forwarded as they are) that change
/// the block's bookkeeping without ending it through the gateway, after dropping the block's
/// work if the block has ended since it was last seen.
pub fn note_transaction_controls(gate: &Gate<'_>, tx: &mut TxWork, at: SentAt, sql: &str) {
    catch_up(gate, tx, at.idle_points);
    // Drivers send one statement per message: no need to split those.
    if !sql.contains(';') {
        note_transaction_control(gate, tx, at.status, sql);
        return;
    }
    for span in ddlgate_ddl::split(sql)
        .iter()
        .filter_map(|s| s.stmt.clone())
    {
        note_transaction_control(gate, tx, at.status, &sql[span]);
    }
}

/// Follows one statement that ran in the block: a savepoint command, or `COMMIT AND CHAIN` /
/// `ROLLBACK AND CHAIN`, after which the block is a new one (nothing it created is new any
/// more, nothing deferred is left: with deferred work the gateway handled the statement).
/// In a failed block (`status`) PostgreSQL rejects `SAVEPOINT` and `RELEASE`; only `ROLLBACK
/// TO` (which recovers the block) and the block's end are followed then.
pub fn note_transaction_control(
    gate: &Gate<'_>,
    tx: &mut TxWork,
    status: TransactionStatus,
    statement: &str,
) {
    if ddlgate_ddl::classify(statement) != StatementClass::Transaction {
        return;
    }
    if let Some(cmd) = ddlgate_ddl::session::savepoint(statement) {
        if status == TransactionStatus::Failed && !matches!(cmd, SavepointCommand::RollbackTo(_)) {
            return;
        }
        let undone = tx.savepoint(&cmd);
        drop_deferred(gate, &undone, AuditOutcome::DroppedRolledBackToSavepoint);
        return;
    }
    if matches!(
        ddlgate_ddl::session::parse(statement),
        Stmt::Tx(TxCommand::CommitAndChain | TxCommand::RollbackAndChain)
    ) {
        end_block(gate, tx);
    }
}

/// Audits deferred plans that will not run (the transaction rolled back or failed).
pub fn drop_deferred(gate: &Gate<'_>, dropped: &[Deferred], why: AuditOutcome) {
    for d in dropped {
        let origin = Origin {
            protocol: d.protocol,
            sql: &d.text,
        };
        gate.audit(&origin, &d.decision, Action::Rewrite, Vec::new(), why);
    }
}

/// The error for a statement that depends on something deferred to COMMIT.
pub fn conflict_notice(sql: &str, p: &Pending, tx: &TxWork) -> Notice {
    let by = tx
        .deferred
        .iter()
        .find(|d| ddlgate_ddl::plan::deferral::pending(&d.steps).contains(p))
        .map(|d| d.statement())
        .unwrap_or_default();
    Notice::new(
        Severity::Error,
        SqlState::ObjectNotInPrerequisiteState,
        format!("ddlgate: this statement depends on the {p}, which is only finished after COMMIT"),
    )
    .detail(format!(
        "ddlgate deferred part of an earlier statement of this transaction to run after COMMIT, so that it does not hold locks or scan the table inside the transaction: {by}. The statement refused: {}",
        super::audit::redacted(sql)
    ))
    .hint("move this statement to a later migration (a separate transaction), after the one that creates the object")
}
