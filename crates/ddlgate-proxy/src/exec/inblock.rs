//! Running plan steps inside the client's own transaction block.
//!
//! A lock timeout inside a transaction block aborts the whole transaction, so each step runs
//! under its own savepoint (docs, SAVEPOINT): on SQLSTATE 55P03/40P01 the gateway rolls back to
//! the savepoint — the client's transaction is intact — waits and retries. Any other error is
//! left as it is: the client's transaction is aborted exactly as if it had sent the statement
//! itself. `lock_timeout` is set with `set_config(…, true)` (transaction-local) and put back to
//! the value it had, so the client's own setting is unchanged after the step.

use std::time::Instant;

use ddlgate_config::Execution;
use ddlgate_ddl::{quote_literal, LockTimeoutPolicy, Step};

use super::conn::{PlanConn, ServerError};
use super::outcome::StepRecord;
use super::retry::{notify_blockers, LockRetry};
use super::watch::Watch;
use crate::enforce::StepOutcome;
use crate::ProxyError;

/// The savepoint each step runs under.
const SAVEPOINT: &str = "ddlgate_step";

/// How the in-transaction steps went.
#[derive(Debug)]
pub enum InBlockOutcome {
    /// Every step done (or already done).
    Done(Vec<StepRecord>),
    /// A step failed; the client's transaction is aborted.
    Failed(Vec<StepRecord>, ServerError),
}

async fn checked(conn: &mut impl PlanConn, sql: &str) -> Result<(), ProxyError> {
    match conn.query(sql).await?.error {
        None => Ok(()),
        Some(e) => Err(ProxyError::Capture(format!(
            "ddlgate control statement failed: {}",
            e.message
        ))),
    }
}

/// The session's lock_timeout.
pub(crate) const LOCK_TIMEOUT: &str = "SELECT pg_catalog.current_setting('lock_timeout')";

/// Sets `lock_timeout` until the end of the transaction (or the savepoint's rollback).
async fn set_local_lock_timeout(conn: &mut impl PlanConn, value: &str) -> Result<(), ProxyError> {
    checked(conn, &set_local_sql(value)).await
}

/// `SET LOCAL lock_timeout` as a query (qualified: it runs on the client's session).
pub(crate) fn set_local_sql(value: &str) -> String {
    format!(
        "SELECT pg_catalog.set_config('lock_timeout', {}, true)",
        quote_literal(value)
    )
}

/// Runs `steps` in the client's transaction block.
pub async fn run_in_block(
    conn: &mut impl PlanConn,
    steps: &[Step],
    cfg: &Execution,
    watch: &mut impl Watch,
) -> Result<InBlockOutcome, ProxyError> {
    let mut records = Vec::new();
    let saved = conn
        .query(LOCK_TIMEOUT)
        .await?
        .scalar()
        .unwrap_or("0")
        .to_owned();
    let mut block = Block {
        conn,
        cfg,
        watch,
        saved,
    };
    for step in steps {
        let started = Instant::now();
        if let Some(check) = &step.idempotency_check {
            let r = block.conn.query(check).await?;
            if let Some(e) = r.error {
                return Ok(InBlockOutcome::Failed(records, e));
            }
            if r.scalar() == Some("t") {
                records.push(StepRecord::new(
                    step,
                    StepOutcome::Skipped,
                    0,
                    started,
                    None,
                ));
                continue;
            }
        }
        match block.run_step(step).await? {
            (attempts, Ok(())) => {
                records.push(StepRecord::new(
                    step,
                    StepOutcome::Done,
                    attempts,
                    started,
                    None,
                ));
            }
            (attempts, Err(e)) => {
                let record = StepRecord::new(
                    step,
                    StepOutcome::Failed,
                    attempts,
                    started,
                    Some(e.clone()),
                );
                records.push(record);
                return Ok(InBlockOutcome::Failed(records, e));
            }
        }
    }
    Ok(InBlockOutcome::Done(records))
}

/// The client's transaction block while steps run in it.
struct Block<'a, C, W> {
    conn: &'a mut C,
    cfg: &'a Execution,
    watch: &'a mut W,
    /// The transaction's `lock_timeout` before the steps, put back after each.
    saved: String,
}

impl<C: PlanConn, W: Watch> Block<'_, C, W> {
    /// Runs one step under the savepoint until it succeeds or fails for good; on a lock
    /// conflict rolls back to the savepoint, waits and retries. Returns the attempts made.
    async fn run_step(
        &mut self,
        step: &Step,
    ) -> Result<(u32, Result<(), ServerError>), ProxyError> {
        let lock_timeout = match step.lock_timeout {
            LockTimeoutPolicy::Short { .. } => format!("{}ms", self.cfg.lock_timeout_ms),
            _ => self.saved.clone(),
        };
        let mut retry = LockRetry::start();
        loop {
            let attempts = retry.retries() + 1;
            checked(self.conn, &format!("SAVEPOINT {SAVEPOINT}")).await?;
            set_local_lock_timeout(self.conn, &lock_timeout).await?;
            let r = self.conn.query(&step.sql).await?;
            match r.error {
                None => {
                    set_local_lock_timeout(self.conn, &self.saved).await?;
                    checked(self.conn, &format!("RELEASE SAVEPOINT {SAVEPOINT}")).await?;
                    return Ok((attempts, Ok(())));
                }
                Some(e) if e.is_lock_conflict() && !self.watch.gone() => {
                    let Some(wait) = retry.next(self.cfg) else {
                        return Ok((attempts, Err(e)));
                    };
                    // Rolling back to the savepoint also restores lock_timeout.
                    checked(self.conn, &format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}")).await?;
                    notify_blockers(self.conn, &step.sql, attempts - 1, wait).await?;
                    tokio::time::sleep(wait).await;
                }
                Some(e) => return Ok((attempts, Err(e))),
            }
        }
    }
}
