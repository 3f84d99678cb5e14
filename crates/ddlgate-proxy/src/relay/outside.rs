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

use super::durable;
use super::intercept::{Gate, Origin};
use crate::enforce::{self, Action};
use crate::exec::{self, ClientWatch, OnFailure, Owned, PlanOutcome, ServerError};
use crate::jobs::{self, JobState, JobWatch};
use crate::ProxyError;

/// How the statement ended for the client.
pub(super) enum Outside {
    /// Every step ran: answer with this command tag.
    Completed(String),
    /// A step failed (the plan was rolled back): relay this error.
    Failed(ServerError),
    /// The client went away; the work continues in the background when it is a job.
    Gone,
}

/// Runs the plan of `d` (a statement of `origin`) outside a transaction block.
pub(super) async fn run(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
    plan: &Plan,
) -> Result<Outside, ProxyError> {
    owned.notice(&enforce::rewrite_notice(plan)).await?;
    let key = jobs::job_key(&gate.info.database, &plan.steps);
    // The lock first: a job row must never be `running` while nobody holds its lock, or another
    // gateway's scan would start it.
    if !durable::try_lock(owned, key).await? {
        if let Err(e) = durable::wait_lock(owned, key, "this plan", &mut *watch).await? {
            gate.audit(origin, d, Action::Rewrite, Vec::new(), "failed");
            return Ok(Outside::Failed(e));
        }
    }
    let store = durable::control(gate).await;
    let instance = durable::instance(gate);
    let statement = ddlgate_ddl::redact(d.text(origin.sql));
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
    let mut jw = JobWatch::new(&mut *watch, progress);
    let outcome = exec::run_plan(owned, plan, 0, OnFailure::RollBack, cfg, &mut jw).await?;
    drop(jw);
    let (records, state, error, audit, answer) = match outcome {
        PlanOutcome::Completed(records) => (
            records,
            JobState::Completed,
            None,
            "completed",
            Outside::Completed(enforce::command_tag(d.text(origin.sql))),
        ),
        PlanOutcome::Failed(records, e) => (
            records,
            JobState::Dropped,
            Some(format!(
                "the statement failed and its steps were rolled back: {}",
                e.message
            )),
            "failed",
            Outside::Failed(e),
        ),
        PlanOutcome::ClientGone(records) if id.is_some() => (
            records,
            JobState::Queued,
            None,
            "continued-in-background",
            Outside::Gone,
        ),
        PlanOutcome::ClientGone(records) => (
            records,
            JobState::Queued,
            None,
            "client-gone",
            Outside::Gone,
        ),
    };
    let end = durable::Ending {
        from: 0,
        records: &records,
        state,
        error: error.as_deref(),
    };
    durable::release(owned, store.as_ref(), (id, key), &instance, &end).await?;
    if let (Outside::Gone, Some(id)) = (&answer, id) {
        durable::hand_over(gate, id);
    }
    gate.audit(
        origin,
        d,
        Action::Rewrite,
        records.iter().map(|r| r.audit()).collect(),
        audit,
    );
    Ok(answer)
}
