//! `tracing` subscriber setup: the human log (EnvFilter, `RUST_LOG` wins over the configured
//! level; text or JSON) on stderr, and the audit stream (target `ddlgate::audit`) as bare JSON
//! lines to `[log] audit_file` or stderr.
//!
//! Statement text reaches a log only through the audit stream, redacted. Libraries that log
//! the SQL they handle are kept out of the human log at every level ([`SILENCED`]).

use std::fmt;
use std::io::IsTerminal;

use ddlgate_config::{Log, LogFormat};
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The target of audit events.
pub(crate) const AUDIT_TARGET: &str = "ddlgate::audit";

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
pub(crate) struct MessageVisitor(pub(crate) String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Installs a subscriber with the audit stream alone, for commands that act on the policy
/// (`ddlgate approvals`, `ddlgate breakglass`): their events go where the gateway's do.
pub fn init_audit_only(log: &Log) -> anyhow::Result<()> {
    tracing_subscriber::registry()
        .with(crate::audit_sink::audit_layer(log)?)
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
    let audit = crate::audit_sink::audit_layer(log)?;
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
