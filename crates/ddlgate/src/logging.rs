//! `tracing` subscriber setup: the human log (EnvFilter, `RUST_LOG` wins over the configured
//! level; text or JSON) on stderr, and the audit stream (target `ddlgate::audit`) as bare JSON
//! lines to `[log] audit_file` or stderr.
//!
//! Statement text reaches a log only through the audit stream, redacted. Libraries that log
//! the SQL they handle are kept out of the human log at every level ([`SILENCED`]).

use std::fmt;
use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::Mutex;

use anyhow::Context;
use ddlgate_config::{Log, LogFormat};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
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

/// Writes only an event's message: audit events already are JSON documents.
struct MessageOnly;

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S, N> FormatEvent<S, N> for MessageOnly
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        writeln!(writer, "{}", v.0)
    }
}

/// The audit stream: bare JSON lines to `[log] audit_file` (appended) or stderr.
fn audit_layer<S>(log: &Log) -> anyhow::Result<impl Layer<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let writer = match &log.audit_file {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening audit file {}", path.display()))?;
            BoxMakeWriter::new(Mutex::new(file))
        }
        None => BoxMakeWriter::new(std::io::stderr),
    };
    Ok(tracing_subscriber::fmt::layer()
        .event_format(MessageOnly)
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO)))
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
