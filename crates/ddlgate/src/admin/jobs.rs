//! `/v1/jobs`: the durable jobs of a database (`?database=D`), as `ddlgate jobs` shows them;
//! `POST /v1/jobs/{id}:resume` runs a job's remaining steps in this gateway (in the
//! background: 202), `POST /v1/jobs/{id}:abandon` gives one up.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ddlgate_proxy::jobs;

use super::auth::Role;
use super::handlers::audit;
use super::{control_store, id_and_verb, AdminState, NoStore, Which};
use crate::jobs::{abandon_job, Abandoned};

fn unavailable(why: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %why, "admin API: job store unavailable");
    job_store_unavailable()
}

fn job_store_unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the job store is unavailable\n",
    )
        .into_response()
}

async fn store(s: &AdminState, database: &str) -> Result<tokio_postgres::Client, Response> {
    control_store(s, database).await.map_err(|e| match e {
        NoStore::NoControl => (
            StatusCode::NOT_FOUND,
            "no [control] role: no durable jobs\n",
        )
            .into_response(),
        NoStore::NoRoute => (
            StatusCode::NOT_FOUND,
            format!("no route for database {database}\n"),
        )
            .into_response(),
        NoStore::Unavailable => job_store_unavailable(),
    })
}

/// `GET /v1/jobs?database=D`: newest first.
pub async fn list(State(s): State<AdminState>, Query(w): Query<Which>) -> Response {
    let client = match store(&s, &w.database).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match jobs::rows::list(&client, 100).await {
        Ok(all) => Json(all).into_response(),
        Err(e) => unavailable(e),
    }
}

/// `POST /v1/jobs/{id}:resume?database=D` and `POST /v1/jobs/{id}:abandon?database=D`.
pub async fn act(
    State(s): State<AdminState>,
    Path(target): Path<String>,
    Query(w): Query<Which>,
    Extension(role): Extension<Role>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Response {
    let Some((id, verb)) = id_and_verb(&target) else {
        return (
            StatusCode::NOT_FOUND,
            "expected /v1/jobs/{id}:resume or :abandon\n",
        )
            .into_response();
    };
    let detail = serde_json::json!({ "job": id, "database": w.database });
    match verb {
        "abandon" => {
            let store = match store(&s, &w.database).await {
                Ok(c) => c,
                Err(r) => return r,
            };
            audit("abandon-job", role, client, detail);
            match abandon_job(&store, id).await {
                Ok(Abandoned::Unknown) => {
                    (StatusCode::NOT_FOUND, format!("no job {id}\n")).into_response()
                }
                Ok(Abandoned::Inactive(state)) => (
                    StatusCode::CONFLICT,
                    format!("job {id} is {state}: nothing to abandon\n"),
                )
                    .into_response(),
                Ok(Abandoned::Running) => (
                    StatusCode::CONFLICT,
                    format!("job {id} is running elsewhere\n"),
                )
                    .into_response(),
                Ok(Abandoned::Done(job)) => Json(job).into_response(),
                Err(e) => unavailable(e),
            }
        }
        "resume" => {
            audit("resume-job", role, client, detail);
            let config = s.gateway.config().clone();
            let database = w.database.clone();
            tokio::spawn(async move {
                let instance = format!("admin-{}", std::process::id());
                let stop = tokio_util::sync::CancellationToken::new();
                match jobs::resume_job(&config, &database, id, &instance, stop).await {
                    Ok(outcome) => tracing::info!(job = id, ?outcome, "job resumed (admin API)"),
                    Err(e) => tracing::warn!(job = id, error = %e, "job not resumed (admin API)"),
                }
            });
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({ "job": id, "resuming": true })),
            )
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "expected :resume or :abandon\n").into_response(),
    }
}
