//! The audit sinks: sealed lines ([`crate::audit_chain`]) to `[log] audit_file` (reopened
//! after rotation or on SIGUSR1) or a standard stream, and to `[log.webhook]`; after each event
//! the sinks' health is published ([`ddlgate_proxy::audit_health`]) so that, with
//! `on_failure = "block"`, DDL is refused while an event cannot be recorded.

use std::fs::OpenOptions;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use ddlgate_config::{AuditStream, Log, OnFailure};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::audit_chain::{head_of, seal, Head};
use crate::logging::{MessageVisitor, AUDIT_TARGET};
use crate::webhook::Webhook;

/// The audit stream: sealed JSON lines ([`crate::audit_chain`]) appended to
/// `[log] audit_file`, or written to stderr.
pub(crate) fn audit_layer<S>(log: &Log) -> anyhow::Result<impl Layer<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let target = match &log.audit_file {
        Some(path) => {
            let file = open_audit(path)
                .with_context(|| format!("opening audit file {}", path.display()))?;
            Target::File {
                file,
                path: path.clone(),
                len: None,
            }
        }
        None => match log.audit {
            AuditStream::Stdout => Target::Stdout,
            AuditStream::Stderr => Target::Stderr,
        },
    };
    let syslog = match &log.syslog {
        Some(cfg) => Some(crate::syslog::Sink::connect(cfg).context("connecting to syslog")?),
        None => None,
    };
    let health = Arc::new(Health {
        primary: Mutex::new(None),
        on_failure: log.on_failure,
        webhook: OnceLock::new(),
        syslog: Mutex::new(None),
    });
    if let Some(cfg) = log.webhook.clone() {
        let h = health.clone();
        let w = Webhook::start(cfg, Box::new(move || h.publish()))
            .context("starting the audit webhook")?;
        let _ = health.webhook.set(w);
    }
    Ok(AuditSink {
        out: Mutex::new(Out {
            target,
            head: Head::default(),
        }),
        health,
        syslog,
    }
    .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO)))
}

/// What the sinks last found.
struct Health {
    /// Why the file or stream could not be written, when its last write failed.
    primary: Mutex<Option<String>>,
    on_failure: OnFailure,
    webhook: OnceLock<Arc<Webhook>>,
    /// Why syslog could not take the last event (when its on_failure blocks).
    syslog: Mutex<Option<String>>,
}

impl Health {
    /// Tells the gate whether DDL must be refused now.
    fn publish(&self) {
        let primary = self
            .primary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|_| self.on_failure == OnFailure::Block);
        let refusal = primary
            .or_else(|| {
                self.syslog
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone()
            })
            .or_else(|| self.webhook.get().and_then(|w| w.refusal()));
        ddlgate_proxy::audit_health::set(refusal.as_deref());
    }
}

/// Where sealed audit lines go.
enum Target {
    /// The audit file, its path, and its length after our last write (`None`: not yet read).
    File {
        file: std::fs::File,
        path: std::path::PathBuf,
        len: Option<u64>,
    },
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Target {
    /// The `sink` label of its metrics.
    fn label(&self) -> &'static str {
        match self {
            Self::File { .. } => "file",
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

struct Out {
    target: Target,
    head: Head,
}

/// Seals and writes audit events one at a time, under one lock, so that the chain follows the
/// order of the lines; continues the chain from the file's last line when another process
/// (`ddlgate approvals`, `ddlgate breakglass`) appended to it meanwhile (under an exclusive
/// file lock, which those commands take too).
struct AuditSink {
    out: Mutex<Out>,
    health: Arc<Health>,
    syslog: Option<crate::syslog::Sink>,
}

impl<S: Subscriber> Layer<S> for AuditSink {
    fn on_event(&self, event: &Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let written = out.write(&v.0);
        let primary = out.target.label();
        drop(out);
        let metrics = ddlgate_proxy::metrics::global();
        let failed = match written {
            Ok(line) => {
                metrics.audit_written(primary, 1);
                if let Some(w) = self.health.webhook.get() {
                    w.push(&line);
                }
                if let Some(s) = &self.syslog {
                    let sent = s.send(&line);
                    match sent {
                        Ok(()) => metrics.audit_written("syslog", 1),
                        Err(_) => metrics.audit_dropped("syslog"),
                    }
                    *self.health.syslog.lock().unwrap_or_else(|p| p.into_inner()) = match sent {
                        Err(e) if s.blocks() => {
                            Some(format!("syslog does not take audit events: {e}"))
                        }
                        _ => None,
                    };
                }
                None
            }
            Err(e) => {
                eprintln!("ddlgate: audit event not written: {e}");
                metrics.audit_dropped(primary);
                Some(format!("the audit log cannot be written: {e}"))
            }
        };
        *self
            .health
            .primary
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = failed;
        self.health.publish();
    }
}

impl Out {
    /// Writes `event` sealed; returns the line written.
    fn write(&mut self, event: &str) -> std::io::Result<String> {
        use std::io::Write as _;
        let head = self.head.clone();
        match &mut self.target {
            Target::Stdout | Target::Stderr => {
                let (line, next) = seal(event, &head).unwrap_or((event.to_owned(), head));
                if matches!(self.target, Target::Stdout) {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}")?;
                    out.flush()?;
                } else {
                    writeln!(std::io::stderr(), "{line}")?;
                }
                self.head = next;
                Ok(line)
            }
            Target::File { file, path, len } => {
                if rotated(file, path) || REOPEN.swap(false, Ordering::Relaxed) {
                    // logrotate moved it away (or SIGUSR1 asked): write to a new file there.
                    *file = open_audit(path)?;
                    *len = None;
                }
                file.lock()?;
                let now = file.metadata()?.len();
                // Another process may have appended: go on from the file's last record (a new,
                // rotated file goes on from ours).
                let head = if *len == Some(now) {
                    head
                } else {
                    tail_head(file)?.unwrap_or(head)
                };
                let (line, next) = seal(event, &head).unwrap_or((event.to_owned(), head));
                let written = file.write_all(format!("{line}\n").as_bytes());
                *len = file.metadata().ok().map(|m| m.len());
                file.unlock()?;
                written?;
                self.head = next;
                Ok(line)
            }
        }
    }
}

/// Set by SIGUSR1: the audit file is reopened before the next event is written.
pub static REOPEN: AtomicBool = AtomicBool::new(false);

fn open_audit(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
}

/// Whether `path` no longer names the file `file` is (moved or removed by log rotation).
fn rotated(file: &std::fs::File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.ino() != named.ino() || open.dev() != named.dev(),
        _ => true,
    }
}

/// The chain's head as the file's last line says (`None` for an empty file or one whose last
/// line is not sealed).
fn tail_head(file: &mut std::fs::File) -> std::io::Result<Option<Head>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let len = file.metadata()?.len();
    let from = len.saturating_sub(256 * 1024);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = String::new();
    file.take(len - from).read_to_string(&mut tail)?;
    Ok(tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(head_of))
}
