//! The HTTP admin API (`[admin] listen`, `--admin-listen`), on axum: probes and metrics, the
//! live sessions, the policy (show, validate, reload, explain). Every `/v1` call needs a bearer
//! token (`auth`); every action is an audit event.

mod auth;
mod decisions;
mod handlers;
mod jobs;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::{delete, get, post};
use axum::Router;
use ddlgate_config::Config;
use ddlgate_proxy::Gateway;

use auth::{Needs, Tokens};

/// Loads the configuration again (the file given at start, with the same flags).
pub type Reloader = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct AdminState {
    gateway: Arc<Gateway>,
    reload: Reloader,
}

/// `?database=D`.
#[derive(serde::Deserialize)]
pub struct Which {
    database: String,
}

/// `{id}:{verb}` of a path such as `/v1/jobs/12:resume`.
fn id_and_verb(target: &str) -> Option<(i64, &str)> {
    let (id, verb) = target.split_once(':')?;
    Some((id.parse().ok()?, verb))
}

/// Why there is no control store for a database.
enum NoStore {
    /// No `[control]` role is configured.
    NoControl,
    /// No route for the database.
    NoRoute,
    /// The connection or the schema migration failed (logged).
    Unavailable,
}

/// A control-role connection to `database` with the `ddlgate` schema in place (each endpoint
/// words its own answer when there is none).
async fn control_store(s: &AdminState, database: &str) -> Result<tokio_postgres::Client, NoStore> {
    let config = s.gateway.config();
    if !config.control.enabled() {
        return Err(NoStore::NoControl);
    }
    let upstream = config.route(database).ok_or(NoStore::NoRoute)?;
    let unavailable = |e: ddlgate_proxy::jobs::JobError| {
        tracing::warn!(error = %e, database, "admin API: control store unavailable");
        NoStore::Unavailable
    };
    let client = ddlgate_proxy::jobs::connect(upstream, &config.control, database)
        .await
        .map_err(unavailable)?;
    ddlgate_proxy::jobs::migrate(&client)
        .await
        .map_err(unavailable)?;
    Ok(client)
}

/// The API's routes over `state`.
fn router(state: AdminState, tokens: Arc<Tokens>, open_probes: bool) -> Router {
    let probes_need = if open_probes {
        Needs::Nothing
    } else {
        Needs::Token
    };
    let probes = Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .layer(axum::middleware::from_fn_with_state(
            (tokens.clone(), probes_need),
            auth::check,
        ));
    let v1 = Router::new()
        .route("/v1/sessions", get(handlers::sessions))
        .route("/v1/sessions/{id}", delete(handlers::close_session))
        .route("/v1/approvals", get(decisions::list))
        .route("/v1/approvals/{target}", post(decisions::decide))
        .route("/v1/{verb}", post(decisions::breakglass_action))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{target}", post(jobs::act))
        .route("/v1/policy", get(handlers::policy))
        .route("/v1/policy:validate", post(handlers::validate))
        .route("/v1/policy:reload", post(handlers::reload))
        .route("/v1/policy:explain", post(handlers::explain))
        .layer(axum::middleware::from_fn_with_state(
            (tokens, Needs::Token),
            auth::check,
        ));
    probes.merge(v1).with_state(state)
}

/// Binds the API and serves it until the process ends. Returns the bound address.
pub async fn start(
    config: &Config,
    gateway: Arc<Gateway>,
    reload: Reloader,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = config.admin.listen else {
        return Ok(None);
    };
    let tokens = Arc::new(Tokens::load(&config.admin)?);
    if tokens.is_empty() {
        tracing::warn!(
            "admin API without tokens: set {} (or {}); every /v1 call is refused",
            config.admin.token_env,
            config.admin.viewer_token_env
        );
    }
    let tls = tls_config(&config.admin)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (admin API)"))?;
    let bound = listener.local_addr()?;
    let app = router(
        AdminState { gateway, reload },
        tokens,
        config.admin.open_probes,
    )
    .into_make_service_with_connect_info::<SocketAddr>();
    let https = tls.is_some();
    tokio::spawn(async move {
        let served = match tls {
            None => axum::serve(listener, app).await,
            // HTTPS: handshakes run per connection, so a client that stalls its own delays
            // nobody else's.
            Some(tls) => match listener.into_std() {
                Ok(std) => axum_server::from_tcp_rustls(std, tls).serve(app).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "admin API stopped");
        }
    });
    tracing::info!(addr = %bound, https, mutual_tls = config.admin.client_ca.is_some(), "admin API listening");
    Ok(Some(bound))
}

/// The API's TLS settings, when `[admin] tls_cert` is set.
fn tls_config(
    admin: &ddlgate_config::Admin,
) -> anyhow::Result<Option<axum_server::tls_rustls::RustlsConfig>> {
    let (Some(cert), Some(key)) = (&admin.tls_cert, &admin.tls_key) else {
        return Ok(None);
    };
    let config = ddlgate_proxy::admin_server_config(cert, key, admin.client_ca.as_deref())
        .context("admin API TLS")?;
    Ok(Some(axum_server::tls_rustls::RustlsConfig::from_config(
        config,
    )))
}
