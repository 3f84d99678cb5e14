//! The audit trail of one plan run: a `plan-started` event before its first step, a
//! `step-ended` event per step, and one final event — or `interrupted` when the connection or
//! the gateway goes away mid-plan — all carrying the run's plan id, so that a crash always
//! leaves a trace of what was done and what was not.

use super::audit::{now_rfc3339, AuditEvent, AuditOutcome, AuditProtocol, AuditStep, SessionInfo};
use super::Action;

/// A fresh plan id: 16 random hex digits.
pub fn new_plan_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// What every event of one plan run repeats.
#[derive(Clone, Debug)]
pub struct PlanTrail {
    /// The run's id.
    pub id: String,
    /// The session that sent the statement.
    pub session: SessionInfo,
    /// How it was sent.
    pub protocol: AuditProtocol,
    /// The statement, redacted and cut as audit events carry it.
    pub sql: String,
    /// Rule ids that fired.
    pub rules: Vec<&'static str>,
    /// What the gateway did.
    pub action: Action,
    /// Whether the policy is observe-only.
    pub observe_only: bool,
    /// The plan's summary.
    pub plan: Option<String>,
    /// The policy fields of the statement's decision.
    pub policy: Option<super::PolicyFields>,
}

impl PlanTrail {
    fn event(&self, steps: Vec<AuditStep>, outcome: AuditOutcome) -> AuditEvent<'_> {
        AuditEvent {
            time: now_rfc3339(),
            session: &self.session,
            protocol: self.protocol,
            sql: self.sql.clone(),
            rules: self.rules.clone(),
            action: self.action,
            observe_only: self.observe_only,
            plan: self.plan.clone(),
            steps,
            outcome,
            plan_id: Some(&self.id),
            step: None,
            cause: None,
            policy: self.policy.clone(),
        }
    }

    /// Emits an event of the run (`plan-started`, or its final outcome with every step).
    pub fn emit(&self, steps: Vec<AuditStep>, outcome: AuditOutcome) {
        self.event(steps, outcome).emit();
    }

    /// Emits `step-ended` for step `index`.
    pub fn step_ended(&self, index: usize, step: AuditStep) {
        AuditEvent {
            step: Some(index),
            ..self.event(vec![step], AuditOutcome::StepEnded)
        }
        .emit();
    }

    /// Emits `interrupted`, with what ended the run, and says so in the log.
    pub fn interrupted(&self, steps: Vec<AuditStep>, cause: &str) {
        tracing::warn!(plan_id = %self.id, sql = %self.sql, cause, "plan interrupted mid-way: the steps after the last completed one did not run");
        AuditEvent {
            cause: Some(cause.to_owned()),
            ..self.event(steps, AuditOutcome::Interrupted)
        }
        .emit();
    }
}
