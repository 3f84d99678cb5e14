//! Running the client's own statement with a short `lock_timeout`
//! ([lock_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT)),
//! retrying on 55P03 (lock_not_available) and 40P01 (deadlock_detected) instead of queueing
//! behind the lock holders.

use std::time::Instant;

use ddlgate_config::Execution;

use super::conn::{PlanConn, ServerError};
use super::outcome::{cancel_error, StepRecord};
use super::retry::{notify_blockers, LockRetry};
use super::settings::{save_settings, under_short_lock_timeout};
use super::watch::Watch;
use crate::enforce::StepOutcome;
use crate::ProxyError;

/// Runs the client's own statement with a short `lock_timeout`, retrying on lock conflicts.
/// Returns the command tag on success.
pub async fn run_guarded(
    conn: &mut impl PlanConn,
    sql: &str,
    cfg: &Execution,
    watch: &mut impl Watch,
) -> Result<(Result<String, ServerError>, StepRecord), ProxyError> {
    let started = Instant::now();
    let saved = save_settings(conn).await?;
    let mut retry = LockRetry::start();
    let result = loop {
        let r = under_short_lock_timeout(conn, cfg, &saved, sql).await?;
        match r.error {
            None => break Ok(r.tags.last().cloned().unwrap_or_default()),
            Some(e) if e.is_lock_conflict() && !watch.gone() => match retry.next(cfg) {
                Some(wait) => {
                    notify_blockers(conn, sql, retry.retries() - 1, wait).await?;
                    tokio::time::sleep(wait).await;
                }
                None => break Err(e),
            },
            Some(_) if watch.cancelled() => break Err(cancel_error()),
            Some(e) => break Err(e),
        }
    };
    let attempt = retry.retries();
    let record = StepRecord {
        description: "statement with a short lock_timeout".into(),
        outcome: if result.is_ok() {
            StepOutcome::Done
        } else {
            StepOutcome::Failed
        },
        attempts: attempt + 1,
        duration: started.elapsed(),
        error: result.as_ref().err().cloned(),
    };
    Ok((result, record))
}
