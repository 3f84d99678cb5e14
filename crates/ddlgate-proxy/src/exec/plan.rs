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
use ddlgate_ddl::{quote_literal, LockTimeoutPolicy, Plan, Step, StepKind};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::backfill::{Backfill, BackfillEnd};
use super::conn::{PlanConn, ServerError};
use super::outcome::{cancel_error, OnFailure, PlanOutcome, StepRecord};
use super::retry::{notify_blockers, LockRetry};
use super::settings::{save_settings, set_timeouts, under_short_lock_timeout, SavedSettings};
use super::watch::Watch;
use crate::enforce::StepOutcome;
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

/// The query for [`invalid_indexes`] (qualified: it runs on the client's session).
pub(crate) fn invalid_indexes_sql(table: &str) -> String {
    format!(
        "SELECT indexrelid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_index \
         WHERE indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass({}) AND NOT indisvalid",
        quote_literal(table)
    )
}

/// INVALID indexes on `table` (quoted), as regclass text.
async fn invalid_indexes(conn: &mut impl PlanConn, table: &str) -> Result<Vec<String>, ProxyError> {
    let r = conn.query(&invalid_indexes_sql(table)).await?;
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
    let mut run = PlanRun {
        conn,
        plan,
        on_failure,
        cfg,
        watch,
        saved,
        records: Vec::new(),
        done: Vec::new(),
    };
    for (i, step) in plan.steps.iter().enumerate().skip(from) {
        run.watch.progress(i, 0);
        if run.watch.gone() {
            return run.stop_between_steps().await;
        }
        let started = Instant::now();
        if run.already_done(step).await? {
            run.ended(
                i,
                StepRecord::new(step, StepOutcome::Skipped, 0, started, None),
            );
            continue;
        }
        match run.run_step(i, step).await? {
            StepEnd::Done { attempts } => {
                run.done.push(i);
                run.ended(
                    i,
                    StepRecord::new(step, StepOutcome::Done, attempts, started, None),
                );
            }
            StepEnd::Failed { attempts, error } => {
                let record = StepRecord::new(
                    step,
                    StepOutcome::Failed,
                    attempts,
                    started,
                    Some(error.clone()),
                );
                run.ended(i, record);
                return run.fail(error).await;
            }
            StepEnd::Interrupted { attempts } => {
                let record =
                    StepRecord::new(step, StepOutcome::Interrupted, attempts, started, None);
                run.ended(i, record);
                return Ok(PlanOutcome::ClientGone(run.records));
            }
        }
    }
    Ok(PlanOutcome::Completed(run.records))
}

/// A plan run in progress: what its phases share.
struct PlanRun<'a, C, W> {
    conn: &'a mut C,
    plan: &'a Plan,
    on_failure: OnFailure,
    cfg: &'a Execution,
    watch: &'a mut W,
    /// The session's own timeouts, put back after every statement.
    saved: SavedSettings,
    /// One record per step run so far.
    records: Vec<StepRecord>,
    /// Indexes of the steps this run did (what a rollback undoes).
    done: Vec<usize>,
}

/// How a step ended, after its retries.
enum StepEnd {
    Done {
        attempts: u32,
    },
    Failed {
        attempts: u32,
        error: ServerError,
    },
    /// The client went away during a backfill (without cancelling): stopped between batches.
    Interrupted {
        attempts: u32,
    },
}

/// How one attempt at a step went.
enum Attempt {
    Succeeded,
    Failed(ServerError),
    /// See [`StepEnd::Interrupted`].
    Interrupted,
}

impl<C: PlanConn, W: Watch> PlanRun<'_, C, W> {
    /// Stops at the safe point before a step: a cancel fails the plan, a client gone leaves it
    /// resumable.
    /// Step `i` ended as `record` says: reported to the watch, kept for the outcome.
    fn ended(&mut self, i: usize, record: StepRecord) {
        self.watch.step_ended(i, &record.audit());
        self.records.push(record);
    }

    async fn stop_between_steps(self) -> Result<PlanOutcome, ProxyError> {
        if self.watch.cancelled() {
            return self.fail(cancel_error()).await;
        }
        Ok(PlanOutcome::ClientGone(self.records))
    }

    /// Ends the plan with `error`, first undoing the steps done when the plan rolls back.
    async fn fail(self, error: ServerError) -> Result<PlanOutcome, ProxyError> {
        if self.on_failure == OnFailure::RollBack {
            roll_back(self.conn, self.plan, &self.done, self.cfg, &self.saved).await?;
        }
        Ok(PlanOutcome::Failed(self.records, error))
    }

    /// Whether the step's idempotency check says it is done already.
    async fn already_done(&mut self, step: &Step) -> Result<bool, ProxyError> {
        match &step.idempotency_check {
            Some(check) => Ok(self.conn.query(check).await?.scalar() == Some("t")),
            None => Ok(false),
        }
    }

    /// The `lock_timeout` and `statement_timeout` a step runs with.
    fn step_timeouts(&self, step: &Step) -> (String, String) {
        let (cfg, saved) = (self.cfg, &self.saved);
        match step.lock_timeout {
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
        }
    }

    /// Attempts step `i` until it succeeds or fails for good, waiting out lock conflicts.
    async fn run_step(&mut self, i: usize, step: &Step) -> Result<StepEnd, ProxyError> {
        let (lock_timeout, statement_timeout) = self.step_timeouts(step);
        let index_table = index_build_table(&step.sql);
        // INVALID indexes that were there before: never ours to drop.
        let invalid_before = match &index_table {
            Some(t) => invalid_indexes(self.conn, t).await?,
            None => Vec::new(),
        };
        let mut retry = LockRetry::start();
        loop {
            let attempts = retry.retries() + 1;
            set_timeouts(self.conn, &lock_timeout, &statement_timeout).await?;
            let attempt = self.attempt(i, step).await?;
            set_timeouts(
                self.conn,
                &self.saved.lock_timeout,
                &self.saved.statement_timeout,
            )
            .await?;
            let error = match attempt {
                Attempt::Succeeded => return Ok(StepEnd::Done { attempts }),
                Attempt::Interrupted => return Ok(StepEnd::Interrupted { attempts }),
                Attempt::Failed(e) => e,
            };
            if let Some(table) = &index_table {
                self.drop_new_invalid_indexes(table, &invalid_before, &error)
                    .await?;
            }
            if error.is_lock_conflict() && !self.watch.gone() {
                if let Some(wait) = retry.next(self.cfg) {
                    notify_blockers(self.conn, &step.sql, attempts - 1, wait).await?;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok(StepEnd::Failed { attempts, error });
        }
    }

    /// One attempt at step `i`'s work: its DDL statement, or its whole backfill.
    async fn attempt(&mut self, i: usize, step: &Step) -> Result<Attempt, ProxyError> {
        match &step.kind {
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
                Ok(match job.run(self.conn, self.cfg, self.watch, i).await? {
                    BackfillEnd::Done => Attempt::Succeeded,
                    BackfillEnd::Failed(e) => Attempt::Failed(e),
                    BackfillEnd::ClientGone if self.watch.cancelled() => {
                        Attempt::Failed(cancel_error())
                    }
                    BackfillEnd::ClientGone => Attempt::Interrupted,
                })
            }
            StepKind::Ddl => Ok(match self.conn.query(&step.sql).await?.error {
                None => Attempt::Succeeded,
                Some(e) => Attempt::Failed(e),
            }),
        }
    }

    /// A failed CONCURRENTLY build leaves an INVALID index behind (named or not): drops the
    /// ones this attempt created (not in `before`), so nothing half-built remains.
    async fn drop_new_invalid_indexes(
        &mut self,
        table: &str,
        before: &[String],
        error: &ServerError,
    ) -> Result<(), ProxyError> {
        for index in invalid_indexes(self.conn, table).await? {
            if before.contains(&index) {
                continue;
            }
            self.conn
                .query(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"))
                .await?;
            self.conn
                .notice(&Notice::new(
                    Severity::Notice,
                    SqlState::Warning,
                    format!(
                        "ddlgate: index build failed ({}); dropped the INVALID index {index} it left",
                        error.message
                    ),
                ))
                .await?;
        }
        Ok(())
    }
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
        let mut retry = LockRetry::start();
        loop {
            let r = under_short_lock_timeout(conn, cfg, saved, sql).await?;
            match r.error {
                Some(e) if e.is_lock_conflict() && retry.retries() < cfg.lock_retries => {
                    match retry.next(cfg) {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => {
                            tracing::warn!(code = e.code.code(), message = %e.message, rollback = sql, "rollback step failed: lock deadline");
                            break;
                        }
                    }
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
