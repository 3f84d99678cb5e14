//! A rewritten statement sent outside any transaction block: its plan runs on the session's
//! connection before the client gets its answer.
//!
//! With a control role the plan is also a durable job: recorded before its first step, locked
//! on the session's connection, its progress written as it goes. A gateway that dies mid-plan
//! leaves the job `running` with its lock released, and another gateway's job scan finishes
//! it; a client that disconnects mid-plan (without cancelling) hands it to a background runner,
//! as PostgreSQL itself finishes a statement whose client went away. A failure or a cancel
//! rolls the plan back (the statement fails as a whole) and the job ends `dropped`.

use ddlgate_ddl::{Decision, Plan};

use super::audit::Origin;
use super::conn::{GateConn, Ran};
use super::datacheck::{self, Scope};
use super::traced::run_traced;
use super::Gate;
use crate::enforce::{self, Action, AuditOutcome};
use crate::exec::{OnFailure, PlanOutcome, ServerError, StepRecord, Watch};
use crate::jobs::durable::{self, Ending};
use crate::jobs::{self, JobState, JobWatch};
use crate::ProxyError;

/// How the statement ended for the client.
pub enum Outside {
    /// Every step ran: answer with this command tag.
    Completed(String),
    /// A step failed (the plan was rolled back): relay this error.
    Failed(ServerError),
    /// The client went away; the work continues in the background when it is a job.
    Gone,
}

/// Runs the plan of `d` (a statement of `origin`) outside a transaction block.
pub async fn run(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    (d, plan): (&Decision, &Plan),
) -> Result<Outside, ProxyError> {
    let checks = ddlgate_ddl::plan::datacheck::checks(&plan.steps);
    if let Some(e) = datacheck::first_violation(conn, &checks, Scope::Outside).await? {
        gate.audit(origin, d, Action::Rewrite, Vec::new(), AuditOutcome::Failed);
        return Ok(Outside::Failed(e));
    }
    conn.notice(&enforce::rewrite_notice(plan)).await?;
    let scope = gate.job_scope();
    let key = jobs::job_key(scope.database, &plan.steps);
    // The lock first: a job row must never be `running` while nobody holds its lock, or another
    // gateway's scan would start it.
    if !durable::try_lock(conn, key).await? {
        if let Err(e) = durable::wait_lock(conn, key, "this plan", &mut *watch).await? {
            gate.audit(origin, d, Action::Rewrite, Vec::new(), AuditOutcome::Failed);
            return Ok(Outside::Failed(e));
        }
    }
    let store = durable::control(scope).await;
    let instance = durable::instance(scope);
    let statement = super::audit::redacted(d.text(origin.sql));
    let id = durable::record(
        store.as_ref(),
        &jobs::NewJob {
            key,
            state: JobState::Running,
            statement: &statement,
            summary: &plan.summary,
            steps: &plan.steps,
            client_xid: None,
            username: &gate.info.user,
            owner: &instance,
        },
    )
    .await;
    let progress = match (&store, id) {
        (Some(client), Some(id)) => Some(jobs::progress_writer(client.clone(), id)),
        _ => None,
    };
    let cfg = &gate.enforcer.policy.execution;
    let trail = gate.trail(origin, d, Action::Rewrite);
    let mut jw = JobWatch::new(&mut *watch, progress);
    let run = (plan, OnFailure::RollBack, cfg);
    let outcome = run_traced(conn, run, &mut jw, &trail, "").await?;
    drop(jw);
    let ended = ended(outcome, id.is_some(), d.text(origin.sql));
    let end = Ending {
        from: 0,
        records: &ended.records,
        state: ended.state,
        error: ended.error.as_deref(),
    };
    durable::release(conn, store.as_ref(), (id, key), &instance, &end).await?;
    if let (Outside::Gone, Some(id)) = (&ended.answer, id) {
        durable::hand_over(scope, id);
    }
    let steps = ended.records.iter().map(|r| r.audit()).collect();
    trail.emit(steps, ended.audit);
    Ok(ended.answer)
}

/// What a plan's outcome means for its job, its audit event and the client.
struct Ended {
    records: Vec<StepRecord>,
    state: JobState,
    error: Option<String>,
    audit: AuditOutcome,
    answer: Outside,
}

fn ended(outcome: PlanOutcome, recorded: bool, text: &str) -> Ended {
    let (records, state, error, audit, answer) = match outcome {
        PlanOutcome::Completed(records) => (
            records,
            JobState::Completed,
            None,
            AuditOutcome::Completed,
            Outside::Completed(enforce::command_tag(text)),
        ),
        PlanOutcome::Failed(records, e) => (
            records,
            JobState::Dropped,
            Some(format!(
                "the statement failed and its steps were rolled back: {}",
                e.message
            )),
            AuditOutcome::Failed,
            Outside::Failed(e),
        ),
        PlanOutcome::ClientGone(records) => (
            records,
            JobState::Queued,
            None,
            if recorded {
                AuditOutcome::ContinuedInBackground
            } else {
                AuditOutcome::ClientGone
            },
            Outside::Gone,
        ),
    };
    Ended {
        records,
        state,
        error,
        audit,
        answer,
    }
}

impl Outside {
    /// As a statement result: `None` when the client has gone.
    pub fn ran(self) -> Option<Ran> {
        match self {
            Self::Completed(tag) => Some(Ran::Ok(tag)),
            Self::Failed(e) => Some(Ran::Err(e)),
            Self::Gone => None,
        }
    }
}
