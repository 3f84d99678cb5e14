//! Audit events: one JSON line per DDL decision, emitted through `tracing` with target
//! `ddlgate::audit` (route it with `RUST_LOG`/`[log]` like any other target). SQL is redacted
//! (`ddlgate_ddl::redact`: passwords, password options, connection strings with a password
//! and bodies that set one never reach a log).

use std::net::SocketAddr;

use serde::Serialize;

use super::Action;

/// Who is connected: fixed for the session's life.
#[derive(Clone, Debug, Serialize)]
pub struct SessionInfo {
    /// Gateway session id.
    pub session: u64,
    /// Role name.
    pub user: String,
    /// Database name (as the client asked).
    pub database: String,
    /// `application_name` from the startup packet.
    pub application_name: String,
    /// Client address.
    pub client: SocketAddr,
}

/// One executed step.
#[derive(Clone, Debug, Serialize)]
pub struct AuditStep {
    /// What it does.
    pub description: String,
    /// How it went.
    pub outcome: StepOutcome,
    /// Attempts made (lock conflicts are retried).
    pub attempts: u32,
    /// Milliseconds spent.
    pub duration_ms: u64,
    /// Error text when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One decision.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEvent<'a> {
    /// RFC 3339 UTC time.
    pub time: String,
    /// The session.
    #[serde(flatten)]
    pub session: &'a SessionInfo,
    /// How the statement was sent.
    pub protocol: AuditProtocol,
    /// The statement, secrets redacted.
    pub sql: String,
    /// Rule ids that fired.
    pub rules: Vec<&'static str>,
    /// What the gateway did (in observe mode: what it would have done).
    pub action: Action,
    /// Whether the policy is observe-only.
    pub observe_only: bool,
    /// The plan's summary when one ran or was offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Executed steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<AuditStep>,
    /// Final outcome.
    pub outcome: AuditOutcome,
    /// The plan run this event belongs to: its `plan-started`, `step-ended` and final events
    /// carry the same id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<&'a str>,
    /// For `step-ended`: the index of the step in the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// For `interrupted`: what ended the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Who the server said the session was when the statement was decided, and what the
    /// `[[policy.scope]]` entries said (present when scopes are configured).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyFields>,
}

/// The policy part of an audit event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PolicyFields {
    /// The policy's version ([`super::Enforcer::version`]).
    pub policy_version: String,
    /// `session_user` at the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_user: Option<String>,
    /// `current_user` at the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_user: Option<String>,
    /// The scopes that decided the statement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// What observe-only scopes would have done, when stricter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_action: Option<ddlgate_config::ScopeAction>,
    /// The observe-only scopes that would have done it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_scopes: Vec<String>,
    /// The break-glass window the statement ran under (its refusal became a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakglass: Option<i64>,
    /// The approval request holding the statement, or whose grant it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<i64>,
}

/// How one step of a plan (or a guarded statement) went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// It ran and succeeded.
    Done,
    /// Its idempotency check found it already done.
    Skipped,
    /// It failed.
    Failed,
    /// It was stopped mid-step (a cancel, or the client went away) and rolled back.
    Interrupted,
}

impl StepOutcome {
    /// Whether the step's effect is in place (a resumed job starts after it).
    pub fn in_place(self) -> bool {
        matches!(self, Self::Done | Self::Skipped)
    }
}

/// How an audited statement was sent
/// ([protocol flows](https://www.postgresql.org/docs/current/protocol-flow.html)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditProtocol {
    /// A simple-protocol Query.
    Simple,
    /// Parse/Bind/Execute.
    Extended,
}

/// What finally happened to an audited statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditOutcome {
    /// Sent to the server as it was.
    Forwarded,
    /// Refused by the gateway.
    Blocked,
    /// Run by the gateway (guarded, or its plan) to the end.
    Completed,
    /// Run by the gateway, and a step (or the statement) failed.
    Failed,
    /// Its in-transaction steps ran; the rest waits for the client's COMMIT.
    Deferred,
    /// The client went away mid-plan; nothing continues it (no control role).
    ClientGone,
    /// The client went away (or COMMIT stopped waiting); a background runner finishes it.
    ContinuedInBackground,
    /// Its deferred steps were dropped: the transaction rolled back.
    DroppedRolledBack,
    /// Its deferred steps were dropped: the client rolled back to an earlier savepoint.
    DroppedRolledBackToSavepoint,
    /// Its deferred steps were dropped: the COMMIT failed.
    DroppedCommitFailed,
    /// Its plan is about to run its first step (not final).
    PlanStarted,
    /// One step of its plan ended (not final; the step's outcome is in `steps`).
    StepEnded,
    /// Its plan stopped mid-way because the connection or the gateway went away: what the
    /// `step-ended` events before say is done, the rest is not.
    Interrupted,
}

impl AuditOutcome {
    /// The `outcome` label of the plans metric, for the outcomes that count there.
    fn plan_label(self) -> Option<&'static str> {
        Some(match self {
            Self::PlanStarted => "plan-started",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Deferred => "deferred",
            Self::ContinuedInBackground => "continued-in-background",
            _ => return None,
        })
    }
}

impl AuditEvent<'_> {
    /// Counts the event in the metrics: every event; a plan's outcome; a decision once (not
    /// at a plan's start, steps or interruption, which another event of the run concludes).
    fn count(&self) {
        let m = crate::metrics::global();
        m.audit_events.inc();
        // A traced run reports each step once, at its `step-ended`; others in their event.
        if self.outcome == AuditOutcome::StepEnded || self.plan_id.is_none() {
            for step in &self.steps {
                m.step_seconds.observe(step.duration_ms as f64 / 1000.0);
                m.lock_retries
                    .inc_by(u64::from(step.attempts.saturating_sub(1)));
            }
        }
        if let Some(label) = self.outcome.plan_label() {
            m.plan(label);
        }
        if !matches!(
            self.outcome,
            AuditOutcome::PlanStarted | AuditOutcome::StepEnded | AuditOutcome::Interrupted
        ) {
            m.decision(self.action.as_str(), &self.rules);
        }
    }

    /// Emits the event as one JSON line.
    pub fn emit(&self) {
        self.count();
        match serde_json::to_string(self) {
            Ok(line) => tracing::info!(target: "ddlgate::audit", "{line}"),
            Err(e) => tracing::warn!(error = %e, "audit event not serialisable"),
        }
    }
}

/// Current time as RFC 3339 UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::{AuditOutcome, AuditProtocol, StepOutcome};

    #[test]
    fn outcomes_keep_their_wire_names() {
        let json = |v: serde_json::Value| v.as_str().map(str::to_owned);
        let name = |o: AuditOutcome| json(serde_json::to_value(o).expect("json"));
        assert_eq!(name(AuditOutcome::Forwarded).as_deref(), Some("forwarded"));
        assert_eq!(
            name(AuditOutcome::ClientGone).as_deref(),
            Some("client-gone")
        );
        assert_eq!(
            name(AuditOutcome::ContinuedInBackground).as_deref(),
            Some("continued-in-background")
        );
        assert_eq!(
            name(AuditOutcome::DroppedRolledBackToSavepoint).as_deref(),
            Some("dropped-rolled-back-to-savepoint")
        );
        assert_eq!(
            name(AuditOutcome::DroppedCommitFailed).as_deref(),
            Some("dropped-commit-failed")
        );
        let protocol = serde_json::to_value(AuditProtocol::Extended).expect("json");
        assert_eq!(json(protocol).as_deref(), Some("extended"));
        let step = serde_json::to_value(StepOutcome::Skipped).expect("json");
        assert_eq!(json(step).as_deref(), Some("skipped"));
        assert!(StepOutcome::Skipped.in_place() && !StepOutcome::Failed.in_place());
    }

    #[test]
    fn time_format() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
