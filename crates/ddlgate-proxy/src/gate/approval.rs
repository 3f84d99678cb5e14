//! A statement a `require-approval` scope holds: the gate uses a grant for it when there is
//! one (single use), otherwise opens (or finds) its request and refuses it with SQLSTATE
//! DG001, the request's id in the DETAIL and how to get it approved in the HINT.

use ddlgate_config::{Scope, ScopeAction};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::Gate;
use crate::approvals::{self, Request, Standing};
use crate::breakglass;
use crate::enforce;
use crate::enforce::scope::{Identity, ScopeVerdict};
use crate::jobs::durable;
use crate::ProxyError;

/// Uses or requests the approval of `statement` that `v` says it needs: `Ok(id)` of the grant
/// used, or the refusal to send with the id of the request that waits.
pub(super) async fn approve_or_refuse(
    gate: &Gate<'_>,
    id: &Identity,
    statement: &str,
    v: &ScopeVerdict,
) -> Result<Result<i64, (Notice, Option<i64>)>, ProxyError> {
    let scopes = &gate.enforcer.policy.scopes;
    let Some(scope) = scopes
        .iter()
        .find(|s| s.action == ScopeAction::RequireApproval && v.by.contains(&s.name))
    else {
        return Ok(Err((unavailable("no approving scope"), None)));
    };
    let Some(store) = durable::control(gate.job_scope()).await else {
        return Ok(Err((unavailable("the control role is unavailable"), None)));
    };
    let request = Request {
        database: &gate.info.database,
        requester: &id.session_user,
        statement: (statement, super::audit::redacted(statement)),
        scope,
        policy_version: &gate.enforcer.version,
    };
    match approvals::use_or_request(&store, &request).await {
        Ok(Standing::Granted(n)) => Ok(Ok(n)),
        Ok(Standing::Waiting {
            id: request_id,
            expires,
            approvals,
        }) => Ok(Err((
            waiting(
                statement,
                scope,
                &gate.info.database,
                (request_id, &expires, approvals),
            ),
            Some(request_id),
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "approval store unavailable");
            Ok(Err((
                unavailable("the approval store is unavailable"),
                None,
            )))
        }
    }
}

/// The break-glass window `id`'s session_user has open here, when it may have one (a member
/// of a `[policy.breakglass]` role); the warning that replaces the scope's refusal.
pub(super) async fn breakglass(
    gate: &Gate<'_>,
    id: &Identity,
    statement: &str,
    v: &ScopeVerdict,
) -> Option<(i64, Notice)> {
    let bg = &gate.enforcer.policy.breakglass;
    if !bg.roles.iter().any(|r| id.session_roles.contains(r)) {
        return None;
    }
    let store = durable::control(gate.job_scope()).await?;
    let window = match breakglass::open_window(&store, &gate.info.database, &id.session_user).await
    {
        Ok(w) => w?,
        Err(e) => {
            tracing::warn!(error = %e, "break-glass store unavailable");
            return None;
        }
    };
    tracing::warn!(window = window.id, reason = %window.reason, statement = %enforce::command_tag(statement), scopes = ?v.by, "break-glass: a scope's refusal became a warning");
    let n = Notice::new(
        Severity::Warning,
        SqlState::Warning,
        format!(
            "ddlgate: break-glass window {} ({}) is open until {}: policy scope \"{}\" would have refused {}",
            window.id,
            window.reason,
            window.expires,
            v.by.join("\", \""),
            enforce::command_tag(statement)
        ),
    );
    Some((window.id, n))
}

/// The scopes without those that need approvals: what still applies once one is granted.
pub(super) fn once_granted(scopes: &[Scope]) -> Vec<Scope> {
    scopes
        .iter()
        .filter(|s| s.action != ScopeAction::RequireApproval)
        .cloned()
        .collect()
}

/// The refusal of a statement waiting for approval.
fn waiting(
    statement: &str,
    scope: &Scope,
    database: &str,
    (id, expires, (have, need)): (i64, &str, (i32, i32)),
) -> Notice {
    Notice::new(
        Severity::Error,
        SqlState::ApprovalRequired,
        format!(
            "ddlgate: {} needs an approval [policy scope \"{}\"]",
            enforce::command_tag(statement),
            scope.name
        ),
    )
    .detail(format!(
        "request {id}: statement fingerprint {}, {have} of {need} approval(s), expires {expires}",
        approvals::fingerprint(statement)
    ))
    .hint(format!(
        "a member of {} other than you runs `ddlgate approvals --config <gateway config> --database {database} approve {id}`; then run the identical statement again (a grant is used once)",
        scope.approvers.join(" or ")
    ))
}

/// The refusal when approvals cannot be checked (fail closed).
fn unavailable(why: &str) -> Notice {
    Notice::new(
        Severity::Error,
        SqlState::ApprovalRequired,
        format!(
            "ddlgate: this statement needs an approval, and approvals cannot be checked now: {why}"
        ),
    )
}
