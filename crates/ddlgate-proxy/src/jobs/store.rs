//! Job rows in `ddlgate.jobs`, read and written through the control role.

use ddlgate_ddl::Step;
use serde::Serialize;
use tokio_postgres::Client;

use super::JobError;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Recorded before the client's COMMIT; runs only if that transaction committed.
    AwaitingCommit,
    /// A gateway is running it.
    Running,
    /// Handed to the background (COMMIT stopped waiting); any gateway may take it.
    Queued,
    /// Every step done.
    Completed,
    /// A step failed; resumable.
    Failed,
    /// The client's transaction rolled back: nothing to do.
    Dropped,
    /// An operator gave up on it.
    Abandoned,
}

impl JobState {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::AwaitingCommit => "awaiting-commit",
            JobState::Running => "running",
            JobState::Queued => "queued",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Dropped => "dropped",
            JobState::Abandoned => "abandoned",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "awaiting-commit" => JobState::AwaitingCommit,
            "running" => JobState::Running,
            "queued" => JobState::Queued,
            "completed" => JobState::Completed,
            "dropped" => JobState::Dropped,
            "abandoned" => JobState::Abandoned,
            _ => JobState::Failed,
        }
    }

    /// Whether a gateway may still have work to do for it.
    pub fn active(self) -> bool {
        matches!(
            self,
            JobState::AwaitingCommit | JobState::Running | JobState::Queued | JobState::Failed
        )
    }
}

/// One job row.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// Advisory-lock key.
    pub key: i32,
    /// State.
    pub state: JobState,
    /// The client's statement (secrets redacted).
    pub statement: String,
    /// The plan's summary.
    pub summary: String,
    /// The steps.
    pub steps: Vec<Step>,
    /// Index of the next step to run.
    pub next_step: usize,
    /// Rows a backfill has written so far.
    pub rows_done: i64,
    /// The client's transaction (`txid_current()`), for jobs awaiting its COMMIT.
    pub client_xid: Option<i64>,
    /// Who ran the statement.
    pub username: String,
    /// The gateway instance that last ran it.
    pub owner: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// Age in seconds.
    pub age_secs: f64,
}

/// What a new job needs.
pub struct NewJob<'a> {
    /// Advisory-lock key.
    pub key: i32,
    /// Initial state.
    pub state: JobState,
    /// Statement (secrets redacted).
    pub statement: &'a str,
    /// Plan summary.
    pub summary: &'a str,
    /// Steps.
    pub steps: &'a [Step],
    /// Client transaction.
    pub client_xid: Option<i64>,
    /// User.
    pub username: &'a str,
    /// This gateway instance.
    pub owner: &'a str,
}

const COLUMNS: &str = "id, job_key, state, statement, summary, steps::text, next_step, rows_done, client_xid, username, owner, error, extract(epoch FROM now() - created_at)::float8";

fn row_to_job(r: &tokio_postgres::Row) -> Result<Job, JobError> {
    let steps: String = r.get(5);
    Ok(Job {
        id: r.get(0),
        key: r.get(1),
        state: JobState::parse(r.get(2)),
        statement: r.get(3),
        summary: r.get(4),
        steps: serde_json::from_str(&steps).map_err(|e| JobError::Corrupt(e.to_string()))?,
        next_step: r.get::<_, i32>(6).max(0) as usize,
        rows_done: r.get(7),
        client_xid: r.get(8),
        username: r.get(9),
        owner: r.get(10),
        error: r.get(11),
        age_secs: r.get(12),
    })
}

/// Inserts a job; returns its id.
pub async fn insert(client: &Client, job: &NewJob<'_>) -> Result<i64, JobError> {
    let steps = serde_json::to_string(job.steps).map_err(|e| JobError::Corrupt(e.to_string()))?;
    let row = client
        .query_one(
            "INSERT INTO ddlgate.jobs (job_key, state, statement, summary, steps, client_xid, username, owner) \
             VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8) RETURNING id",
            &[
                &job.key,
                &job.state.as_str(),
                &job.statement,
                &job.summary,
                &steps,
                &job.client_xid,
                &job.username,
                &job.owner,
            ],
        )
        .await?;
    crate::metrics::global().job_state(job.state.as_str());
    Ok(row.get(0))
}

/// Sets the state (and owner, error).
pub async fn set_state(
    client: &Client,
    id: i64,
    state: JobState,
    owner: Option<&str>,
    error: Option<&str>,
) -> Result<(), JobError> {
    client
        .execute(
            "UPDATE ddlgate.jobs SET state = $2, owner = coalesce($3, owner), error = $4, updated_at = now(), \
             finished_at = CASE WHEN $2 IN ('completed', 'dropped', 'abandoned') THEN now() END WHERE id = $1",
            &[&id, &state.as_str(), &owner, &error],
        )
        .await?;
    crate::metrics::global().job_state(state.as_str());
    Ok(())
}

/// Records progress.
pub async fn progress(
    client: &Client,
    id: i64,
    next_step: usize,
    rows: i64,
) -> Result<(), JobError> {
    client
        .execute(
            "UPDATE ddlgate.jobs SET next_step = $2, rows_done = CASE WHEN next_step = $2 THEN greatest(rows_done, $3) ELSE $3 END, updated_at = now() WHERE id = $1",
            &[&id, &(next_step as i32), &rows],
        )
        .await?;
    Ok(())
}

/// Appends step outcomes (for the record of what ran where).
pub async fn add_outcomes(
    client: &Client,
    id: i64,
    outcomes: &serde_json::Value,
) -> Result<(), JobError> {
    let text = outcomes.to_string();
    client
        .execute(
            "UPDATE ddlgate.jobs SET outcomes = outcomes || $2::text::jsonb WHERE id = $1",
            &[&id, &text],
        )
        .await?;
    Ok(())
}

/// One job.
pub async fn get(client: &Client, id: i64) -> Result<Option<Job>, JobError> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM ddlgate.jobs WHERE id = $1"),
            &[&id],
        )
        .await?;
    rows.first().map(row_to_job).transpose()
}

/// Every job, newest first (at most `limit`).
pub async fn list(client: &Client, limit: i64) -> Result<Vec<Job>, JobError> {
    client
        .query(
            &format!("SELECT {COLUMNS} FROM ddlgate.jobs ORDER BY id DESC LIMIT $1"),
            &[&limit],
        )
        .await?
        .iter()
        .map(row_to_job)
        .collect()
}

/// Jobs a gateway may have to pick up: awaiting a commit, running or queued.
pub async fn unfinished(client: &Client) -> Result<Vec<Job>, JobError> {
    client
        .query(
            &format!("SELECT {COLUMNS} FROM ddlgate.jobs WHERE state IN ('awaiting-commit', 'running', 'queued') ORDER BY id"),
            &[],
        )
        .await?
        .iter()
        .map(row_to_job)
        .collect()
}

/// Takes the job's session advisory lock if it is free; returns whether it was taken. While
/// held, no other runner (gateway or `ddlgate jobs`) touches the job.
pub async fn try_lock(client: &Client, key: i32) -> Result<bool, JobError> {
    Ok(client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&super::LOCK_NAMESPACE, &key],
        )
        .await?
        .get(0))
}

/// Releases the job's advisory lock taken by [`try_lock`].
pub async fn unlock(client: &Client, key: i32) -> Result<(), JobError> {
    client
        .query_one(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&super::LOCK_NAMESPACE, &key],
        )
        .await?;
    Ok(())
}
