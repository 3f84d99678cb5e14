//! What running a step or a plan leaves behind: step records (for the audit log and the job
//! row), the plan's outcome, and what a failure does to the steps before it.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::conn::ServerError;
use crate::enforce::{AuditStep, StepOutcome};

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
    pub outcome: StepOutcome,
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
        outcome: StepOutcome,
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

/// What a failed step does to the steps before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Undo them (the client's statement fails as a whole).
    RollBack,
    /// Keep them: the client's transaction has committed, the rest is resumable work.
    Keep,
}
