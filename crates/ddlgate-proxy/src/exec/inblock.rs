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
use super::retry::{backoff, notify_blockers};
use super::watch::Watch;
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

/// Runs `steps` in the client's transaction block.
pub async fn run_in_block(
    conn: &mut impl PlanConn,
    steps: &[Step],
    cfg: &Execution,
    watch: &mut impl Watch,
) -> Result<InBlockOutcome, ProxyError> {
    let mut records = Vec::new();
    let saved = conn
        .query("SELECT current_setting('lock_timeout')")
        .await?
        .scalar()
        .unwrap_or("0")
        .to_owned();
    for step in steps {
        let started = Instant::now();
        if let Some(check) = &step.idempotency_check {
            let r = conn.query(check).await?;
            if let Some(e) = r.error {
                return Ok(InBlockOutcome::Failed(records, e));
            }
            if r.scalar() == Some("t") {
                records.push(StepRecord::new(step, "skipped", 0, started, None));
                continue;
            }
        }
        let lock_timeout = match step.lock_timeout {
            LockTimeoutPolicy::Short { .. } => format!("{}ms", cfg.lock_timeout_ms),
            _ => saved.clone(),
        };
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            checked(conn, &format!("SAVEPOINT {SAVEPOINT}")).await?;
            checked(
                conn,
                &format!(
                    "SELECT set_config('lock_timeout', {}, true)",
                    quote_literal(&lock_timeout)
                ),
            )
            .await?;
            let r = conn.query(&step.sql).await?;
            match r.error {
                None => {
                    checked(
                        conn,
                        &format!(
                            "SELECT set_config('lock_timeout', {}, true)",
                            quote_literal(&saved)
                        ),
                    )
                    .await?;
                    checked(conn, &format!("RELEASE SAVEPOINT {SAVEPOINT}")).await?;
                    records.push(StepRecord::new(step, "done", attempts, started, None));
                    break;
                }
                Some(e)
                    if e.is_lock_conflict() && attempts <= cfg.lock_retries && !watch.gone() =>
                {
                    // Rolling back to the savepoint also restores lock_timeout.
                    checked(conn, &format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}")).await?;
                    let wait = backoff(cfg, attempts - 1);
                    notify_blockers(conn, &step.sql, attempts - 1, wait).await?;
                    tokio::time::sleep(wait).await;
                }
                Some(e) => {
                    records.push(StepRecord::new(
                        step,
                        "failed",
                        attempts,
                        started,
                        Some(e.clone()),
                    ));
                    return Ok(InBlockOutcome::Failed(records, e));
                }
            }
        }
    }
    Ok(InBlockOutcome::Done(records))
}
