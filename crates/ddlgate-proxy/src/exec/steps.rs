//! Running plans and guarded statements with lock safety
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

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ddlgate_config::Execution;
use ddlgate_ddl::ir::Stmt;
use ddlgate_ddl::{analyze, quote_literal, Facts, LockTimeoutPolicy, Plan, StepKind};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;
use rand::Rng;
use tokio::io::AsyncReadExt;

use super::conn::{PlanConn, ServerError};
use crate::enforce::AuditStep;
use crate::stream::ReadHalf;
use crate::ProxyError;

/// Watches the client connection without blocking: bytes it sends meanwhile are kept for the
/// relay; end of stream means the client has gone.
pub struct ClientWatch<'a> {
    /// Client read half.
    pub src: &'a mut ReadHalf,
    /// The relay's client buffer (read-ahead is appended, not lost).
    pub buf: &'a mut BytesMut,
    /// Set by the cancel map when the client sends a CancelRequest for this session: a cancel
    /// that arrives between two statements of a plan has nothing upstream to cancel, so the
    /// plan itself must stop.
    pub cancel: &'a AtomicBool,
}

/// What a running plan checks between steps and batches.
pub trait Watch {
    /// Whether the client cancelled: the plan stops and reports SQLSTATE 57014.
    fn cancelled(&self) -> bool;

    /// Whether the plan must stop at this safe point (cancelled, client gone, time is up).
    fn gone(&mut self) -> bool;

    /// Progress: `step` is the index of the step running, `rows` the rows a backfill has
    /// written so far (durable jobs record it).
    fn progress(&mut self, _step: usize, _rows: u64) {}
}

impl ClientWatch<'_> {
    /// Whether the client has closed its connection (bytes it sent meanwhile are kept).
    pub fn disconnected(&mut self) -> bool {
        let fut = pin!(self.src.read_buf(self.buf));
        let mut cx = Context::from_waker(Waker::noop());
        matches!(fut.poll(&mut cx), Poll::Ready(Ok(0) | Err(_)))
    }
}

impl<W: Watch + ?Sized> Watch for &mut W {
    fn cancelled(&self) -> bool {
        (**self).cancelled()
    }

    fn gone(&mut self) -> bool {
        (**self).gone()
    }

    fn progress(&mut self, step: usize, rows: u64) {
        (**self).progress(step, rows);
    }
}

impl Watch for ClientWatch<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn gone(&mut self) -> bool {
        self.cancelled() || self.disconnected()
    }
}

/// The error a cancelled plan reports, as PostgreSQL words it.
pub fn cancel_error() -> ServerError {
    let n = Notice::new(
        Severity::Error,
        SqlState::QueryCanceled,
        "canceling statement due to user request",
    );
    let mut b = BytesMut::new();
    n.encode_error(&mut b);
    ServerError {
        code: SqlState::QueryCanceled,
        message: n.message,
        frame: b.freeze(),
    }
}

/// How one step went.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// Step description.
    pub description: String,
    /// Outcome word for the audit log.
    pub outcome: &'static str,
    /// Attempts made.
    pub attempts: u32,
    /// Time spent.
    pub duration: Duration,
    /// The error, when it failed.
    pub error: Option<ServerError>,
}

impl StepRecord {
    /// A record for `step`, started at `started`.
    pub fn new(
        step: &ddlgate_ddl::Step,
        outcome: &'static str,
        attempts: u32,
        started: Instant,
        error: Option<ServerError>,
    ) -> Self {
        Self {
            description: step.description.clone(),
            outcome,
            attempts,
            duration: started.elapsed(),
            error,
        }
    }

    /// The audit form.
    pub fn audit(&self) -> AuditStep {
        AuditStep {
            description: self.description.clone(),
            outcome: self.outcome,
            attempts: self.attempts,
            duration_ms: self.duration.as_millis() as u64,
            error: self
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code.code(), e.message)),
        }
    }
}

/// How a plan went.
#[derive(Debug)]
pub enum PlanOutcome {
    /// Every step done (or already done).
    Completed(Vec<StepRecord>),
    /// A step failed; completed steps were rolled back where they have a rollback.
    Failed(Vec<StepRecord>, ServerError),
    /// The client disconnected; stopped between steps.
    ClientGone(Vec<StepRecord>),
}

/// Session settings a plan changes and restores.
struct SavedSettings {
    lock_timeout: String,
    statement_timeout: String,
}

async fn save_settings(conn: &mut impl PlanConn) -> Result<SavedSettings, ProxyError> {
    let r = conn
        .query("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        .await?;
    let row = r.rows.first().cloned().unwrap_or_default();
    let get = |i: usize| {
        row.get(i)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "0".to_owned())
    };
    Ok(SavedSettings {
        lock_timeout: get(0),
        statement_timeout: get(1),
    })
}

async fn set_timeouts(
    conn: &mut impl PlanConn,
    lock_timeout: &str,
    statement_timeout: &str,
) -> Result<(), ProxyError> {
    let sql = format!(
        "SELECT set_config('lock_timeout', {}, false), set_config('statement_timeout', {}, false)",
        quote_literal(lock_timeout),
        quote_literal(statement_timeout)
    );
    conn.query(&sql).await?;
    Ok(())
}

pub(super) fn backoff(cfg: &Execution, attempt: u32) -> Duration {
    let base = cfg
        .retry_backoff_ms
        .saturating_mul(1u64 << attempt.min(16))
        .min(cfg.retry_backoff_max_ms);
    let jitter = rand::thread_rng().gen_range(0..=base / 2);
    Duration::from_millis(base / 2 + jitter)
}

/// Tells the client who holds locks on the tables `sql` touches.
pub(super) async fn notify_blockers(
    conn: &mut impl PlanConn,
    sql: &str,
    attempt: u32,
    wait: Duration,
) -> Result<(), ProxyError> {
    let tables: Vec<String> = analyze(sql, &Facts::default(), &Default::default())
        .iter()
        .flat_map(|d| {
            d.locks
                .keys()
                .map(|t| format!("to_regclass({})", quote_literal(&t.quoted())))
        })
        .collect();
    let mut holders = Vec::new();
    if !tables.is_empty() {
        let q = format!(
            "SELECT DISTINCT a.pid::text, coalesce(a.state, ''), coalesce(extract(epoch FROM clock_timestamp() - a.xact_start)::bigint::text, '?'), \
             coalesce(to_char(a.query_start, 'HH24:MI:SS'), '?'), left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60) \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'relation' AND l.granted AND a.pid <> pg_backend_pid() AND l.relation = ANY(ARRAY[{}]::regclass[])",
            tables.join(", ")
        );
        let r = conn.query(&q).await?;
        for row in r.rows.iter().take(5) {
            let c = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            holders.push(format!(
                "pid {} ({}, transaction open {}s, query started {}: {})",
                c(0),
                c(1),
                c(2),
                c(3),
                c(4)
            ));
        }
    }
    let who = if holders.is_empty() {
        "no lock holder visible any more".to_owned()
    } else {
        holders.join("; ")
    };
    let n = Notice::new(
        Severity::Notice,
        SqlState::LockNotAvailable,
        format!(
            "ddlgate: lock not available (attempt {}), retrying in {} ms instead of queueing",
            attempt + 1,
            wait.as_millis()
        ),
    )
    .detail(format!("blocking: {who}"));
    conn.notice(&n).await
}

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
    let mut attempt = 0;
    let result = loop {
        set_timeouts(
            conn,
            &format!("{}ms", cfg.lock_timeout_ms),
            &saved.statement_timeout,
        )
        .await?;
        let r = conn.query(sql).await?;
        set_timeouts(conn, &saved.lock_timeout, &saved.statement_timeout).await?;
        match r.error {
            None => break Ok(r.tags.last().cloned().unwrap_or_default()),
            Some(e) if e.is_lock_conflict() && attempt < cfg.lock_retries && !watch.gone() => {
                let wait = backoff(cfg, attempt);
                notify_blockers(conn, sql, attempt, wait).await?;
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Some(_) if watch.cancelled() => break Err(cancel_error()),
            Some(e) => break Err(e),
        }
    };
    let record = StepRecord {
        description: "statement with a short lock_timeout".into(),
        outcome: if result.is_ok() { "done" } else { "failed" },
        attempts: attempt + 1,
        duration: started.elapsed(),
        error: result.as_ref().err().cloned(),
    };
    Ok((result, record))
}

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

/// What a failed step does to the steps before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Undo them (the client's statement fails as a whole).
    RollBack,
    /// Keep them: the client's transaction has committed, the rest is resumable work.
    Keep,
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
                    let job = super::backfill::Backfill {
                        table,
                        column,
                        expr,
                        key,
                        batch_rows: *batch_rows,
                    };
                    match job.run(conn, cfg, watch, i).await? {
                        super::backfill::BackfillEnd::Done => Ok(()),
                        super::backfill::BackfillEnd::Failed(e) => Err(e),
                        super::backfill::BackfillEnd::ClientGone if watch.cancelled() => {
                            Err(cancel_error())
                        }
                        super::backfill::BackfillEnd::ClientGone => {
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
