//! `tracing` subscriber setup: the human log (EnvFilter, `RUST_LOG` wins over the configured
//! level; text or JSON) on stderr, and the audit stream (target `ddlgate::audit`) as bare JSON
//! lines to `[log] audit_file` or stderr.
//!
//! Statement text reaches a log only through the audit stream, redacted. Libraries that log
//! the SQL they handle are kept out of the human log at every level ([`SILENCED`]).

use std::fmt;
use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::Context;

use crate::audit_chain::{head_of, seal, Head};
use ddlgate_config::{AuditStream, Log, LogFormat};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const AUDIT_TARGET: &str = "ddlgate::audit";

/// Log targets (and their modules) dropped from the human log whatever the level:
/// `sqlparser` logs every statement it parses ("Parsing sql '…'") and the tokens it looks at,
/// string constants included, at debug level (through the `log` crate).
const SILENCED: &[&str] = &["sqlparser"];

/// Whether events of `target` are kept out of the human log.
fn silenced(target: &str) -> bool {
    SILENCED.iter().any(|s| {
        target
            .strip_prefix(s)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// An event's message: audit events are JSON documents.
struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// The audit stream: sealed JSON lines ([`crate::audit_chain`]) appended to
/// `[log] audit_file`, or written to stderr.
fn audit_layer<S>(log: &Log) -> anyhow::Result<impl Layer<S>>
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
    Ok(AuditSink {
        out: Mutex::new(Out {
            target,
            head: Head::default(),
        }),
    }
    .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO)))
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
}

impl<S: Subscriber> Layer<S> for AuditSink {
    fn on_event(&self, event: &Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = out.write(&v.0) {
            eprintln!("ddlgate: audit event not written: {e}");
        }
    }
}

impl Out {
    fn write(&mut self, event: &str) -> std::io::Result<()> {
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
            }
        }
        Ok(())
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

/// Installs a subscriber with the audit stream alone, for commands that act on the policy
/// (`ddlgate approvals`, `ddlgate breakglass`): their events go where the gateway's do.
pub fn init_audit_only(log: &Log) -> anyhow::Result<()> {
    tracing_subscriber::registry()
        .with(audit_layer(log)?)
        .init();
    Ok(())
}

/// Installs the global subscriber.
pub fn init(log: &Log) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let human = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let human = match log.format {
        LogFormat::Json => human.json().with_current_span(true).boxed(),
        LogFormat::Text => human.boxed(),
    }
    .with_filter(filter_fn(|m| {
        m.target() != AUDIT_TARGET && !silenced(m.target())
    }))
    .with_filter(filter);
    let audit = audit_layer(log)?;
    tracing_subscriber::registry()
        .with(human)
        .with(audit)
        .init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::silenced;

    #[test]
    fn the_sql_parser_is_silenced_and_nothing_else() {
        assert!(silenced("sqlparser"));
        assert!(silenced("sqlparser::parser"));
        assert!(!silenced("sqlparser_extra"));
        assert!(!silenced("ddlgate_proxy::gate"));
        assert!(!silenced("tokio_postgres::query"));
    }
}
