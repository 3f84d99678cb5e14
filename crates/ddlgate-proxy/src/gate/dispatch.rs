//! The one statement dispatcher: what the gateway runs in place of a statement, by action,
//! inside or outside the client's block, and at the block's end. Shared by the simple-protocol
//! path (`intercept`, `decide`) and captured extended-protocol batches (`capture`).

use ddlgate_ddl::Decision;
use ddlgate_wire::TransactionStatus;

use super::audit::Origin;
use super::block::{block_end, BlockEnd, TxWork};
use super::conn::{GateConn, Ran};
use super::follow::end_block;
use super::{commit, inblock, outside, Gate};
use crate::enforce::Action;
use crate::exec::Watch;
use crate::ProxyError;

/// What the gateway runs in place of one statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// The block's COMMIT, with steps deferred to it.
    Commit(BlockEnd),
    /// The block's ROLLBACK, with steps deferred to the COMMIT that will not come.
    Rollback,
    /// The statement itself under a short lock_timeout with retries.
    Guard,
    /// The statement's safe plan.
    Rewrite,
}

impl Run {
    /// What the gateway runs for `d` with `action`, if anything; `deferred` says whether steps
    /// wait for the block's COMMIT. Statements the gateway only forwards give `None`.
    pub fn of(d: &Decision, action: Action, deferred: bool) -> Option<Self> {
        match (block_end(d), deferred) {
            (Some(end), true) if end.commits() => return Some(Self::Commit(end)),
            (Some(BlockEnd::Rollback), true) => return Some(Self::Rollback),
            _ => {}
        }
        match action {
            Action::Guard => Some(Self::Guard),
            Action::Rewrite if d.plan.is_some() => Some(Self::Rewrite),
            Action::Rewrite => Some(Self::Guard),
            Action::Allow | Action::Warn | Action::Block => None,
        }
    }
}

/// How a statement the gateway ran ended.
#[derive(Debug)]
pub struct Executed {
    /// Its result; `None` when the client went away during a plan (the work continues in
    /// the background when it is a job).
    pub ran: Option<Ran>,
    /// The transaction status after it.
    pub status: TransactionStatus,
}

/// Runs `run` for the statement `d` of `origin`; `status` is the transaction status before it.
#[tracing::instrument(skip_all, fields(run = ?run))]
pub async fn execute(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    tx: &mut TxWork,
    (origin, d): (&Origin<'_>, &Decision),
    run: Run,
    status: TransactionStatus,
) -> Result<Executed, ProxyError> {
    let in_block = status != TransactionStatus::Idle;
    let text = d.text(origin.sql);
    // A statement run in the block that fails leaves the block failed.
    let in_block_end = |ran: Ran| {
        let status = if ran.is_ok() {
            status
        } else {
            TransactionStatus::Failed
        };
        Executed {
            ran: Some(ran),
            status,
        }
    };
    Ok(match run {
        Run::Commit(end) => {
            let (ran, status) = commit::commit(conn, watch, gate, (text, end), tx).await?;
            Executed {
                ran: Some(ran),
                status,
            }
        }
        Run::Rollback => {
            end_block(gate, tx);
            let r = conn.query(text).await?;
            let ran = match r.error {
                Some(e) => Ran::Err(e),
                None => Ran::Ok(r.tags.last().cloned().unwrap_or_else(|| "ROLLBACK".into())),
            };
            Executed {
                ran: Some(ran),
                status: r.status.unwrap_or(TransactionStatus::Idle),
            }
        }
        Run::Guard if in_block => {
            in_block_end(inblock::guard_in_block(conn, watch, gate, origin, d).await?)
        }
        Run::Guard => Executed {
            ran: Some(inblock::guard_outside(conn, watch, gate, origin, d).await?),
            status,
        },
        Run::Rewrite => {
            let Some(plan) = &d.plan else {
                return Err(ProxyError::Internal("a rewrite without a plan"));
            };
            if in_block {
                let parts = (origin, d, plan);
                in_block_end(inblock::rewrite_in_block(conn, watch, gate, parts, tx).await?)
            } else {
                let out = outside::run(conn, watch, gate, origin, (d, plan)).await?;
                Executed {
                    ran: out.ran(),
                    status,
                }
            }
        }
    })
}
