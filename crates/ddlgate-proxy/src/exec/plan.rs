//! Running plans step by step with lock safety
//! ([lock_timeout](https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT)):
//!
//! * strong-lock steps run with a short `lock_timeout` and are retried on 55P03
//!   (lock_not_available) and 40P01 (deadlock_detected) with bounded exponential backoff and
//!   jitter; each timeout sends the client a notice naming the sessions holding locks on the
//!   table;
//! * CONCURRENTLY steps get no short `lock_timeout` (their waits for old snapshots are lock
//!   waits, and a cancelled build leaves an INVALID index) but an overall `statement_timeout`;
//!   an INVALID index left by a failed build is dropped only if this run created it, then the
//!   build is retried;
//! * every step first runs its idempotency check and is skipped when already done, so a
//!   re-run converges;
//! * between steps (and backfill batches) the client is checked: if it has gone, the plan stops
//!   at that safe point and the audit record says what was done.

use std::time::Instant;

use ddlgate_config::Execution;
use ddlgate_ddl::ir::Stmt;
use ddlgate_ddl::{quote_literal, LockTimeoutPolicy, Plan, StepKind};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::backfill::{Backfill, BackfillEnd};
use super::conn::{PlanConn, ServerError};
use super::outcome::{cancel_error, OnFailure, PlanOutcome, StepRecord};
use super::retry::{backoff, notify_blockers};
use super::settings::{save_settings, set_timeouts, SavedSettings};
use super::watch::Watch;
use crate::ProxyError;

/// The table a `CREATE INDEX CONCURRENTLY` step builds on.
fn index_build_table(sql: &str) -> Option<String> {
    match ddlgate_ddl::parse_statement(sql).1 {
        Stmt::CreateIndex {
            table,
            concurrently: true,
            ..
        } => Some(table.quoted()),
        _ => None,
    }
}

/// INVALID indexes on `table` (quoted), as regclass text.
async fn invalid_indexes(conn: &mut impl PlanConn, table: &str) -> Result<Vec<String>, ProxyError> {
    let r = conn
        .query(&format!(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = to_regclass({}) AND NOT indisvalid",
            quote_literal(table)
        ))
        .await?;
    Ok(r.rows
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect())
}

/// Runs a plan step by step, starting at step `from`.
pub async fn run_plan(
    conn: &mut impl PlanConn,
    plan: &Plan,
    from: usize,
    on_failure: OnFailure,
    cfg: &Execution,
    watch: &mut impl Watch,
) -> Result<PlanOutcome, ProxyError> {
    let saved = save_settings(conn).await?;
    let mut records: Vec<StepRecord> = Vec::new();
    let mut done: Vec<usize> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate().skip(from) {
        watch.progress(i, 0);
        if watch.gone() {
            if watch.cancelled() {
                if on_failure == OnFailure::RollBack {
                    roll_back(conn, plan, &done, cfg, &saved).await?;
                }
                return Ok(PlanOutcome::Failed(records, cancel_error()));
            }
            return Ok(PlanOutcome::ClientGone(records));
        }
        let started = Instant::now();
        if let Some(check) = &step.idempotency_check {
            if conn.query(check).await?.scalar() == Some("t") {
                records.push(StepRecord {
                    description: step.description.clone(),
                    outcome: "skipped",
                    attempts: 0,
                    duration: started.elapsed(),
                    error: None,
                });
                continue;
            }
        }
        let (lock_timeout, statement_timeout) = match step.lock_timeout {
            LockTimeoutPolicy::Short { .. } => (
                format!("{}ms", cfg.lock_timeout_ms),
                saved.statement_timeout.clone(),
            ),
            LockTimeoutPolicy::Deadline { .. } => {
                ("0".to_owned(), format!("{}s", cfg.concurrent_deadline_secs))
            }
            LockTimeoutPolicy::None => {
                (saved.lock_timeout.clone(), saved.statement_timeout.clone())
            }
        };
        let mut attempts = 0u32;
        let index_table = index_build_table(&step.sql);
        // INVALID indexes that were there before: never ours to drop.
        let invalid_before = match &index_table {
            Some(t) => invalid_indexes(conn, t).await?,
            None => Vec::new(),
        };
        let result: Result<(), ServerError> = loop {
            attempts += 1;
            set_timeouts(conn, &lock_timeout, &statement_timeout).await?;
            let outcome = match &step.kind {
                StepKind::Backfill {
                    table,
                    column,
                    expr,
                    key,
                    batch_rows,
                } => {
                    let job = Backfill {
                        table,
                        column,
                        expr,
                        key,
                        batch_rows: *batch_rows,
                    };
                    match job.run(conn, cfg, watch, i).await? {
                        BackfillEnd::Done => Ok(()),
                        BackfillEnd::Failed(e) => Err(e),
                        BackfillEnd::ClientGone if watch.cancelled() => Err(cancel_error()),
                        BackfillEnd::ClientGone => {
                            set_timeouts(conn, &saved.lock_timeout, &saved.statement_timeout)
                                .await?;
                            records.push(StepRecord {
                                description: step.description.clone(),
                                outcome: "interrupted",
                                attempts,
                                duration: started.elapsed(),
                                error: None,
                            });
                            return Ok(PlanOutcome::ClientGone(records));
                        }
                    }
                }
                StepKind::Ddl => match conn.query(&step.sql).await?.error {
                    None => Ok(()),
                    Some(e) => Err(e),
                },
            };
            set_timeouts(conn, &saved.lock_timeout, &saved.statement_timeout).await?;
            match outcome {
                Ok(()) => break Ok(()),
                Err(e) => {
                    // A failed CONCURRENTLY build leaves an INVALID index behind (named or not):
                    // drop the ones this attempt created, so nothing half-built remains.
                    if let Some(table) = &index_table {
                        for index in invalid_indexes(conn, table).await? {
                            if invalid_before.contains(&index) {
                                continue;
                            }
                            conn.query(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                                .await?;
                            conn.notice(&Notice::new(
                                Severity::Notice,
                                SqlState::Warning,
                                format!("ddlgate: index build failed ({}); dropped the INVALID index {index} it left", e.message),
                            ))
                            .await?;
                        }
                    }
                    if e.is_lock_conflict() && attempts <= cfg.lock_retries && !watch.gone() {
                        let wait = backoff(cfg, attempts - 1);
                        notify_blockers(conn, &step.sql, attempts - 1, wait).await?;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    break Err(e);
                }
            }
        };
        match result {
            Ok(()) => {
                done.push(i);
                records.push(StepRecord {
                    description: step.description.clone(),
                    outcome: "done",
                    attempts,
                    duration: started.elapsed(),
                    error: None,
                });
            }
            Err(e) => {
                records.push(StepRecord {
                    description: step.description.clone(),
                    outcome: "failed",
                    attempts,
                    duration: started.elapsed(),
                    error: Some(e.clone()),
                });
                if on_failure == OnFailure::RollBack {
                    roll_back(conn, plan, &done, cfg, &saved).await?;
                }
                return Ok(PlanOutcome::Failed(records, e));
            }
        }
    }
    Ok(PlanOutcome::Completed(records))
}

/// Undoes completed steps in reverse order (best effort, each with the short lock_timeout),
/// so a failed plan leaves the schema as the failed statement would have.
async fn roll_back(
    conn: &mut impl PlanConn,
    plan: &Plan,
    done: &[usize],
    cfg: &Execution,
    saved: &SavedSettings,
) -> Result<(), ProxyError> {
    for &i in done.iter().rev() {
        let Some(sql) = plan.steps.get(i).and_then(|s| s.rollback.as_deref()) else {
            continue;
        };
        for attempt in 0..=cfg.lock_retries {
            set_timeouts(
                conn,
                &format!("{}ms", cfg.lock_timeout_ms),
                &saved.statement_timeout,
            )
            .await?;
            let r = conn.query(sql).await?;
            set_timeouts(conn, &saved.lock_timeout, &saved.statement_timeout).await?;
            match r.error {
                Some(e) if e.is_lock_conflict() && attempt < cfg.lock_retries => {
                    tokio::time::sleep(backoff(cfg, attempt)).await
                }
                Some(e) => {
                    tracing::warn!(code = e.code.code(), message = %e.message, rollback = sql, "rollback step failed");
                    break;
                }
                None => break,
            }
        }
    }
    Ok(())
}
