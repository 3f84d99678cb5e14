use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;

/// The whole gateway configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where clients connect, and per-connection limits.
    #[serde(default)]
    pub listen: Listen,
    /// TLS toward clients.
    #[serde(default)]
    pub client_tls: ClientTls,
    /// Client database name (or `*` for any) → upstream server. At least one entry.
    #[serde(default)]
    pub databases: BTreeMap<String, Upstream>,
    /// Logging.
    #[serde(default)]
    pub log: Log,
    /// What to do with DDL.
    #[serde(default)]
    pub policy: crate::Policy,
    /// The gateway's own role, for durable jobs.
    #[serde(default)]
    pub control: crate::Control,
    /// The database-side guard (event triggers), installed through the control role.
    #[serde(default)]
    pub guard: crate::Guard,
    /// The HTTP admin API.
    #[serde(default)]
    pub admin: crate::Admin,
}

/// The listening socket and limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// Address to listen on. Default `127.0.0.1:6432`.
    pub addr: SocketAddr,
    /// Largest message a client may send, in bytes (Query, Parse, Bind and CopyData included).
    /// Default 64 MiB. PostgreSQL itself accepts up to 1 GiB.
    pub max_message_bytes: usize,
    /// Seconds a client has to finish startup and authentication. Default 30.
    pub startup_timeout_secs: u64,
    /// Seconds a client may leave a message half-sent before it is disconnected. Default 60.
    pub message_timeout_secs: u64,
    /// Seconds sessions may keep running after SIGTERM/SIGINT before they are closed. Default 30.
    pub shutdown_timeout_secs: u64,
    /// Most concurrent client connections; further ones get SQLSTATE 53300. Default 10000.
    pub max_connections: usize,
    /// Threads relaying traffic. 1 (default) runs everything on one thread, like PgBouncer:
    /// measured on 2 cores it costs about 15% less CPU per transaction than one thread per core
    /// (no cross-thread wake-ups). Raise it when one core is not enough; 0 means one per core.
    pub worker_threads: usize,
    /// Threads of the fast relay, which carries plain-TCP sessions' ordinary traffic below the
    /// async runtime (a session goes back to the async relay at each statement the gateway
    /// must handle). 0 turns it off. Default 1.
    pub fast_relay_threads: usize,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 6432)),
            max_message_bytes: 64 << 20,
            startup_timeout_secs: 30,
            message_timeout_secs: 60,
            shutdown_timeout_secs: 30,
            max_connections: 10_000,
            worker_threads: 1,
            fast_relay_threads: 1,
        }
    }
}

/// Whether clients may or must use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientTlsMode {
    /// Answer SSLRequest with `N`.
    #[default]
    Disable,
    /// Accept TLS when the client asks; plaintext is allowed.
    Allow,
    /// Refuse clients that do not use TLS.
    Require,
}

/// TLS toward clients.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTls {
    /// `disable` (default), `allow` or `require`.
    pub mode: ClientTlsMode,
    /// PEM certificate chain; required unless mode is `disable`.
    pub cert: Option<PathBuf>,
    /// PEM private key; required unless mode is `disable`.
    pub key: Option<PathBuf>,
}

/// TLS toward the upstream server, with libpq's `sslmode` meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamTlsMode {
    /// Plaintext only.
    Disable,
    /// TLS if the server offers it, no certificate check.
    #[default]
    Prefer,
    /// TLS or fail, no certificate check.
    Require,
    /// TLS, certificate chain and host name verified.
    VerifyFull,
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Host name or address.
    pub host: String,
    /// Port. Default 5432.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Database name upstream; default: the name the client asked for.
    #[serde(default)]
    pub dbname: Option<String>,
    /// TLS mode. Default `prefer`.
    #[serde(default)]
    pub tls: UpstreamTlsMode,
    /// PEM CA bundle for `verify-full`; default: the Mozilla roots.
    #[serde(default)]
    pub root_cert: Option<PathBuf>,
    /// Seconds to wait for the TCP (and TLS) connection. Default 10.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
}

fn default_port() -> u16 {
    5432
}

fn default_connect_timeout() -> u64 {
    10
}

impl Upstream {
    /// An upstream at `host:port` with default settings.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            dbname: None,
            tls: UpstreamTlsMode::default(),
            root_cert: None,
            connect_timeout_secs: default_connect_timeout(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where audit events go when there is no `audit_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditStream {
    /// Standard output: a stream of its own, apart from the log on standard error.
    #[default]
    Stdout,
    /// Standard error, between the log's lines.
    Stderr,
}

/// What a sink's failure does to DDL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Refuse DDL while the sink cannot take events (fail closed).
    #[default]
    Block,
    /// Go on; the events it could not take are dropped (and counted).
    Drop,
}

/// `[log.webhook]`: audit events POSTed in batches (a JSON array of the sealed lines), signed
/// with HMAC-SHA256 (`X-Ddlgate-Signature: sha256=<hex>`), retried with backoff.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhook {
    /// Where to POST (`http://…`).
    pub url: String,
    /// Environment variable holding the HMAC key. Absent: unsigned.
    pub secret_env: Option<String>,
    /// Events per request at most. Default 100.
    pub batch_size: usize,
    /// How long events wait for a batch to fill, in ms. Default 200.
    pub flush_ms: u64,
    /// Events held while the endpoint is down, at most. Default 10000.
    pub queue_size: usize,
    /// A request's timeout, in ms. Default 2000.
    pub timeout_ms: u64,
    /// While the endpoint is down: refuse DDL (`block`, default) or go on (`drop`: events
    /// beyond the queue are dropped).
    pub on_failure: OnFailure,
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            url: String::new(),
            secret_env: None,
            batch_size: 100,
            flush_ms: 200,
            queue_size: 10_000,
            timeout_ms: 2000,
            on_failure: OnFailure::Block,
        }
    }
}

/// `[log.syslog]`: every audit event also sent as an RFC 5424 message (the sealed JSON line as
/// its MSG) to a syslog daemon or collector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Syslog {
    /// `udp://HOST:PORT` or `unix:///dev/log` (a datagram socket).
    pub address: String,
    /// The facility number (RFC 5424 §6.2.1). Default 10, `authpriv`.
    pub facility: u8,
    /// APP-NAME. Default `ddlgate`.
    pub app_name: String,
    /// When a message cannot be sent: refuse DDL (`block`, default) or go on (`drop`).
    pub on_failure: OnFailure,
}

impl Default for Syslog {
    fn default() -> Self {
        Self {
            address: "unix:///dev/log".into(),
            facility: 10,
            app_name: "ddlgate".into(),
            on_failure: OnFailure::Block,
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Log {
    /// `text` (default) or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `ddlgate=debug`. Default `info`; `RUST_LOG` wins.
    pub level: String,
    /// Where audit events (one JSON object per line, one per DDL decision) are appended.
    /// Default: none, [`Self::audit`] says where they go.
    pub audit_file: Option<std::path::PathBuf>,
    /// Without `audit_file`: `stdout` (default; the log is on standard error) or `stderr`.
    pub audit: AuditStream,
    /// When the audit file or stream cannot be written: refuse DDL (`block`, default) or go on.
    pub on_failure: OnFailure,
    /// A webhook that receives every audit event too.
    pub webhook: Option<Webhook>,
    /// A syslog destination that receives every audit event too.
    pub syslog: Option<Syslog>,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
            audit_file: None,
            audit: AuditStream::Stdout,
            on_failure: OnFailure::Block,
            webhook: None,
            syslog: None,
        }
    }
}

pub(crate) fn validate(c: &Config) -> Result<(), ConfigError> {
    crate::control::validate(&c.control)?;
    crate::admin::validate(&c.admin)?;
    crate::guard::validate(&c.guard, &c.control)?;
    if c.databases.is_empty() {
        return Err(ConfigError::invalid(
            "databases",
            "at least one entry is needed (use \"*\" for any database)",
        ));
    }
    for (name, up) in &c.databases {
        let field = |f: &str| format!("databases.{name}.{f}");
        if up.host.trim().is_empty() {
            return Err(ConfigError::invalid(field("host"), "must not be empty"));
        }
        if up.port == 0 {
            return Err(ConfigError::invalid(
                field("port"),
                "must be between 1 and 65535",
            ));
        }
        if up.connect_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                field("connect_timeout_secs"),
                "must be at least 1",
            ));
        }
        if up.root_cert.is_some() && up.tls != UpstreamTlsMode::VerifyFull {
            return Err(ConfigError::invalid(
                field("root_cert"),
                "only used with tls = \"verify-full\"",
            ));
        }
    }
    crate::policy::validate(&c.policy, &c.control)?;
    let l = &c.listen;
    if l.max_message_bytes < 1024 {
        return Err(ConfigError::invalid(
            "listen.max_message_bytes",
            "must be at least 1024",
        ));
    }
    if l.startup_timeout_secs == 0 {
        return Err(ConfigError::invalid(
            "listen.startup_timeout_secs",
            "must be at least 1",
        ));
    }
    if l.message_timeout_secs == 0 {
        return Err(ConfigError::invalid(
            "listen.message_timeout_secs",
            "must be at least 1",
        ));
    }
    if l.max_connections == 0 {
        return Err(ConfigError::invalid(
            "listen.max_connections",
            "must be at least 1",
        ));
    }
    if c.client_tls.mode != ClientTlsMode::Disable {
        for (name, path) in [("cert", &c.client_tls.cert), ("key", &c.client_tls.key)] {
            match path {
                None => {
                    return Err(ConfigError::invalid(
                        format!("client_tls.{name}"),
                        "required when client_tls.mode is not \"disable\"",
                    ))
                }
                Some(p) if !p.is_file() => {
                    return Err(ConfigError::invalid(
                        format!("client_tls.{name}"),
                        format!("{} is not a readable file", p.display()),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}
