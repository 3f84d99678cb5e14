//! The bookkeeping that makes a plan the gateway runs on a session's connection a durable job
//! (with a control role): its row in `ddlgate.jobs`, its advisory lock (taken on the session's
//! own connection, so it goes with the connection if the gateway dies), its outcome, and the
//! hand-over to a background runner. Used at COMMIT for deferred steps and for plans of
//! statements sent outside any transaction block.

use std::sync::Arc;

use ddlgate_config::Config;
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::exec::{self, PlanConn, ServerError, StepRecord, Watch};
use crate::jobs::{self, JobState, Jobs, LOCK_NAMESPACE};
use crate::ProxyError;

/// What job bookkeeping needs to know of the session it runs for.
#[derive(Clone, Copy)]
pub struct JobScope<'a> {
    /// Durable jobs, when a control role is configured.
    pub jobs: Option<&'a Arc<Jobs>>,
    /// The gateway configuration (routes and the control role).
    pub config: &'a Arc<Config>,
    /// The session's database.
    pub database: &'a str,
}

/// The control connection for this session's database, with the schema migrated; `None`
/// without a control role or when it is unavailable (the plan then runs without a record).
pub async fn control(scope: JobScope<'_>) -> Option<Arc<tokio_postgres::Client>> {
    scope.jobs?;
    let db = scope.database;
    let upstream = scope.config.route(db)?;
    let client = match jobs::connect(upstream, &scope.config.control, db).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, database = %db, "control role unavailable: job not recorded");
            return None;
        }
    };
    if let Err(e) = jobs::migrate(&client).await {
        tracing::warn!(error = %e, database = %db, "ddlgate schema unavailable: job not recorded");
        return None;
    }
    Some(Arc::new(client))
}

/// This gateway's instance name (empty without durable jobs).
pub fn instance(scope: JobScope<'_>) -> String {
    scope.jobs.map(|j| j.instance.clone()).unwrap_or_default()
}

/// Records a job; `None` (and a log line) when the control connection refuses it.
pub async fn record(
    store: Option<&Arc<tokio_postgres::Client>>,
    job: &jobs::NewJob<'_>,
) -> Option<i64> {
    jobs::rows::insert(store?, job)
        .await
        .map_err(|e| tracing::warn!(error = %e, "job not recorded"))
        .ok()
}

/// Runs one advisory-lock function on the session's connection: its boolean answer, or the
/// server's error (a session `statement_timeout` or `lock_timeout` can end a wait).
async fn lock_query(
    conn: &mut impl PlanConn,
    function: &str,
    key: i32,
) -> Result<Result<bool, ServerError>, ProxyError> {
    let r = conn.query(&lock_sql(function, key)).await?;
    Ok(match r.error {
        Some(e) => Err(e),
        None => Ok(r.scalar() == Some("t")),
    })
}

/// An advisory-lock function call on the job's key (qualified: it runs on the client's
/// session).
pub(crate) fn lock_sql(function: &str, key: i32) -> String {
    format!("SELECT pg_catalog.{function}({LOCK_NAMESPACE}, {key})")
}

/// Takes the job's advisory lock on the session's connection if it is free.
pub async fn try_lock(conn: &mut impl PlanConn, key: i32) -> Result<bool, ProxyError> {
    Ok(lock_query(conn, "pg_try_advisory_lock", key)
        .await?
        .unwrap_or(false))
}

/// How often a waiting runner tries the job's lock again.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(200);

/// Waits for the job's advisory lock, telling the client why it waits. The wait is a series of
/// `pg_try_advisory_lock` calls, not one blocking `pg_advisory_lock`: a statement blocked on
/// the lock would hold a snapshot, and the lock holder's `CREATE INDEX CONCURRENTLY` waits for
/// every older snapshot to go — a deadlock
/// (<https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY>).
/// The inner error is the server's, or a cancel: the lock is then not held.
pub async fn wait_lock(
    conn: &mut impl PlanConn,
    key: i32,
    label: &str,
    watch: &mut impl Watch,
) -> Result<Result<(), ServerError>, ProxyError> {
    conn
        .notice(&Notice::new(
            Severity::Notice,
            SqlState::SuccessfulCompletion,
            format!("ddlgate: {label}: the same work is running on another connection or gateway; waiting for it"),
        ))
        .await?;
    loop {
        match lock_query(conn, "pg_try_advisory_lock", key).await? {
            Ok(true) => return Ok(Ok(())),
            Ok(false) => {}
            Err(e) => return Ok(Err(e)),
        }
        if watch.gone() {
            return Ok(Err(exec::cancel_error()));
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
}

/// Releases the job's advisory lock.
pub async fn unlock(conn: &mut impl PlanConn, key: i32) -> Result<(), ProxyError> {
    lock_query(conn, "pg_advisory_unlock", key).await.map(drop)
}

/// Marks a recorded job as taken by this gateway.
pub async fn running(store: Option<&Arc<tokio_postgres::Client>>, id: Option<i64>, instance: &str) {
    if let (Some(client), Some(id)) = (store, id) {
        let _ = jobs::rows::set_state(client, id, JobState::Running, Some(instance), None).await;
    }
}

/// How a run of a recorded job ended.
pub struct Ending<'r> {
    /// The step the run started at.
    pub from: usize,
    /// What each step did.
    pub records: &'r [StepRecord],
    /// The job's state from now on.
    pub state: JobState,
    /// The error to show, if any.
    pub error: Option<&'r str>,
}

/// Writes a run's outcomes, progress and new state (best effort: the plan's work is done or
/// not whatever the bookkeeping does, and a job left `running` is picked up again).
pub async fn finish(
    store: Option<&Arc<tokio_postgres::Client>>,
    id: Option<i64>,
    instance: &str,
    end: &Ending<'_>,
) {
    let (Some(client), Some(id)) = (store, id) else {
        return;
    };
    let _ = jobs::rows::add_outcomes(
        client,
        id,
        &jobs::outcomes_json(end.from, end.records, instance),
    )
    .await;
    let _ = jobs::rows::progress(client, id, jobs::next_step(end.from, end.records), 0).await;
    let _ = jobs::rows::set_state(client, id, end.state, Some(instance), end.error).await;
}

/// Ends a run that held the job's lock: writes its outcome, then releases the lock.
pub async fn release(
    conn: &mut impl PlanConn,
    store: Option<&Arc<tokio_postgres::Client>>,
    (id, key): (Option<i64>, i32),
    instance: &str,
    end: &Ending<'_>,
) -> Result<(), ProxyError> {
    finish(store, id, instance, end).await;
    unlock(conn, key).await
}

/// Hands a queued job to a background runner on a control connection.
pub fn hand_over(scope: JobScope<'_>, id: i64) {
    let Some(j) = scope.jobs else { return };
    let (config, db, instance) = (
        scope.config.clone(),
        scope.database.to_owned(),
        j.instance.clone(),
    );
    // The job keeps the session's span: its log lines say whose statement it finishes.
    let span = tracing::info_span!("job", job = id);
    tokio::spawn(async move {
        match jobs::resume_job(&config, &db, id, &instance, CancellationToken::new()).await {
            Ok(outcome) => tracing::info!(job = id, ?outcome, "background job ended"),
            Err(e) => {
                tracing::warn!(job = id, error = %e, "background job not run; the job scan retries it")
            }
        }
    }.instrument(span));
}
