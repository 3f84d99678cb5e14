//! `[[policy.scope]]` in the gate: when a text holds DDL and scopes are configured, the
//! session's identity is read from the server and every statement's scope verdict joins the
//! safety rules' action — the stricter wins. A scope's block is SQLSTATE 42501 naming it.

use std::collections::BTreeSet;

use ddlgate_config::{Scope, ScopeAction};
use ddlgate_ddl::{Decision, Verdict};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::approval::{approve_or_refuse, breakglass, once_granted};
use super::conn::GateConn;
use super::Gate;
use crate::enforce::scope::{self, later, Identity, Places, ScopeVerdict};
use crate::enforce::{self, Action};
use crate::exec::{identity, places};
use crate::ProxyError;

/// Applies the scopes to `decisions` of `sql`: raises `actions` where a scope is stricter and
/// returns the refusal of each statement a scope blocks.
pub(super) async fn apply(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    (sql, decisions): (&str, &[Decision]),
    actions: &mut [Action],
) -> Result<Vec<Option<Notice>>, ProxyError> {
    let scopes = &gate.enforcer.policy.scopes;
    let mut refusals = vec![None; decisions.len()];
    if scopes.is_empty() || !decisions.iter().any(scope::is_ddl) {
        return Ok(refusals);
    }
    let info = gate.info;
    let asked = Identity {
        database: info.database.clone(),
        application_name: info.application_name.clone(),
        client: Some(info.client.ip()),
        at: scope::unix_now(),
        ..Identity::default()
    };
    let id = match identity::read(conn, asked).await? {
        Ok(id) => id,
        // A failed transaction: the statements fail there anyway (25P02); refuse them.
        Err(e) => {
            tracing::debug!(error = %e.message, "identity not readable; DDL refused");
            return Ok(unreadable(decisions));
        }
    };
    let Some(also) = switched_roles(gate, conn, (sql, decisions), &id).await? else {
        return Ok(unreadable(decisions));
    };
    let places = if scopes.iter().any(Scope::names_places) {
        places::place(conn, (sql, decisions)).await?
    } else {
        vec![Places::default(); decisions.len()]
    };
    let mut verdicts = Vec::with_capacity(decisions.len());
    let each = decisions.iter().zip(actions.iter_mut()).zip(&mut refusals);
    for ((((d, action), refusal), also), places) in each.zip(&also).zip(&places) {
        let text = d.text(sql);
        let (v, refused) = decide_one(gate, conn, (&id, also, (d, places), text), action).await?;
        *refusal = refused;
        verdicts.push((text.to_owned(), v));
    }
    crate::sync::lock_any(gate.policy_log).record(id, verdicts);
    Ok(refusals)
}

/// For each statement, the role sets it may run as besides `session_user`'s: `current_user`'s
/// unless an earlier statement of the same text surely switched away from it, and those that
/// statement may have switched to ([`later`]); `None` when those matter but the server's roles
/// cannot be read.
async fn switched_roles(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    (sql, decisions): (&str, &[Decision]),
    id: &Identity,
) -> Result<Option<Vec<Vec<BTreeSet<String>>>>, ProxyError> {
    let texts: Vec<&str> = decisions.iter().map(|d| d.text(sql)).collect();
    let switched = later::per_statement(&texts);
    let mut out = vec![Vec::new(); decisions.len()];
    for (s, o) in switched.iter().zip(&mut out) {
        if !s.replaced {
            o.push(id.current_roles.clone());
        }
    }
    let matters = |(d, s): (&Decision, &later::Switched)| scope::is_ddl(d) && !s.is_empty();
    if !decisions.iter().zip(&switched).any(matters) {
        return Ok(Some(out));
    }
    let graph = match identity::read_roles(conn).await? {
        Ok(g) => g,
        Err(e) => {
            tracing::debug!(error = %e.message, "roles not readable; DDL refused");
            return Ok(None);
        }
    };
    let who = (id.session_user.as_str(), gate.info.user.as_str());
    for ((d, s), o) in decisions.iter().zip(&switched).zip(&mut out) {
        if matters((d, s)) {
            o.extend(graph.role_sets(s, who));
        }
    }
    Ok(Some(out))
}

/// One statement `d` (its `text`) sent by `id`, which may run as `session_user` or as one of
/// the role sets `also`: its scope verdict (after break-glass and
/// approvals) joined into `action`, and its refusal when it is refused.
async fn decide_one(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    (id, also, (d, places), text): (&Identity, &[BTreeSet<String>], (&Decision, &Places), &str),
    action: &mut Action,
) -> Result<(ScopeVerdict, Option<Notice>), ProxyError> {
    let scopes = &gate.enforcer.policy.scopes;
    let as_roles: Vec<&BTreeSet<String>> = std::iter::once(&id.session_roles).chain(also).collect();
    let mut v = scope::evaluate_as(scopes, id, &as_roles, (d, places));
    if let Some((would, by)) = &v.would {
        tracing::info!(scopes = ?by, would = ?would, statement = %enforce::command_tag(text), "an observed scope would act");
    }
    if v.action >= ScopeAction::RequireApproval {
        if let Some((window, warning)) = breakglass(gate, id, text, &v).await {
            conn.notice(&warning).await?;
            v.action = ScopeAction::Warn;
            v.breakglass = Some(window);
            *action = (*action).max(Action::Warn);
            return Ok((v, None));
        }
    }
    if v.action == ScopeAction::RequireApproval {
        match approve_or_refuse(gate, id, text, &v).await? {
            Ok(grant) => {
                tracing::info!(grant, statement = %enforce::command_tag(text), "approved statement runs");
                v = scope::evaluate_as(&once_granted(scopes), id, &as_roles, (d, places));
                v.approval = Some(grant);
            }
            Err((waiting, request)) => {
                *action = Action::Block;
                v.approval = request;
                return Ok((v, Some(waiting)));
            }
        }
    }
    let planned = d.plan.is_some() && d.verdict == Verdict::Rewrite;
    *action = scope::joined(*action, v.action, planned);
    let refusal = match v.action {
        ScopeAction::Block | ScopeAction::RequireApproval => Some(refused(text, id, &v)),
        ScopeAction::Warn => {
            conn.notice(&warned(text, &v)).await?;
            None
        }
        ScopeAction::Rewrite | ScopeAction::Allow => None,
    };
    Ok((v, refusal))
}

/// A statement a scope refuses.
fn refused(text: &str, id: &Identity, v: &ScopeVerdict) -> Notice {
    let names = v.by.join("\", \"");
    Notice::new(
        Severity::Error,
        SqlState::InsufficientPrivilege,
        format!(
            "ddlgate: {} is not allowed for role \"{}\" here [policy scope \"{names}\"]",
            enforce::command_tag(text),
            id.current_user
        ),
    )
    .detail(format!(
        "session_user \"{}\", current_user \"{}\", database \"{}\": the gateway's [[policy.scope]] \"{names}\" refuses this statement",
        id.session_user, id.current_user, id.database
    ))
    .hint("run it as a role the policy allows, or ask the team that owns the gateway's policy")
}

/// The warning of a scope that warns.
fn warned(text: &str, v: &ScopeVerdict) -> Notice {
    Notice::new(
        Severity::Warning,
        SqlState::Warning,
        format!(
            "ddlgate: {} matches policy scope \"{}\"",
            enforce::command_tag(text),
            v.by.join("\", \"")
        ),
    )
}

/// The refusal of every DDL statement of `decisions` when who sends them cannot be read.
fn unreadable(decisions: &[Decision]) -> Vec<Option<Notice>> {
    decisions
        .iter()
        .map(|d| {
            scope::is_ddl(d).then(|| {
                Notice::new(
                    Severity::Error,
                    SqlState::InsufficientPrivilege,
                    "ddlgate: the session's role could not be read, so the policy cannot allow DDL now",
                )
            })
        })
        .collect()
}
