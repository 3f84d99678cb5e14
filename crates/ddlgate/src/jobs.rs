//! `ddlgate jobs`: durable migration jobs of one database, through the control role.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use ddlgate_config::Config;
use ddlgate_proxy::jobs::{self, Job, JobState, ResumeOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::cli::JobsAction;

/// Runs one `ddlgate jobs` action.
pub fn run(config: Config, database: &str, action: JobsAction) -> anyhow::Result<ExitCode> {
    if !config.control.enabled() {
        bail!("no control role configured: set [control] user (and password_env) in the configuration");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let upstream = config
            .route(database)
            .with_context(|| format!("no route for database {database}"))?;
        let client = jobs::connect(upstream, &config.control, database)
            .await
            .context("connecting as the control role")?;
        jobs::migrate(&client).await.context("ddlgate schema")?;
        match action {
            JobsAction::List { json, watch } => {
                if watch && std::io::stdout().is_terminal() {
                    watch_progress(&client).await
                } else {
                    list(&client, json).await
                }
            }
            JobsAction::Resume { id } => {
                let instance = format!("cli-{}", std::process::id());
                let outcome = jobs::resume_job(
                    &config,
                    database,
                    id,
                    &instance,
                    tokio_util::sync::CancellationToken::new(),
                )
                .await?;
                println!("job {id}: {}", describe(&outcome));
                Ok(match outcome {
                    ResumeOutcome::Completed | ResumeOutcome::Nothing | ResumeOutcome::Dropped => {
                        ExitCode::SUCCESS
                    }
                    _ => ExitCode::from(1),
                })
            }
            JobsAction::Abandon { id } => abandon(&client, id).await,
        }
    })
}

fn describe(o: &ResumeOutcome) -> String {
    match o {
        ResumeOutcome::Busy => "running elsewhere (its advisory lock is held); not touched".into(),
        ResumeOutcome::Nothing => "nothing to do".into(),
        ResumeOutcome::Dropped => "its transaction rolled back; marked dropped".into(),
        ResumeOutcome::Completed => "completed".into(),
        ResumeOutcome::Failed(e) => format!("failed again: {e}"),
        ResumeOutcome::Stopped => "stopped; still resumable".into(),
    }
}

fn progress_text(j: &Job) -> String {
    let total = j.steps.len();
    let step = j.next_step.min(total);
    let what = j
        .steps
        .get(step)
        .map(|s| s.description.as_str())
        .unwrap_or("done");
    if j.rows_done > 0 && j.state.active() {
        format!("step {}/{total}: {what} ({} rows)", step + 1, j.rows_done)
    } else {
        format!("{step}/{total} steps")
    }
}

async fn list(client: &tokio_postgres::Client, json: bool) -> anyhow::Result<ExitCode> {
    let all = jobs::rows::list(client, 100).await?;
    if json {
        for j in &all {
            println!("{}", serde_json::to_string(j)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6}  {:<16} {:<40} {:>8}  STATEMENT",
        "ID", "STATE", "PROGRESS", "AGE"
    );
    for j in &all {
        println!(
            "{:>6}  {:<16} {:<40} {:>7.0}s  {}",
            j.id,
            j.state.as_str(),
            progress_text(j),
            j.age_secs,
            j.statement.chars().take(80).collect::<String>()
        );
        if let Some(e) = &j.error {
            println!("        error: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Live bars for active jobs, refreshed every half second until none is active.
async fn watch_progress(client: &tokio_postgres::Client) -> anyhow::Result<ExitCode> {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
        .context("progress template")?
        .progress_chars("=> ");
    let mut bars: std::collections::BTreeMap<i64, ProgressBar> = Default::default();
    loop {
        let active: Vec<Job> = jobs::rows::list(client, 100)
            .await?
            .into_iter()
            .filter(|j| j.state.active() && j.state != JobState::Failed)
            .collect();
        for j in &active {
            let bar = bars.entry(j.id).or_insert_with(|| {
                let b = multi.add(ProgressBar::new(j.steps.len() as u64));
                b.set_style(style.clone());
                b.set_prefix(format!("job {}", j.id));
                b
            });
            bar.set_position(j.next_step as u64);
            bar.set_message(format!("{} — {}", j.state.as_str(), progress_text(j)));
        }
        for (id, bar) in &bars {
            if !active.iter().any(|j| j.id == *id) {
                bar.finish_with_message("finished");
            }
        }
        if active.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What abandoning a job found.
pub(crate) enum Abandoned {
    /// No such job.
    Unknown,
    /// It is not active (its state).
    Inactive(&'static str),
    /// Another process runs it (its advisory lock is held).
    Running,
    /// Abandoned: the job as it was.
    Done(Box<Job>),
}

/// Abandons job `id` unless it runs elsewhere (shared by `ddlgate jobs` and the admin API).
pub(crate) async fn abandon_job(
    client: &tokio_postgres::Client,
    id: i64,
) -> anyhow::Result<Abandoned> {
    let Some(job) = jobs::rows::get(client, id).await? else {
        return Ok(Abandoned::Unknown);
    };
    if !job.state.active() {
        return Ok(Abandoned::Inactive(job.state.as_str()));
    }
    if !jobs::rows::try_lock(client, job.key).await? {
        return Ok(Abandoned::Running);
    }
    jobs::rows::set_state(client, id, JobState::Abandoned, None, None).await?;
    jobs::rows::unlock(client, job.key).await?;
    Ok(Abandoned::Done(Box::new(job)))
}

async fn abandon(client: &tokio_postgres::Client, id: i64) -> anyhow::Result<ExitCode> {
    let job = match abandon_job(client, id).await? {
        Abandoned::Unknown => bail!("no job {id}"),
        Abandoned::Inactive(state) => {
            println!("job {id} is {state}: nothing to abandon");
            return Ok(ExitCode::SUCCESS);
        }
        Abandoned::Running => {
            bail!("job {id} is running (its advisory lock is held); stop that gateway first")
        }
        Abandoned::Done(job) => job,
    };
    println!(
        "job {id} abandoned at step {}/{}; remaining steps not run:",
        job.next_step,
        job.steps.len()
    );
    for s in job.steps.iter().skip(job.next_step) {
        println!("  {};", s.sql);
    }
    Ok(ExitCode::SUCCESS)
}
