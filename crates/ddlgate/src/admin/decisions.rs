//! Approvals and break-glass through the admin API. The token lets a caller reach these
//! endpoints; who approves or opens a window is the PostgreSQL role whose credentials the
//! request carries, verified by logging in (as `ddlgate approvals` does with PGUSER and
//! PGPASSWORD) — never a name the caller merely states.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ddlgate_proxy::approvals::{self, Decided};
use ddlgate_proxy::breakglass;
use ddlgate_proxy::enforce::{PolicyAction, PolicyEvent, PolicyVia};
use serde::Deserialize;

use super::auth::Role;
use super::handlers::audit;
use super::{control_store, id_and_verb, AdminState, NoStore, Which};

/// The acting PostgreSQL role's credentials, and what a window needs.
#[derive(Deserialize)]
pub struct Actor {
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ttl: String,
}

fn status(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// The approval store (control role) of `database`.
async fn open_store(s: &AdminState, database: &str) -> Result<tokio_postgres::Client, Response> {
    control_store(s, database).await.map_err(|e| match e {
        NoStore::NoControl => status(StatusCode::NOT_FOUND, "no [control] role configured"),
        NoStore::NoRoute => status(
            StatusCode::NOT_FOUND,
            format!("no route for database {database}"),
        ),
        NoStore::Unavailable => status(
            StatusCode::SERVICE_UNAVAILABLE,
            "the approval store is unavailable",
        ),
    })
}

/// The role `actor`'s credentials log in as, with its memberships (403 when they do not).
async fn verified_actor(
    s: &AdminState,
    database: &str,
    actor: &Actor,
) -> Result<(String, BTreeSet<String>), Response> {
    let refused = || {
        status(
            StatusCode::FORBIDDEN,
            format!("could not log in as {}", actor.user),
        )
    };
    let upstream = s.gateway.config().route(database).ok_or_else(refused)?;
    crate::approvals::verified(upstream, database, &actor.user, actor.password.clone())
        .await
        .map_err(|_| refused())
}

/// `GET /v1/approvals?database=D`.
pub async fn list(State(s): State<AdminState>, Query(w): Query<Which>) -> Response {
    let store = match open_store(&s, &w.database).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match approvals::list(&store, &w.database).await {
        Ok(all) => Json(all).into_response(),
        Err(_) => status(
            StatusCode::SERVICE_UNAVAILABLE,
            "the approval store is unavailable",
        ),
    }
}

/// `POST /v1/approvals/{id}:approve|:reject?database=D` with `{"user", "password"}`.
pub async fn decide(
    State(s): State<AdminState>,
    Path(target): Path<String>,
    Query(w): Query<Which>,
    Extension(role): Extension<Role>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Json(actor): Json<Actor>,
) -> Response {
    let (id, approve) = match id_and_verb(&target) {
        Some((id, "approve")) => (id, true),
        Some((id, "reject")) => (id, false),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "expected /v1/approvals/{id}:approve or :reject",
            )
        }
    };
    let store = match open_store(&s, &w.database).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (name, roles) = match verified_actor(&s, &w.database, &actor).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    audit(
        "decide-approval",
        role,
        client,
        serde_json::json!({ "request": id, "approve": approve, "actor": name }),
    );
    let decided = match approvals::decide(&store, (&w.database, id), (&name, &roles), approve).await
    {
        Ok(d) => d,
        Err(_) => {
            return status(
                StatusCode::SERVICE_UNAVAILABLE,
                "the approval store is unavailable",
            )
        }
    };
    let version = s.gateway.policy().version.clone();
    let (event, code, said) = match decided {
        Ok(Decided::Approved(have, need)) => (
            PolicyAction::Approved,
            StatusCode::OK,
            format!("request {id}: approved by {name} ({have} of {need})"),
        ),
        Ok(Decided::Rejected) => (
            PolicyAction::Rejected,
            StatusCode::OK,
            format!("request {id}: rejected by {name}"),
        ),
        Err(refusal) => (
            PolicyAction::DecisionRefused,
            StatusCode::FORBIDDEN,
            refusal.to_string(),
        ),
    };
    let mut e = PolicyEvent::new((event, PolicyVia::AdminApi), (&w.database, &name), &version);
    e.request = Some(id);
    e.detail = Some(said.clone());
    e.emit();
    (
        code,
        Json(serde_json::json!({ "request": id, "result": said })),
    )
        .into_response()
}

/// 503: the break-glass windows cannot be read or written.
fn store_unavailable() -> Response {
    status(
        StatusCode::SERVICE_UNAVAILABLE,
        "the break-glass store is unavailable",
    )
}

/// `POST /v1/breakglass:open|:close?database=D` with `{"user", "password"}` (and `reason`,
/// `ttl` such as `30m` to open): the window of the role that logs in.
pub async fn breakglass_action(
    State(s): State<AdminState>,
    Path(verb): Path<String>,
    Query(w): Query<Which>,
    Extension(role): Extension<Role>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Json(actor): Json<Actor>,
) -> Response {
    let open = match verb.as_str() {
        "breakglass:open" => true,
        "breakglass:close" => false,
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "expected /v1/breakglass:open or :close",
            )
        }
    };
    let store = match open_store(&s, &w.database).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (name, roles) = match verified_actor(&s, &w.database, &actor).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    audit(
        if open {
            "open-breakglass"
        } else {
            "close-breakglass"
        },
        role,
        client,
        serde_json::json!({ "actor": name }),
    );
    let policy = s.gateway.policy();
    let event = |action| {
        PolicyEvent::new(
            (action, PolicyVia::AdminApi),
            (&w.database, &name),
            &policy.version,
        )
    };
    if !open {
        let Ok(n) = breakglass::close(&store, &w.database, &name).await else {
            return store_unavailable();
        };
        let mut e = event(PolicyAction::BreakglassClosed);
        e.detail = Some(format!("{n} window(s) closed"));
        e.emit();
        return Json(serde_json::json!({ "closed": n })).into_response();
    }
    let ttl = humantime::parse_duration(&actor.ttl).unwrap_or(Duration::ZERO);
    if let Some(why) =
        policy
            .policy
            .breakglass
            .refusal((&name, &roles), &actor.reason, ttl.as_secs())
    {
        let mut e = event(PolicyAction::BreakglassRefused);
        e.reason = Some(&actor.reason);
        e.detail = Some(why.clone());
        e.emit();
        return status(StatusCode::FORBIDDEN, why);
    }
    let Ok(win) =
        breakglass::open(&store, (&w.database, &name), &actor.reason, ttl.as_secs()).await
    else {
        return store_unavailable();
    };
    let mut e = event(PolicyAction::BreakglassOpened);
    e.breakglass = Some(win.id);
    e.reason = Some(&win.reason);
    e.expires_at = Some(&win.expires);
    e.emit();
    Json(serde_json::json!({ "breakglass": win.id, "role": name, "reason": win.reason, "expires_at": win.expires })).into_response()
}
