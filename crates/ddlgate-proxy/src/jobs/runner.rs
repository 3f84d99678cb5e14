//! Running jobs on control connections (background and `ddlgate jobs resume`), progress
//! recording, and the search for orphaned jobs.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ddlgate_config::{Config, Execution};
use ddlgate_ddl::Plan;
use tokio::sync::mpsc;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::store::{self, Job, JobState};
use super::{connect, ControlConn, JobError, Jobs};
use crate::enforce::{AuditStep, PlanTrail};
use crate::exec::{self, OnFailure, PlanOutcome, StepRecord, Watch};

/// Wraps a watch: records progress in the job row (through a writer task, so the plan never
/// waits for the bookkeeping) and stops at a safe point once `deadline` has passed.
pub struct JobWatch<W> {
    /// The watch it wraps.
    pub inner: W,
    /// Progress to the writer.
    pub progress: Option<mpsc::UnboundedSender<(usize, u64)>>,
    /// When to stop (the COMMIT wait limit).
    pub deadline: Option<Instant>,
    /// The step index last reported.
    pub step: usize,
    /// The run's audit trail: each ended step is reported to it.
    pub trail: Option<PlanTrail>,
}

impl<W: Watch> JobWatch<W> {
    /// A job watch without a deadline.
    pub fn new(inner: W, progress: Option<mpsc::UnboundedSender<(usize, u64)>>) -> Self {
        Self {
            inner,
            progress,
            deadline: None,
            step: 0,
            trail: None,
        }
    }

    /// Whether it stopped because the deadline passed.
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl<W: Watch> Watch for JobWatch<W> {
    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }

    fn gone(&mut self) -> bool {
        self.inner.gone() || self.past_deadline()
    }

    fn progress(&mut self, step: usize, rows: u64) {
        self.step = step;
        if let Some(tx) = &self.progress {
            let _ = tx.send((step, rows));
        }
        self.inner.progress(step, rows);
    }

    fn step_ended(&mut self, step: usize, record: &AuditStep) {
        if let Some(t) = &self.trail {
            t.step_ended(step, record.clone());
        }
        self.inner.step_ended(step, record);
    }
}

/// Starts the task that writes a job's progress; it ends when the sender is dropped.
pub fn progress_writer(client: Arc<Client>, id: i64) -> mpsc::UnboundedSender<(usize, u64)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, u64)>();
    tokio::spawn(async move {
        while let Some(mut latest) = rx.recv().await {
            while let Ok(next) = rx.try_recv() {
                latest = next;
            }
            if let Err(e) = store::progress(&client, id, latest.0, latest.1 as i64).await {
                tracing::warn!(job = id, error = %e, "job progress not recorded");
            }
        }
    });
    tx
}

/// Step outcomes as stored in `ddlgate.jobs.outcomes`.
pub fn outcomes_json(from: usize, records: &[StepRecord], instance: &str) -> serde_json::Value {
    serde_json::Value::Array(
        records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                serde_json::json!({
                    "step": from + i,
                    "description": r.description,
                    "outcome": r.outcome,
                    "attempts": r.attempts,
                    "duration_ms": r.duration.as_millis() as u64,
                    "by": instance,
                })
            })
            .collect(),
    )
}

/// Index of the first step not done, given records of a run starting at `from`.
pub fn next_step(from: usize, records: &[StepRecord]) -> usize {
    from + records.iter().take_while(|r| r.outcome.in_place()).count()
}

/// Never stops by itself; stops at safe points once `stop` is cancelled (gateway shutdown).
struct Background(CancellationToken);

impl Watch for Background {
    fn cancelled(&self) -> bool {
        false
    }

    fn gone(&mut self) -> bool {
        self.0.is_cancelled()
    }
}

/// What a resume attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeOutcome {
    /// Another runner holds the job's lock.
    Busy,
    /// Nothing to do (finished, dropped, or its transaction is still open).
    Nothing,
    /// The client's transaction rolled back: marked dropped.
    Dropped,
    /// Ran to the end.
    Completed,
    /// A step failed (recorded on the job).
    Failed(String),
    /// Stopped at a safe point (shutdown); still resumable.
    Stopped,
}

/// Resumes job `id` of `database` on a dedicated control connection, if no one else runs it.
pub async fn resume_job(
    config: &Config,
    database: &str,
    id: i64,
    instance: &str,
    stop: CancellationToken,
) -> Result<ResumeOutcome, JobError> {
    let upstream = config
        .route(database)
        .ok_or_else(|| JobError::Connect(format!("no route for database {database}")))?;
    let client = Arc::new(connect(upstream, &config.control, database).await?);
    let job = match claim(&client, id, instance).await? {
        ControlFlow::Continue(job) => job,
        ControlFlow::Break(outcome) => return Ok(outcome),
    };
    tracing::info!(
        job = id,
        database,
        from_step = job.next_step,
        "resuming job"
    );
    store::set_state(&client, id, JobState::Running, Some(instance), None).await?;
    let resuming = Resuming {
        client: &client,
        job,
        instance,
    };
    let (records, result) = resuming.run(&config.policy.execution, stop).await?;
    resuming.record(&records, &result).await?;
    tracing::info!(job = id, database, outcome = ?result, "job run ended");
    Ok(result)
}

/// Takes job `id` for this runner (its advisory lock) and re-reads it under the lock. Breaks
/// with the outcome when there is nothing to run: another runner has it, it has ended, its
/// client's transaction is still open, or that transaction rolled back (marked dropped).
async fn claim(
    client: &Client,
    id: i64,
    instance: &str,
) -> Result<ControlFlow<ResumeOutcome, Job>, JobError> {
    let Some(job) = store::get(client, id).await? else {
        return Ok(ControlFlow::Break(ResumeOutcome::Nothing));
    };
    if !store::try_lock(client, job.key).await? {
        return Ok(ControlFlow::Break(ResumeOutcome::Busy));
    }
    // Re-read under the lock: the previous runner may have finished meanwhile.
    let Some(job) = store::get(client, id).await? else {
        return Ok(ControlFlow::Break(ResumeOutcome::Nothing));
    };
    if !job.state.active() {
        return Ok(ControlFlow::Break(ResumeOutcome::Nothing));
    }
    if job.state == JobState::AwaitingCommit {
        let status: Option<String> = client
            .query_one("SELECT txid_status($1)", &[&job.client_xid])
            .await?
            .get(0);
        match status.as_deref() {
            Some("committed") => {}
            Some("aborted") => {
                store::set_state(client, id, JobState::Dropped, Some(instance), None).await?;
                return Ok(ControlFlow::Break(ResumeOutcome::Dropped));
            }
            _ => return Ok(ControlFlow::Break(ResumeOutcome::Nothing)),
        }
    }
    Ok(ControlFlow::Continue(job))
}

/// A claimed job being run by this runner.
struct Resuming<'a> {
    client: &'a Arc<Client>,
    job: Job,
    /// This gateway instance (recorded as the job's runner).
    instance: &'a str,
}

impl Resuming<'_> {
    /// Runs the plan from the job's next step, recording progress as it goes, until it ends
    /// or `stop` asks for a safe point.
    async fn run(
        &self,
        cfg: &Execution,
        stop: CancellationToken,
    ) -> Result<(Vec<StepRecord>, ResumeOutcome), JobError> {
        let (job, id) = (&self.job, self.job.id);
        let plan = Plan {
            summary: job.summary.clone(),
            steps: job.steps.clone(),
        };
        let mut conn = ControlConn {
            client: self.client,
            job: id,
        };
        let progress = progress_writer(self.client.clone(), id);
        let mut watch = JobWatch::new(Background(stop), Some(progress));
        let outcome = exec::run_plan(
            &mut conn,
            &plan,
            job.next_step,
            OnFailure::Keep,
            cfg,
            &mut watch,
        )
        .await
        .map_err(|e| JobError::Connect(e.to_string()))?;
        drop(watch);
        Ok(match outcome {
            PlanOutcome::Completed(r) => (r, ResumeOutcome::Completed),
            PlanOutcome::Failed(r, e) => (r, ResumeOutcome::Failed(e.message)),
            PlanOutcome::ClientGone(r) => (r, ResumeOutcome::Stopped),
        })
    }

    /// Stores what the run did: the step outcomes, the next step, and the job's new state.
    async fn record(&self, records: &[StepRecord], result: &ResumeOutcome) -> Result<(), JobError> {
        let (client, job, instance) = (self.client, &self.job, self.instance);
        let id = job.id;
        store::add_outcomes(client, id, &outcomes_json(job.next_step, records, instance)).await?;
        let next = next_step(job.next_step, records);
        store::progress(client, id, next, job.rows_done).await?;
        match result {
            ResumeOutcome::Completed => {
                store::set_state(client, id, JobState::Completed, Some(instance), None).await?
            }
            ResumeOutcome::Failed(e) => {
                store::set_state(client, id, JobState::Failed, Some(instance), Some(e)).await?
            }
            _ => store::set_state(client, id, JobState::Queued, Some(instance), None).await?,
        }
        Ok(())
    }
}

/// Every `resume_interval_secs`, looks for unfinished jobs whose runner is gone in every known
/// database and resumes them, until `stop`.
pub async fn scan_loop(config: Arc<Config>, jobs: Arc<Jobs>, stop: CancellationToken) {
    let every = Duration::from_secs(config.control.resume_interval_secs.max(1));
    loop {
        for database in jobs.databases() {
            if let Err(e) = scan_database(&config, &jobs, &database, &stop).await {
                tracing::debug!(database, error = %e, "job scan skipped");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

async fn scan_database(
    config: &Arc<Config>,
    jobs: &Jobs,
    database: &str,
    stop: &CancellationToken,
) -> Result<(), JobError> {
    let upstream = config.route(database).ok_or(JobError::NotConfigured)?;
    let client = connect(upstream, &config.control, database).await?;
    let exists: bool = client
        .query_one("SELECT to_regclass('ddlgate.jobs') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(());
    }
    for job in store::unfinished(&client).await? {
        let (config, database, instance, stop) = (
            config.clone(),
            database.to_owned(),
            jobs.instance.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            match resume_job(&config, &database, job.id, &instance, stop).await {
                Ok(ResumeOutcome::Busy | ResumeOutcome::Nothing) => {}
                Ok(outcome) => {
                    tracing::info!(job = job.id, database, ?outcome, "orphaned job handled")
                }
                Err(e) => tracing::warn!(job = job.id, database, error = %e, "resume failed"),
            }
        });
    }
    Ok(())
}
