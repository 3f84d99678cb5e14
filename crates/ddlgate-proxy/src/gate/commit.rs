//! The client's COMMIT of a block with steps deferred to it. The gateway forwards the COMMIT
//! and, once it has succeeded, runs the deferred steps on the same upstream connection, then
//! answers the COMMIT. In phases: check again the data nothing enforced since the statements
//! ran ([`recheck`]: a violation rolls back and fails the COMMIT with the server's error),
//! record the jobs ([`record_jobs`]), commit, run each plan ([`run_one`]; a plan needing one
//! that failed is skipped, the others run), and report how it ended ([`report`]). A failed or
//! rolled-back COMMIT drops them ([`drop_uncommitted`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ddlgate_ddl::plan::datacheck::{self, DataCheck, Recheck};
use ddlgate_ddl::Plan;
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{SqlState, TransactionStatus};

use super::audit::Origin;
use super::block::{BlockEnd, Deferred, TxWork};
use super::conn::{GateConn, Ran};
use super::datacheck::Scope;
use super::follow::drop_deferred;
use super::traced::run_traced;
use super::Gate;
use crate::enforce::{Action, AuditOutcome, PlanTrail};
use crate::exec::{self, OnFailure, PlanOutcome, QueryResult, StepRecord, Watch};
use crate::jobs::durable::{self, Ending};
use crate::jobs::{self, JobState, JobWatch};
use crate::ProxyError;

/// The watch used after COMMIT: the transaction is committed, so the deferred steps continue
/// when the client goes away (the session's upstream connection is the gateway's); only a
/// cancel stops them.
struct AfterCommit<'w, W> {
    client: &'w mut W,
}

impl<W: Watch> Watch for AfterCommit<'_, W> {
    fn cancelled(&self) -> bool {
        self.client.cancelled()
    }

    fn gone(&mut self) -> bool {
        self.client.cancelled()
    }
}

/// The client's transaction id, recorded with its jobs.
pub(crate) const TXID: &str = "SELECT pg_catalog.txid_current()";

/// The characteristics `COMMIT AND CHAIN` carries over to the next transaction (isolation
/// level, read-only, deferrable; <https://www.postgresql.org/docs/current/sql-commit.html>).
/// Fails in an aborted transaction.
pub(crate) const CHARACTERISTICS: &str = "SELECT pg_catalog.current_setting('transaction_isolation'), \
     pg_catalog.current_setting('transaction_read_only'), pg_catalog.current_setting('transaction_deferrable')";

/// The `START TRANSACTION` that opens a block with the characteristics read by
/// [`CHARACTERISTICS`], built by the gateway from known words only (the server's answer is
/// never run as text); `None` for an answer it does not know.
fn chained_start(row: &[Option<String>]) -> Option<String> {
    let value = |i: usize| row.get(i).and_then(|v| v.as_deref());
    let isolation = match value(0)? {
        v @ ("read uncommitted" | "read committed" | "repeatable read" | "serializable") => v,
        _ => return None,
    };
    let flag = |i: usize| ddlgate_wire::startup::parse_bool(value(i)?.as_bytes());
    let access = if flag(1)? { "READ ONLY" } else { "READ WRITE" };
    let deferrable = if flag(2)? {
        "DEFERRABLE"
    } else {
        "NOT DEFERRABLE"
    };
    Some(format!(
        "START TRANSACTION ISOLATION LEVEL {}, {access}, {deferrable}",
        isolation.to_ascii_uppercase()
    ))
}

async fn scalar(conn: &mut impl GateConn, sql: &str) -> Result<Option<String>, ProxyError> {
    Ok(conn.query(sql).await?.scalar().map(str::to_owned))
}

/// Forwards the client's COMMIT; when it commits, runs the deferred steps before answering.
/// Returns the answer and the transaction status after it.
///
/// With a control role, each deferred plan is first recorded as a job (with the client's
/// transaction id) and its advisory lock taken on this connection, so that whatever happens
/// to this gateway from here on, some gateway finishes the work exactly once.
///
/// `COMMIT AND CHAIN` would run the deferred steps inside the chained transaction, where
/// `CONCURRENTLY` fails and batches cannot commit: the gateway sends a plain `COMMIT`, runs
/// the steps, then opens the chained transaction itself with the same characteristics.
#[tracing::instrument(skip_all)]
pub async fn commit(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    (commit_sql, end): (&str, BlockEnd),
    tx: &mut TxWork,
) -> Result<(Ran, TransactionStatus), ProxyError> {
    let chained = match end {
        BlockEnd::CommitAndChain => {
            let r = conn.query(CHARACTERISTICS).await?;
            r.rows.first().and_then(|row| chained_start(row))
        }
        BlockEnd::Commit | BlockEnd::Rollback => None,
    };
    let sql = chained.as_deref().map_or(commit_sql, |_| "COMMIT");
    let (ran, status) = commit_and_run(conn, watch, gate, sql, tx).await?;
    let committed = matches!(&ran, Ran::Ok(t) if t == "COMMIT");
    let status = match chained {
        Some(start) if status == TransactionStatus::Idle && committed => conn
            .query(&start)
            .await?
            .status
            .unwrap_or(TransactionStatus::Idle),
        _ => status,
    };
    Ok((ran, status))
}

/// Where this COMMIT's jobs are recorded: the control connection (when there is one) and the
/// gateway's instance name.
struct Books<'g> {
    gate: &'g Gate<'g>,
    store: Option<Arc<tokio_postgres::Client>>,
    instance: String,
}

/// A deferred plan about to run at COMMIT, with its durable record when there is one.
struct Queued<'d> {
    job: &'d Deferred,
    key: i32,
    id: Option<i64>,
    locked: bool,
}

impl Queued<'_> {
    fn label(&self) -> String {
        self.id
            .map(|id| format!("job {id}"))
            .unwrap_or_else(|| "deferred work".into())
    }
}

/// Sends `commit_sql`; when it commits, runs the deferred steps. Returns the answer and the
/// transaction status the server reported after `commit_sql`.
async fn commit_and_run<'g>(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &'g Gate<'g>,
    commit_sql: &str,
    tx: &mut TxWork,
) -> Result<(Ran, TransactionStatus), ProxyError> {
    let deferred = tx.end();
    if let Some(e) = recheck(conn, &deferred).await? {
        // As PostgreSQL fails a COMMIT: the transaction is rolled back, the client gets the
        // error and is out of the block.
        let r = conn.query("ROLLBACK").await?;
        drop_deferred(gate, &deferred, AuditOutcome::DroppedCommitFailed);
        return Ok((Ran::Err(e), r.status.unwrap_or(TransactionStatus::Idle)));
    }
    let scope = gate.job_scope();
    let books = Books {
        gate,
        store: durable::control(scope).await,
        instance: durable::instance(scope),
    };
    let queued = record_jobs(conn, &books, &deferred).await?;
    let r = conn.query(commit_sql).await?;
    let status = r.status.unwrap_or(TransactionStatus::Idle);
    let committed = r.error.is_none() && r.tags.last().map(String::as_str) == Some("COMMIT");
    if !committed {
        let ran = drop_uncommitted(conn, &books, &queued, r).await?;
        return Ok((ran, status));
    }
    let cfg = &gate.enforcer.policy.execution;
    let deadline = (books.store.is_some() && cfg.commit_wait_secs > 0)
        .then(|| Instant::now() + Duration::from_secs(cfg.commit_wait_secs));
    let mut failed: Vec<&Deferred> = Vec::new();
    for q in &queued {
        if let Some(on) = failed.iter().find(|f| q.job.needs(f)) {
            skip_after_failure(conn, &books, q, on).await?;
            continue;
        }
        let run = run_one(conn, watch, &books, q, deadline).await?;
        if report(conn, &books, q, run).await? {
            failed.push(q.job);
        }
    }
    Ok((Ran::Ok("COMMIT".into()), status))
}

/// Checks again, in the client's transaction, what nothing enforced since the statements ran
/// (a unique key, a primary key's NULLs): the server's error for the first violation.
async fn recheck(
    conn: &mut impl GateConn,
    deferred: &[Deferred],
) -> Result<Option<exec::ServerError>, ProxyError> {
    let checks: Vec<DataCheck> = deferred
        .iter()
        .flat_map(|d| datacheck::checks(&d.steps))
        .filter(|c| c.recheck() == Recheck::AtCommit)
        .collect();
    super::datacheck::first_violation(conn, &checks, Scope::InBlock).await
}

/// Phase 1: records each deferred plan as a job (with a control role) and takes its lock.
async fn record_jobs<'d>(
    conn: &mut impl GateConn,
    books: &Books<'_>,
    deferred: &'d [Deferred],
) -> Result<Vec<Queued<'d>>, ProxyError> {
    let gate = books.gate;
    let xid = match &books.store {
        Some(_) => scalar(conn, TXID)
            .await?
            .and_then(|v| v.parse::<i64>().ok()),
        None => None,
    };
    let mut queued = Vec::with_capacity(deferred.len());
    for job in deferred {
        let key = jobs::job_key(&gate.info.database, &job.steps);
        let new = jobs::NewJob {
            key,
            state: JobState::AwaitingCommit,
            statement: &job.statement(),
            summary: &job.summary,
            steps: &job.steps,
            client_xid: xid,
            username: &gate.info.user,
            owner: &books.instance,
        };
        let id = durable::record(books.store.as_ref(), &new).await;
        let locked = durable::try_lock(conn, key).await?;
        queued.push(Queued {
            job,
            key,
            id,
            locked,
        });
    }
    Ok(queued)
}

/// The COMMIT did not commit (it failed, or the block had failed and it rolled back): the
/// jobs are dropped, their locks released, and the client gets the server's answer.
async fn drop_uncommitted(
    conn: &mut impl GateConn,
    books: &Books<'_>,
    queued: &[Queued<'_>],
    r: QueryResult,
) -> Result<Ran, ProxyError> {
    for q in queued {
        if let (Some(client), Some(id)) = (&books.store, q.id) {
            let _ = jobs::rows::set_state(client, id, JobState::Dropped, None, None).await;
        }
        if q.locked {
            durable::unlock(conn, q.key).await?;
        }
    }
    let why = if r.error.is_some() {
        AuditOutcome::DroppedCommitFailed
    } else {
        AuditOutcome::DroppedRolledBack
    };
    let dropped: Vec<Deferred> = queued.iter().map(|q| q.job.clone()).collect();
    drop_deferred(books.gate, &dropped, why);
    Ok(match r.error {
        Some(e) => Ran::Err(e),
        // COMMIT of a failed transaction answers ROLLBACK.
        None => Ran::Ok(r.tags.last().cloned().unwrap_or_else(|| "ROLLBACK".into())),
    })
}

/// An earlier plan of the transaction that this one needs failed: this one is not run.
async fn skip_after_failure(
    conn: &mut impl GateConn,
    books: &Books<'_>,
    q: &Queued<'_>,
    on: &Deferred,
) -> Result<(), ProxyError> {
    let error = format!(
        "not run: it needs the deferred work of an earlier statement that failed: {}",
        on.statement()
    );
    let end = Ending {
        from: 0,
        records: &[],
        state: JobState::Failed,
        error: Some(&error),
    };
    durable::finish(books.store.as_ref(), q.id, &books.instance, &end).await;
    if q.locked {
        durable::unlock(conn, q.key).await?;
    }
    Ok(())
}

/// How one deferred plan's run went.
struct RunEnd {
    outcome: PlanOutcome,
    /// Whether the run stopped because COMMIT stopped waiting (not cancelled).
    past_deadline: bool,
    /// Whether this connection holds the job's lock.
    held: bool,
    /// The run's audit trail (none when it did not start).
    trail: Option<PlanTrail>,
}

/// Phase 3: runs one deferred plan (after waiting for its lock if another runner has it).
async fn run_one(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    books: &Books<'_>,
    q: &Queued<'_>,
    deadline: Option<Instant>,
) -> Result<RunEnd, ProxyError> {
    let label = q.label();
    if !q.locked {
        let mut after = AfterCommit { client: watch };
        if let Err(e) = durable::wait_lock(conn, q.key, &label, &mut after).await? {
            // The wait itself failed (e.g. the session's statement_timeout): the runner that
            // holds the lock is doing this work; the job stays resumable.
            return Ok(RunEnd {
                outcome: PlanOutcome::Failed(Vec::new(), e),
                past_deadline: false,
                held: false,
                trail: None,
            });
        }
    }
    durable::running(books.store.as_ref(), q.id, &books.instance).await;
    let job = q.job;
    conn.notice(&Notice::new(
        Severity::Notice,
        SqlState::SuccessfulCompletion,
        format!(
            "ddlgate: COMMIT done; now running {} deferred step(s) ({label}) for: {}",
            job.steps.len(),
            job.statement()
        ),
    ))
    .await?;
    let plan = Plan {
        summary: job.summary.clone(),
        steps: job.steps.clone(),
    };
    let progress = match (&books.store, q.id) {
        (Some(client), Some(id)) => Some(jobs::progress_writer(client.clone(), id)),
        _ => None,
    };
    let origin = Origin {
        protocol: job.protocol,
        sql: &job.text,
    };
    let trail = books.gate.trail(&origin, &job.decision, Action::Rewrite);
    let mut jw = JobWatch::new(AfterCommit { client: watch }, progress);
    jw.deadline = deadline;
    let run = (
        &plan,
        OnFailure::Keep,
        &books.gate.enforcer.policy.execution,
    );
    let outcome = run_traced(conn, run, &mut jw, &trail, " after COMMIT").await?;
    Ok(RunEnd {
        outcome,
        past_deadline: jw.past_deadline() && !jw.cancelled(),
        held: true,
        trail: Some(trail),
    })
}

/// Phase 4: writes how a run ended (job row, lock, audit) and tells the client: a hand-over
/// to the background, or a failure with what remains. Returns whether it failed.
async fn report(
    conn: &mut impl GateConn,
    books: &Books<'_>,
    q: &Queued<'_>,
    run: RunEnd,
) -> Result<bool, ProxyError> {
    let job = q.job;
    let (records, error): (Vec<StepRecord>, Option<String>) = match run.outcome {
        PlanOutcome::Completed(records) => (records, None),
        PlanOutcome::Failed(records, e) => (records, Some(e.message)),
        PlanOutcome::ClientGone(records) if run.past_deadline => (records, None),
        PlanOutcome::ClientGone(records) => (records, Some("cancelled".to_owned())),
    };
    let next = jobs::next_step(0, &records);
    let handed_over = run.past_deadline && next < job.steps.len();
    let state = match (&error, handed_over) {
        (Some(_), _) => JobState::Failed,
        (None, true) => JobState::Queued,
        (None, false) => JobState::Completed,
    };
    let end = Ending {
        from: 0,
        records: &records,
        state,
        error: error.as_deref(),
    };
    let (store, instance) = (books.store.as_ref(), &books.instance);
    if run.held {
        durable::release(conn, store, (q.id, q.key), instance, &end).await?;
    } else {
        durable::finish(store, q.id, instance, &end).await;
    }
    let origin = Origin {
        protocol: job.protocol,
        sql: &job.text,
    };
    let outcome = match state {
        JobState::Completed => AuditOutcome::Completed,
        JobState::Queued => AuditOutcome::ContinuedInBackground,
        _ => AuditOutcome::Failed,
    };
    let steps = records.iter().map(|r| r.audit()).collect();
    match &run.trail {
        Some(trail) => trail.emit(steps, outcome),
        None => books
            .gate
            .audit(&origin, &job.decision, Action::Rewrite, steps, outcome),
    }
    if handed_over {
        hand_over(conn, books, q).await?;
        return Ok(false);
    }
    let Some(message) = error else {
        return Ok(false);
    };
    warn_failed(conn, q, &message, next).await?;
    Ok(true)
}

/// COMMIT stopped waiting: the job continues in the background.
async fn hand_over(
    conn: &mut impl GateConn,
    books: &Books<'_>,
    q: &Queued<'_>,
) -> Result<(), ProxyError> {
    let Some(id) = q.id else { return Ok(()) };
    let wait = books.gate.enforcer.policy.execution.commit_wait_secs;
    conn.notice(&Notice::new(
        Severity::Notice,
        SqlState::SuccessfulCompletion,
        format!("ddlgate: COMMIT stopped waiting after {wait}s; job {id} continues in the background (see `ddlgate jobs`)"),
    ))
    .await?;
    durable::hand_over(books.gate.job_scope(), id);
    Ok(())
}

/// Phase 5 of a failed plan: the transaction committed, so the client is warned with the
/// statements of this plan that remain.
async fn warn_failed(
    conn: &mut impl GateConn,
    q: &Queued<'_>,
    message: &str,
    next: usize,
) -> Result<(), ProxyError> {
    let job = q.job;
    let remaining: Vec<String> = job.steps[next.min(job.steps.len())..]
        .iter()
        .map(|s| s.sql.clone())
        .collect();
    let hint = match q.id {
        Some(id) => format!("fix the cause, then `ddlgate jobs resume {id}` (completed steps are skipped), or run the migration again"),
        None => "fix the cause, then run the migration again (completed steps are skipped) or run the remaining statements yourself".to_owned(),
    };
    let label = q.label();
    conn.notice(
        &Notice::new(
            Severity::Warning,
            SqlState::Warning,
            format!(
                "ddlgate: the transaction committed, but a deferred step failed ({label}): {message}"
            ),
        )
        .detail(format!("remaining steps: {}", remaining.join("; ")))
        .hint(hint),
    )
    .await
}
