//! A plan run with its audit trail ([`crate::enforce::PlanTrail`]): `plan-started` before the
//! first step, `step-ended` after each (through the job watch), and `interrupted` when the
//! session's server connection fails mid-plan. The caller writes the final event.

use ddlgate_config::Execution;
use ddlgate_ddl::Plan;

use super::conn::GateConn;
use crate::enforce::{AuditOutcome, PlanTrail};
use crate::exec::{self, OnFailure, PlanOutcome, Watch};
use crate::jobs::JobWatch;
use crate::ProxyError;

/// Runs `plan` from its first step under `jw`, traced by `trail`; `when` says where in the
/// session's life it runs (for the interruption's cause).
pub async fn run_traced<W: Watch>(
    conn: &mut impl GateConn,
    (plan, on_failure, cfg): (&Plan, OnFailure, &Execution),
    jw: &mut JobWatch<W>,
    trail: &PlanTrail,
    when: &str,
) -> Result<PlanOutcome, ProxyError> {
    trail.emit(Vec::new(), AuditOutcome::PlanStarted);
    jw.trail = Some(trail.clone());
    let run = exec::run_plan(conn, plan, 0, on_failure, cfg, jw).await;
    jw.trail = None;
    run.inspect_err(|e| {
        trail.interrupted(
            Vec::new(),
            &format!("the session's server connection failed{when}: {e}"),
        );
    })
}
