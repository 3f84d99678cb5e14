//! The admin API's handlers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ddlgate_config::Config;
use ddlgate_proxy::enforce::scope::{self, Identity};
use serde::{Deserialize, Serialize};

use super::auth::Role;
use super::AdminState;

/// Writes an admin action to the audit log.
pub(super) fn audit(action: &str, role: Role, client: SocketAddr, detail: serde_json::Value) {
    let event = serde_json::json!({
        "time": ddlgate_proxy::enforce::now_rfc3339(),
        "event": "admin-action",
        "action": action,
        "role": match role { Role::Admin => "admin", Role::Viewer => "viewer" },
        "client": client.to_string(),
        "detail": detail,
    });
    tracing::info!(target: "ddlgate::audit", "{event}");
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: 503 while draining, or when no upstream server accepts a connection.
pub async fn readyz(State(s): State<AdminState>) -> Response {
    if s.gateway.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    let targets: BTreeSet<(String, u16)> = s
        .gateway
        .config()
        .databases
        .values()
        .map(|u| (u.host.clone(), u.port))
        .collect();
    for (host, port) in &targets {
        let connect = tokio::net::TcpStream::connect((host.as_str(), *port));
        if matches!(
            tokio::time::timeout(Duration::from_secs(1), connect).await,
            Ok(Ok(_))
        ) {
            return (StatusCode::OK, "ready\n").into_response();
        }
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "no upstream server reachable\n",
    )
        .into_response()
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub async fn metrics(State(s): State<AdminState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.gateway.metrics_text(),
    )
        .into_response()
}

/// `GET /v1/sessions`.
pub async fn sessions(State(s): State<AdminState>) -> Response {
    Json(s.gateway.sessions()).into_response()
}

/// `DELETE /v1/sessions/{id}`: closes it (FATAL 57P01 to the client).
pub async fn close_session(
    State(s): State<AdminState>,
    Path(id): Path<u64>,
    Extension(role): Extension<Role>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Response {
    let closed = s.gateway.close_session(id);
    audit(
        "close-session",
        role,
        client,
        serde_json::json!({ "session": id, "found": closed }),
    );
    if closed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, format!("no session {id}\n")).into_response()
    }
}

/// What `GET /v1/policy` shows.
#[derive(Serialize)]
struct PolicyView {
    version: String,
    mode: String,
    rules: serde_json::Value,
    scopes: Vec<String>,
}

/// `GET /v1/policy`.
pub async fn policy(State(s): State<AdminState>) -> Response {
    let e = s.gateway.policy();
    let p = &e.policy;
    Json(PolicyView {
        version: e.version.clone(),
        mode: format!("{:?}", p.mode).to_lowercase(),
        rules: serde_json::to_value(
            p.rules
                .iter()
                .map(|(r, a)| (r.as_str(), format!("{a:?}").to_lowercase()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap_or_default(),
        scopes: p.scopes.iter().map(|s| s.name.clone()).collect(),
    })
    .into_response()
}

/// `POST /v1/policy:validate`: the body is a configuration file.
pub async fn validate(body: String) -> Response {
    match Config::from_toml_str(&body) {
        Ok(c) => Json(serde_json::json!({
            "valid": true,
            "version": ddlgate_proxy::enforce::Enforcer::new(c.policy).version,
        }))
        .into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "valid": false, "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// `POST /v1/policy:reload`: loads the configuration file again and swaps its policy in.
pub async fn reload(
    State(s): State<AdminState>,
    Extension(role): Extension<Role>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Response {
    let reloaded = s.gateway.reload((s.reload)(), "admin-api");
    audit(
        "reload",
        role,
        client,
        serde_json::to_value(&reloaded).unwrap_or_default(),
    );
    let code = if reloaded.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (code, Json(reloaded)).into_response()
}

/// The body of `POST /v1/policy:explain`.
#[derive(Deserialize)]
pub struct ExplainRequest {
    user: String,
    database: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    member_of: Vec<String>,
    #[serde(default = "public")]
    search_path: String,
    sql: String,
}

fn public() -> String {
    "public".into()
}

/// `POST /v1/policy:explain`: what the policy in force does with SQL sent by a user (the
/// roles given with `member_of`).
pub async fn explain(State(s): State<AdminState>, Json(r): Json<ExplainRequest>) -> Response {
    let id = Identity {
        application_name: r.app,
        at: scope::unix_now(),
        ..Identity::claimed(&r.user, r.member_of, &r.database)
    };
    let policy = s.gateway.policy();
    let report = crate::explain::report(&policy.policy, (&id, &r.search_path), &r.sql, 15);
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        report,
    )
        .into_response()
}
