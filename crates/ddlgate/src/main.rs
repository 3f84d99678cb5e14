//! The `ddlgate` binary: command-line parsing, logging setup, configuration loading, and the
//! embedded throwaway PostgreSQL for running with no configuration at all.

mod admin;
mod approvals;
mod audit_chain;
mod audit_sink;
mod cli;
mod embedded;
mod explain;
mod interrupted;
mod jobs;
mod lint_catalog;
mod lint_policy;
mod logging;
mod offline;
mod syslog;
mod watch;
mod webhook;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use ddlgate_config::Config;

use crate::cli::{Cli, Command, RunArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ddlgate: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::CheckConfig { config }) => {
            let config = Config::load(&config).with_context(|| format!("{}", config.display()))?;
            println!(
                "configuration OK: {} route(s), listening on {}",
                config.databases.len(),
                config.listen.addr
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Lint(args)) => offline::lint(args),
        Some(Command::Explain { rule, list }) => offline::explain(rule.as_deref(), list),
        Some(Command::Plan {
            sql,
            file,
            pg_version,
        }) => offline::plan(sql, file, pg_version),
        Some(Command::Jobs {
            config,
            database,
            action,
        }) => {
            let config = Config::load(&config).with_context(|| format!("{}", config.display()))?;
            jobs::run(config, &database, action)
        }
        Some(Command::Policy { action }) => explain::run(action),
        Some(Command::Audit {
            action: cli::AuditAction::Verify { file },
        }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            Ok(match audit_chain::verify(&text) {
                audit_chain::Verdict::Intact {
                    records,
                    first,
                    last,
                } => {
                    println!(
                        "{}: {records} record(s), seq {first} to {last}: chain intact",
                        file.display()
                    );
                    ExitCode::SUCCESS
                }
                audit_chain::Verdict::Broken { line, problem } => {
                    println!("{}: line {line}: {problem}", file.display());
                    ExitCode::from(1)
                }
            })
        }
        Some(Command::Breakglass {
            config,
            database,
            action,
        }) => {
            let config = Config::load(&config).with_context(|| format!("{}", config.display()))?;
            logging::init_audit_only(&config.log)?;
            approvals::breakglass(&config, &database, action)
        }
        Some(Command::Approvals {
            config,
            database,
            action,
        }) => {
            let config = Config::load(&config).with_context(|| format!("{}", config.display()))?;
            logging::init_audit_only(&config.log)?;
            approvals::run(&config, &database, action)
        }
        None => serve(cli.run),
    }
}

fn serve(args: RunArgs) -> anyhow::Result<ExitCode> {
    let needs_embedded = args.config.is_none() && args.upstream.is_none();
    // The throwaway cluster is started before the runtime (it is synchronous) and dropped
    // after it, which stops the server and removes its data.
    let cluster = if needs_embedded {
        Some(embedded::start()?)
    } else {
        None
    };
    let embedded_port = cluster.as_ref().map(|c| c.port());
    let config = args.resolve(embedded_port)?;
    let reloader: admin::Reloader = {
        let args = args.clone();
        Arc::new(move || args.resolve(embedded_port).map_err(|e| format!("{e:#}")))
    };
    logging::init(&config.log)?;
    if let Some(path) = &config.log.audit_file {
        interrupted::report(path);
    }
    let config = Arc::new(config);
    let threads = config.listen.worker_threads;
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if threads > 1 {
            b.worker_threads(threads);
        }
        b.enable_all().build()
    }
    .context("starting the runtime")?;
    runtime.block_on(async {
        let streams = signal_streams()?;
        let listener = tokio::net::TcpListener::bind(config.listen.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen.addr))?;
        let addr = listener.local_addr()?;
        let gateway = ddlgate_proxy::Gateway::new(config.clone())?;
        tracing::info!(%addr, "ddlgate listening");
        if let Some(admin) = admin::start(&config, gateway.clone(), reloader.clone()).await? {
            eprintln!("ddlgate admin API on http://{admin}");
        }
        if let Some(cluster) = &cluster {
            embedded::announce(cluster, addr);
        }
        let (shutdown_tx, shutdown) = tokio::sync::oneshot::channel::<()>();
        let (hurry_tx, hurry) = tokio::sync::oneshot::channel::<()>();
        let reload = {
            let (gateway, reloader) = (gateway.clone(), reloader.clone());
            move || {
                gateway.reload(reloader(), "sighup");
            }
        };
        let signals = tokio::spawn(watch_signals(streams, (shutdown_tx, hurry_tx), reload));
        let watching = watch_files(&args, &config, gateway.clone(), reloader.clone());
        let shutdown = async move {
            let _ = shutdown.await;
        };
        let hurry = async move {
            let _ = hurry.await;
        };
        gateway.serve_until(listener, shutdown, hurry).await?;
        signals.abort();
        if let Some(w) = watching {
            w.abort();
        }
        anyhow::Ok(())
    })?;
    drop(runtime);
    drop(cluster);
    Ok(ExitCode::SUCCESS)
}

/// `--watch-config`: reloads when the configuration's files change ([`watch`]).
/// The task that watches them, when `--watch-config` was given (with `--config`).
fn watch_files(
    args: &RunArgs,
    config: &ddlgate_config::Config,
    gateway: Arc<ddlgate_proxy::Gateway>,
    reloader: admin::Reloader,
) -> Option<tokio::task::JoinHandle<()>> {
    let path = args.config.clone().filter(|_| args.watch_config)?;
    tracing::info!(file = %path.display(), "watching the configuration for changes");
    let files = watch::watched(&path, config);
    Some(tokio::spawn(watch::run(files, move || {
        let new = reloader();
        let files = new.as_ref().ok().map(|c| watch::watched(&path, c));
        gateway.reload(new, "file-watch");
        files
    })))
}

/// SIGINT, SIGTERM, SIGHUP and SIGUSR1, as streams.
type SignalStreams = (
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
    tokio::signal::unix::Signal,
);

/// Installs the handlers for SIGINT, SIGTERM, SIGHUP and SIGUSR1.
fn signal_streams() -> anyhow::Result<SignalStreams> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
        signal(SignalKind::user_defined1())?,
    ))
}

/// Watches the signals a server answers: the first SIGINT or SIGTERM starts the graceful
/// shutdown (`shutdown`), a second SIGINT (Ctrl-C again) closes the remaining sessions at once
/// (`hurry`); SIGHUP reloads the policy from the configuration file (`reload`); SIGUSR1
/// reopens the audit file (after log rotation).
/// The handlers are installed by [`signal_streams`] before the gateway listens, so that no
/// signal arriving once it accepts connections meets the default action.
async fn watch_signals(
    (mut int, mut term, mut hup, mut usr1): SignalStreams,
    (shutdown, hurry): (
        tokio::sync::oneshot::Sender<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
    reload: impl Fn(),
) -> anyhow::Result<()> {
    let (mut shutdown, mut hurry) = (Some(shutdown), Some(hurry));
    loop {
        tokio::select! {
            _ = int.recv() => match shutdown.take() {
                Some(tx) => {
                    tracing::info!("SIGINT received: shutting down (SIGINT again closes every session at once)");
                    let _ = tx.send(());
                }
                None => {
                    tracing::info!("second SIGINT received: closing every session now");
                    if let Some(tx) = hurry.take() {
                        let _ = tx.send(());
                    }
                }
            },
            _ = term.recv() => {
                tracing::info!("SIGTERM received: shutting down");
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
            }
            _ = hup.recv() => {
                tracing::info!("SIGHUP received: reloading the policy");
                reload();
            }
            _ = usr1.recv() => {
                tracing::info!("SIGUSR1 received: the audit file is reopened at its next event");
                audit_sink::REOPEN.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}
