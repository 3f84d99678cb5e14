//! Plans inside the client's transaction block: safe steps run in the client's transaction,
//! the rest is deferred to its COMMIT ([`ddlgate_ddl::Plan::split_for_transaction`]). At
//! COMMIT the gateway forwards the COMMIT, and once it has succeeded runs the deferred steps
//! on the same upstream connection, then answers the COMMIT. A failed or rolled-back
//! transaction drops them.

use std::time::{Duration, Instant};

use ddlgate_ddl::ir::TxCommand;
use ddlgate_ddl::{Decision, Pending, Plan};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{SqlState, TransactionStatus};

use super::durable;
use super::intercept::{Gate, Origin};
use super::txwork::{BlockEnd, Deferred, TxWork};
use crate::enforce::Action;
use crate::exec::{
    self, ClientWatch, InBlockOutcome, OnFailure, Owned, PlanOutcome, ServerError, Watch,
};
use crate::jobs::{self, JobState, JobWatch};
use crate::ProxyError;

/// How a statement the gateway ran for the client ended.
pub(super) enum Ran {
    /// Success, with this command tag.
    Ok(String),
    /// Failed with this error (to relay).
    Err(ServerError),
}

/// The watch used after COMMIT: the transaction is committed, so the deferred steps continue
/// when the client goes away (the session's upstream connection is the gateway's); only a
/// cancel stops them.
struct AfterCommit<'w, 'a> {
    client: &'w mut ClientWatch<'a>,
}

impl Watch for AfterCommit<'_, '_> {
    fn cancelled(&self) -> bool {
        self.client.cancelled()
    }

    fn gone(&mut self) -> bool {
        self.client.cancelled()
    }
}

/// The error for a statement that depends on something deferred to COMMIT.
pub(super) fn conflict_notice(sql: &str, p: &Pending, tx: &TxWork) -> Notice {
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
        ddlgate_ddl::redact(sql)
    ))
    .hint("move this statement to a later migration (a separate transaction), after the one that creates the object")
}

/// Runs a rewrite for a statement inside the client's transaction block.
pub(super) async fn rewrite_in_block(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
    plan: &Plan,
    tx: &mut TxWork,
) -> Result<Ran, ProxyError> {
    let split = plan.split_for_transaction();
    let later: Vec<&str> = split
        .deferred
        .iter()
        .map(|s| s.description.as_str())
        .collect();
    let mut n = crate::enforce::rewrite_notice(plan);
    if !later.is_empty() {
        n = n.detail(format!(
            "inside this transaction: {} step(s); after COMMIT: {}",
            split.now.len(),
            later.join("; ")
        ));
    }
    owned.notice(&n).await?;
    let cfg = &gate.enforcer.policy.execution;
    let text = d.text(origin.sql);
    match exec::run_in_block(owned, &split.now, cfg, watch).await? {
        InBlockOutcome::Done(records) => {
            let outcome = if split.deferred.is_empty() {
                "completed"
            } else {
                "deferred"
            };
            gate.audit(
                origin,
                d,
                Action::Rewrite,
                records.iter().map(|r| r.audit()).collect(),
                outcome,
            );
            tx.defer(
                origin.sql,
                origin.protocol,
                d,
                &plan.summary,
                split.deferred,
            );
            Ok(Ran::Ok(crate::enforce::command_tag(text)))
        }
        InBlockOutcome::Failed(records, e) => {
            gate.audit(
                origin,
                d,
                Action::Rewrite,
                records.iter().map(|r| r.audit()).collect(),
                "failed",
            );
            Ok(Ran::Err(e))
        }
    }
}

/// Runs a guarded statement inside the client's transaction block (under a savepoint, with a
/// short lock_timeout and retries).
pub(super) async fn guard_in_block(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
) -> Result<Ran, ProxyError> {
    let text = d.text(origin.sql);
    let step = ddlgate_ddl::Step {
        description: "statement with a short lock_timeout (under a savepoint)".into(),
        sql: text.to_owned(),
        tx: ddlgate_ddl::TxRequirement::InsideOk,
        lock_timeout: ddlgate_ddl::plan::SHORT,
        idempotency_check: None,
        rollback: None,
        kind: ddlgate_ddl::StepKind::Ddl,
    };
    let cfg = &gate.enforcer.policy.execution;
    let (records, ran) = match exec::run_in_block(owned, &[step], cfg, watch).await? {
        InBlockOutcome::Done(r) => (r, Ran::Ok(crate::enforce::command_tag(text))),
        InBlockOutcome::Failed(r, e) => (r, Ran::Err(e)),
    };
    gate.audit(
        origin,
        d,
        Action::Guard,
        records.iter().map(|r| r.audit()).collect(),
        if matches!(ran, Ran::Ok(_)) {
            "completed"
        } else {
            "failed"
        },
    );
    Ok(ran)
}

/// The block ended without the gateway's COMMIT (ROLLBACK, or an error ended it): forget it
/// and audit the deferred plans that will not run.
pub(super) fn end_block(gate: &Gate<'_>, tx: &mut TxWork) {
    let dropped = tx.end();
    drop_deferred(gate, &dropped, "dropped-rolled-back");
}

/// Drops the block's work (audited) if a ReadyForQuery(Idle) has passed since the block was
/// last seen: the block ended without the gateway's COMMIT handling (a plain COMMIT, ROLLBACK,
/// or an error ended it), so nothing deferred runs and what it created is no longer new.
pub(super) fn catch_up(gate: &Gate<'_>, tx: &mut TxWork, idle_points: u64) {
    if tx.epoch != idle_points {
        end_block(gate, tx);
        tx.epoch = idle_points;
    }
}

/// Follows the transaction-control statements in `sql` (forwarded as they are) that change
/// the block's bookkeeping without ending it through the gateway, after dropping the block's
/// work if the block has ended since it was last seen.
pub(super) fn note_transaction_controls(gate: &Gate<'_>, tx: &mut TxWork, at: SentAt, sql: &str) {
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

/// Where the session stood when a forwarded statement was sent, as of the last ReadyForQuery.
#[derive(Clone, Copy, Debug)]
pub(super) struct SentAt {
    /// [`ddlgate_session::Session::idle_points`].
    pub idle_points: u64,
    /// The transaction status.
    pub status: TransactionStatus,
}

/// Follows one statement that ran in the block: a savepoint command, or `COMMIT AND CHAIN` /
/// `ROLLBACK AND CHAIN`, after which the block is a new one (nothing it created is new any
/// more, nothing deferred is left: with deferred work the gateway handled the statement).
/// In a failed block (`status`) PostgreSQL rejects `SAVEPOINT` and `RELEASE`; only `ROLLBACK
/// TO` (which recovers the block) and the block's end are followed then.
pub(super) fn note_transaction_control(
    gate: &Gate<'_>,
    tx: &mut TxWork,
    status: TransactionStatus,
    statement: &str,
) {
    if ddlgate_ddl::classify(statement) != ddlgate_ddl::StatementClass::Transaction {
        return;
    }
    if let Some(cmd) = ddlgate_ddl::session::savepoint(statement) {
        if status == TransactionStatus::Failed
            && !matches!(cmd, ddlgate_ddl::session::SavepointCommand::RollbackTo(_))
        {
            return;
        }
        let undone = tx.savepoint(&cmd);
        drop_deferred(gate, &undone, "dropped-rolled-back-to-savepoint");
        return;
    }
    if matches!(
        ddlgate_ddl::session::parse(statement),
        ddlgate_ddl::ir::Stmt::Tx(TxCommand::CommitAndChain | TxCommand::RollbackAndChain)
    ) {
        end_block(gate, tx);
    }
}

/// Audits deferred plans that will not run (the transaction rolled back or failed).
pub(super) fn drop_deferred(gate: &Gate<'_>, dropped: &[Deferred], why: &'static str) {
    for d in dropped {
        gate.audit(
            &Origin {
                protocol: d.protocol,
                sql: &d.text,
            },
            &d.decision,
            Action::Rewrite,
            Vec::new(),
            why,
        );
    }
}

/// A deferred plan about to run at COMMIT, with its durable record when there is one.
struct Queued<'d> {
    job: &'d Deferred,
    key: i32,
    id: Option<i64>,
    locked: bool,
}

async fn scalar(owned: &mut Owned<'_>, sql: &str) -> Result<Option<String>, ProxyError> {
    Ok(owned.query(sql).await?.scalar().map(str::to_owned))
}

/// The statement that opens a transaction with the current one's characteristics (isolation
/// level, read-only, deferrable), which `COMMIT AND CHAIN` carries over
/// (<https://www.postgresql.org/docs/current/sql-commit.html>). Fails in an aborted transaction.
const CHAINED_START: &str = "SELECT format('START TRANSACTION ISOLATION LEVEL %s, %s, %s', \
     current_setting('transaction_isolation'), \
     CASE WHEN current_setting('transaction_read_only')::bool THEN 'READ ONLY' ELSE 'READ WRITE' END, \
     CASE WHEN current_setting('transaction_deferrable')::bool THEN 'DEFERRABLE' ELSE 'NOT DEFERRABLE' END)";

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
pub(super) async fn commit(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    commit_sql: &str,
    end: BlockEnd,
    tx: &mut TxWork,
) -> Result<(Ran, TransactionStatus), ProxyError> {
    let chained = match end {
        BlockEnd::CommitAndChain => scalar(owned, CHAINED_START).await?,
        BlockEnd::Commit | BlockEnd::Rollback => None,
    };
    let sql = chained.as_deref().map_or(commit_sql, |_| "COMMIT");
    let (ran, status) = commit_and_run(owned, watch, gate, sql, tx).await?;
    let status = match chained {
        Some(start)
            if status == TransactionStatus::Idle && matches!(&ran, Ran::Ok(t) if t == "COMMIT") =>
        {
            owned
                .query(&start)
                .await?
                .status
                .unwrap_or(TransactionStatus::Idle)
        }
        _ => status,
    };
    Ok((ran, status))
}

/// Sends `commit_sql`; when it commits, runs the deferred steps. Returns the answer and the
/// transaction status the server reported after `commit_sql`.
async fn commit_and_run(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    commit_sql: &str,
    tx: &mut TxWork,
) -> Result<(Ran, TransactionStatus), ProxyError> {
    let deferred = tx.end();
    let db = gate.info.database.clone();
    let store = durable::control(gate).await;
    let instance = durable::instance(gate);
    let xid = match &store {
        Some(_) => scalar(owned, "SELECT txid_current()")
            .await?
            .and_then(|v| v.parse::<i64>().ok()),
        None => None,
    };
    let mut queued = Vec::with_capacity(deferred.len());
    for job in &deferred {
        let key = jobs::job_key(&db, &job.steps);
        let id = durable::record(
            store.as_ref(),
            &jobs::NewJob {
                key,
                state: JobState::AwaitingCommit,
                statement: &job.statement(),
                summary: &job.summary,
                steps: &job.steps,
                client_xid: xid,
                username: &gate.info.user,
                owner: &instance,
            },
        )
        .await;
        let locked = durable::try_lock(owned, key).await?;
        queued.push(Queued {
            job,
            key,
            id,
            locked,
        });
    }
    let r = owned.query(commit_sql).await?;
    let status = r.status.unwrap_or(TransactionStatus::Idle);
    let committed = r.error.is_none() && r.tags.last().map(String::as_str) == Some("COMMIT");
    if !committed {
        for q in &queued {
            if let (Some(client), Some(id)) = (&store, q.id) {
                let _ = jobs::rows::set_state(client, id, JobState::Dropped, None, None).await;
            }
            if q.locked {
                durable::unlock(owned, q.key).await?;
            }
        }
        drop_deferred(
            gate,
            &deferred,
            if r.error.is_some() {
                "dropped-commit-failed"
            } else {
                "dropped-rolled-back"
            },
        );
        return Ok((
            match r.error {
                Some(e) => Ran::Err(e),
                // COMMIT of a failed transaction answers ROLLBACK.
                None => Ran::Ok(r.tags.last().cloned().unwrap_or_else(|| "ROLLBACK".into())),
            },
            status,
        ));
    }
    let cfg = &gate.enforcer.policy.execution;
    let deadline = (store.is_some() && cfg.commit_wait_secs > 0)
        .then(|| Instant::now() + Duration::from_secs(cfg.commit_wait_secs));
    let mut failed = false;
    for (i, q) in queued.iter().enumerate() {
        let job = q.job;
        let label =
            q.id.map(|id| format!("job {id}"))
                .unwrap_or_else(|| "deferred work".into());
        if failed {
            durable::finish(
                store.as_ref(),
                q.id,
                &instance,
                &durable::Ending {
                    from: 0,
                    records: &[],
                    state: JobState::Failed,
                    error: Some("an earlier deferred plan of the transaction failed"),
                },
            )
            .await;
            if q.locked {
                durable::unlock(owned, q.key).await?;
            }
            continue;
        }
        let waited = if q.locked {
            Ok(())
        } else {
            durable::wait_lock(owned, q.key, &label, &mut AfterCommit { client: watch }).await?
        };
        let held = waited.is_ok();
        let (outcome, past_deadline) = match waited {
            // The wait itself failed (e.g. the session's statement_timeout): the runner that
            // holds the lock is doing this work; the job stays resumable.
            Err(e) => (PlanOutcome::Failed(Vec::new(), e), false),
            Ok(()) => {
                durable::running(store.as_ref(), q.id, &instance).await;
                owned
                    .notice(&Notice::new(
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
                let progress = match (&store, q.id) {
                    (Some(client), Some(id)) => Some(jobs::progress_writer(client.clone(), id)),
                    _ => None,
                };
                let mut jw = JobWatch::new(AfterCommit { client: watch }, progress);
                jw.deadline = deadline;
                let outcome =
                    exec::run_plan(owned, &plan, 0, OnFailure::Keep, cfg, &mut jw).await?;
                (outcome, jw.past_deadline() && !jw.cancelled())
            }
        };
        let (records, error) = match outcome {
            PlanOutcome::Completed(records) => (records, None),
            PlanOutcome::Failed(records, e) => (records, Some(e.message)),
            PlanOutcome::ClientGone(records) if past_deadline => (records, None),
            PlanOutcome::ClientGone(records) => (records, Some("cancelled".to_owned())),
        };
        let next = jobs::next_step(0, &records);
        let handed_over = past_deadline && next < job.steps.len();
        let state = match (&error, handed_over) {
            (Some(_), _) => JobState::Failed,
            (None, true) => JobState::Queued,
            (None, false) => JobState::Completed,
        };
        let end = durable::Ending {
            from: 0,
            records: &records,
            state,
            error: error.as_deref(),
        };
        if held {
            durable::release(owned, store.as_ref(), (q.id, q.key), &instance, &end).await?;
        } else {
            durable::finish(store.as_ref(), q.id, &instance, &end).await;
        }
        gate.audit(
            &Origin {
                protocol: job.protocol,
                sql: &job.text,
            },
            &job.decision,
            Action::Rewrite,
            records.iter().map(|r| r.audit()).collect(),
            match state {
                JobState::Completed => "completed",
                JobState::Queued => "continued-in-background",
                _ => "failed",
            },
        );
        if handed_over {
            if let Some(id) = q.id {
                owned
                    .notice(&Notice::new(
                        Severity::Notice,
                        SqlState::SuccessfulCompletion,
                        format!("ddlgate: COMMIT stopped waiting after {}s; job {id} continues in the background (see `ddlgate jobs`)", cfg.commit_wait_secs),
                    ))
                    .await?;
                durable::hand_over(gate, id);
            }
            continue;
        }
        if let Some(message) = error {
            failed = true;
            let mut remaining: Vec<String> = job.steps[next.min(job.steps.len())..]
                .iter()
                .map(|s| s.sql.clone())
                .collect();
            for later in &deferred[i + 1..] {
                remaining.extend(later.steps.iter().map(|s| s.sql.clone()));
            }
            let hint = match q.id {
                Some(id) => format!("fix the cause, then `ddlgate jobs resume {id}` (completed steps are skipped), or run the migration again"),
                None => "fix the cause, then run the migration again (completed steps are skipped) or run the remaining statements yourself".to_owned(),
            };
            owned
                .notice(
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
                .await?;
        }
    }
    Ok((Ran::Ok("COMMIT".into()), status))
}
