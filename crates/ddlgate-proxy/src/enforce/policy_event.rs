//! Approval and break-glass actions as audit events of their own (one JSON line each, in the
//! same audit log as the decisions): who acted (the role they logged in as, verified by the
//! server), on which request or window, and what came of it — refusals included, since a
//! refused attempt to approve one's own request is what a security team wants to see.

use serde::Serialize;

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyAction {
    /// An approval was given (`detail` says how many of how many).
    Approved,
    /// A request was rejected.
    Rejected,
    /// An approval or rejection was refused (own request, not an approver, …).
    DecisionRefused,
    /// A break-glass window was opened.
    BreakglassOpened,
    /// A break-glass window was closed before its time.
    BreakglassClosed,
    /// Opening a window was refused (not a break-glass role, reason, duration).
    BreakglassRefused,
}

/// Where the action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyVia {
    /// `ddlgate approvals` / `ddlgate breakglass`.
    Cli,
    /// A statement the gateway answered itself, on a client's session.
    InBand,
    /// The admin API (the actor logged in to PostgreSQL with their own credentials).
    AdminApi,
}

/// One approval or break-glass action.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyEvent<'a> {
    /// RFC 3339 UTC time.
    pub time: String,
    /// What was done.
    pub event: PolicyAction,
    /// Where from.
    pub via: PolicyVia,
    /// The database.
    pub database: &'a str,
    /// Who did it: the role the server says they logged in as.
    pub actor: &'a str,
    /// The approval request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<i64>,
    /// The break-glass window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakglass: Option<i64>,
    /// The reason given for a window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// When the window (or grant) expires, RFC 3339 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<&'a str>,
    /// What came of it, in words (approvals counted, why it was refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The policy's version.
    pub policy_version: &'a str,
}

impl<'a> PolicyEvent<'a> {
    /// An event of `event` by `actor` in `database`, now.
    pub fn new(
        (event, via): (PolicyAction, PolicyVia),
        (database, actor): (&'a str, &'a str),
        policy_version: &'a str,
    ) -> Self {
        Self {
            time: super::now_rfc3339(),
            event,
            via,
            database,
            actor,
            request: None,
            breakglass: None,
            reason: None,
            expires_at: None,
            detail: None,
            policy_version,
        }
    }

    /// Emits the event as one JSON line of the audit log.
    pub fn emit(&self) {
        match serde_json::to_string(self) {
            Ok(line) => tracing::info!(target: "ddlgate::audit", "{line}"),
            Err(e) => tracing::warn!(error = %e, "audit event not serialisable"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_action_the_actor_and_the_request() {
        let mut e = PolicyEvent::new(
            (PolicyAction::DecisionRefused, PolicyVia::Cli),
            ("app", "alice"),
            "abc123",
        );
        e.request = Some(7);
        e.detail = Some("alice asked for request 7: someone else must decide it".into());
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["event"], "decision-refused");
        assert_eq!(v["via"], "cli");
        assert_eq!(v["actor"], "alice");
        assert_eq!(v["request"], 7);
        assert!(v.get("breakglass").is_none());
    }
}
