//! Command-line interface. Flags override the configuration file, so
//! `ddlgate --listen 127.0.0.1:6432 --upstream db.internal:5432` needs no file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ddlgate_config::{Config, LogFormat, Upstream, UpstreamTlsMode};

/// A Postgres-wire gateway that forwards traffic untouched and makes DDL safe.
///
/// With no --config and no --upstream it starts a throwaway PostgreSQL from the installed
/// server binaries (pg_config --bindir, or PG_BIN) and fronts it.
#[derive(Debug, Parser)]
#[command(name = "ddlgate", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse migration files offline; exits 1 when a statement would be blocked or
    /// rewritten under the default policy (warnings alone exit 0).
    Lint(LintArgs),
    /// Print a rule's documentation: why it is dangerous, the safe alternative, bad and good
    /// SQL (its id or a squawk alias; `--list` for every rule).
    Explain {
        /// The rule id.
        #[arg(required_unless_present = "list")]
        rule: Option<String>,
        /// List every rule with its severity, category and summary.
        #[arg(long)]
        list: bool,
    },
    /// Print the decision for SQL and its safe phased plan, as commented SQL.
    Plan {
        /// The SQL text (or use --file).
        #[arg(required_unless_present = "file")]
        sql: Option<String>,
        /// Read the SQL from a file.
        #[arg(long, conflicts_with = "sql")]
        file: Option<PathBuf>,
        /// PostgreSQL major version to analyse for.
        #[arg(long, default_value_t = 15)]
        pg_version: u32,
    },
    /// List, resume or abandon durable migration jobs (needs a [control] role).
    Jobs {
        /// The gateway's configuration file (for the route and the control role).
        #[arg(long, short, env = "DDLGATE_CONFIG")]
        config: PathBuf,
        /// The database whose jobs to show.
        #[arg(long, short)]
        database: String,
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Requests for statements a `require-approval` scope holds: list them, approve or reject
    /// one. The person acting is the PostgreSQL role they log in as (PGUSER, PGPASSWORD),
    /// verified by logging in to the database.
    Approvals {
        /// The gateway's configuration file (route and control role).
        #[arg(long, short, env = "DDLGATE_CONFIG")]
        config: PathBuf,
        /// The database whose requests these are.
        #[arg(long, short)]
        database: String,
        #[command(subcommand)]
        action: ApprovalsAction,
    },
    /// Open or close your own break-glass window ([policy.breakglass]): while it is open, the
    /// scopes' refusals only warn for you. You are the role you log in as (PGUSER/PGPASSWORD).
    Breakglass {
        /// The gateway's configuration file (route, control role, [policy.breakglass]).
        #[arg(long, short, env = "DDLGATE_CONFIG")]
        config: PathBuf,
        /// The database.
        #[arg(long, short)]
        database: String,
        #[command(subcommand)]
        action: BreakglassAction,
    },
    /// The gateway's policy, offline.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// The audit log's tamper evidence.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Validate a configuration file and exit (0 when valid).
    CheckConfig {
        /// The TOML file to check.
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// `ddlgate lint`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    /// Files or directories (searched recursively for *.sql); `-` reads standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Skip files whose path matches this glob (repeat; `*` crosses directories), e.g.
    /// `--exclude '*.down.sql' --exclude 'db/legacy/**'`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// PostgreSQL major version to analyse for.
    #[arg(long, default_value_t = 15)]
    pub pg_version: u32,
    /// Treat each file as running inside an explicit transaction block.
    #[arg(long)]
    pub assume_in_transaction: bool,
    /// How each file is sent: `statements` (one at a time, as psql -f does: the default)
    /// or `script` (the whole file as one multi-statement Query, as golang-migrate does).
    #[arg(long)]
    pub sent_as: Option<ddlgate_ddl::lint::SentAs>,
    /// The migration tool that runs the files, for how it sends them and whether it wraps
    /// them in a transaction: psql, flyway, liquibase-sql, goose, dbmate, golang-migrate,
    /// sqlx, django, alembic, rails. Markers in the files (goose, dbmate, Liquibase, sqlx)
    /// are honoured in any case.
    #[arg(long)]
    pub tool: Option<ddlgate_ddl::lint::Tool>,
    /// SQL defining the schema the files start from (e.g. `pg_dump --schema-only` output);
    /// repeat for several. The files' own statements are replayed on it, in order.
    #[arg(long = "schema", value_name = "FILE")]
    pub schema: Vec<PathBuf>,
    /// Read the schema facts the gateway reads (types, indexes, constraints, row and size
    /// estimates) from this database, for the relations the files touch.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Base URL the docs paths are joined to, so every finding links to its rule's page
    /// (e.g. https://github.com/ORG/ddlgate/blob/main): text, JSON and SARIF `helpUri`.
    #[arg(long, value_name = "URL", env = "DDLGATE_DOCS_URL")]
    pub docs_url: Option<String>,
    /// Output: text, json, sarif or github.
    #[arg(long, default_value = "text")]
    pub format: ddlgate_ddl::lint::Format,
    #[command(flatten)]
    pub policy: LintPolicyArgs,
}

/// `ddlgate lint --config`: the gateway's own policy, offline.
#[derive(Debug, Clone, clap::Args)]
pub struct LintPolicyArgs {
    /// The gateway's configuration file: its [policy] (rule actions, thresholds, unparseable
    /// DDL) and [[policy.scope]] entries decide, as the gateway would. Without it, the
    /// default policy.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The login role that will run the files (for the scopes); without it, only scopes that
    /// name no roles apply.
    #[arg(long, requires = "config")]
    pub user: Option<String>,
    /// Roles that user is a member of (repeat; nothing is read from a server).
    #[arg(long = "member-of", requires = "user")]
    pub member_of: Vec<String>,
    /// The database the files run in (for scopes naming databases).
    #[arg(long, requires = "config")]
    pub database: Option<String>,
    /// The application_name they run with (for scopes naming applications).
    #[arg(long, default_value = "", requires = "config")]
    pub app: String,
    /// The schema unqualified names are placed in (the first of the search path), for
    /// scopes naming schemas.
    #[arg(long, default_value = "public", requires = "config")]
    pub search_path: String,
}

/// What `ddlgate audit` does.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check an audit file's hash chain: exit 0 when every record is intact and in sequence,
    /// 1 naming the first altered or missing record.
    Verify {
        /// The audit file (`[log] audit_file`).
        file: PathBuf,
    },
}

/// What `ddlgate approvals` does.
#[derive(Debug, Subcommand)]
pub enum ApprovalsAction {
    /// Requests, newest first.
    List,
    /// Approve a request (not your own; you must be a member of one of its approver roles).
    Approve {
        /// The request id (in the DETAIL of the statement's error).
        id: i64,
    },
    /// Reject a request.
    Reject {
        /// The request id.
        id: i64,
    },
}

/// What `ddlgate breakglass` does.
#[derive(Debug, Subcommand)]
pub enum BreakglassAction {
    /// Open a window (closing one you had open).
    Open {
        /// Why (must match [policy.breakglass] reason_pattern, e.g. an incident id).
        #[arg(long)]
        reason: String,
        /// How long, e.g. `30m`, `1h` (at most max_ttl_secs).
        #[arg(long, value_parser = humantime::parse_duration)]
        ttl: std::time::Duration,
    },
    /// Close your open window now.
    Close,
}

/// What `ddlgate policy` does.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Which safety rules and [[policy.scope]] entries match SQL sent by a user, and the
    /// action that results (exit 0 whatever the action).
    Explain {
        /// The gateway's configuration file.
        #[arg(long, short, env = "DDLGATE_CONFIG")]
        config: PathBuf,
        /// The login role sending the SQL.
        #[arg(long, short)]
        user: String,
        /// The database it is sent to.
        #[arg(long, short)]
        database: String,
        /// Its application_name.
        #[arg(long, default_value = "")]
        app: String,
        /// The client's address.
        #[arg(long)]
        client: Option<std::net::IpAddr>,
        /// Roles the user is a member of. Without it, they are read from the server through
        /// the [control] role (when one is configured; PGHOST/PGPORT override the route).
        #[arg(long = "member-of")]
        member_of: Vec<String>,
        /// The schema unqualified names are placed in (the first of the search path), for
        /// scopes naming schemas.
        #[arg(long, default_value = "public")]
        search_path: String,
        /// PostgreSQL major version to analyse for.
        #[arg(long, default_value_t = 15)]
        pg_version: u32,
        /// The SQL text.
        sql: String,
    },
}

/// What `ddlgate jobs` does.
#[derive(Debug, Subcommand)]
pub enum JobsAction {
    /// Jobs with state and progress, newest first.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Keep showing live progress bars until no job is active (on a terminal).
        #[arg(long)]
        watch: bool,
    },
    /// Run a job's remaining steps now, in this process (when no gateway is running it).
    Resume {
        /// Job id.
        id: i64,
    },
    /// Give up on a job: it is never resumed (its completed steps stay).
    Abandon {
        /// Job id.
        id: i64,
    },
}

/// Options for running the gateway.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// TOML configuration file (see config/gateway.example.toml).
    #[arg(long, short, env = "DDLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address, overriding [listen] addr.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Turn the HTTP admin API on at this address, overriding [admin] listen (tokens:
    /// DDLGATE_ADMIN_TOKEN for admin, DDLGATE_ADMIN_VIEWER_TOKEN for read-only).
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// Upstream server host:port for every database, replacing [databases].
    #[arg(long)]
    pub upstream: Option<String>,
    /// TLS mode toward --upstream: disable, prefer, require or verify-full.
    #[arg(long, value_parser = parse_tls_mode)]
    pub upstream_tls: Option<UpstreamTlsMode>,
    /// Log format: text or json.
    #[arg(long, value_parser = parse_log_format)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. info or ddlgate_proxy=debug (RUST_LOG wins).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Seconds sessions may run after SIGTERM before they are closed.
    #[arg(long)]
    pub shutdown_timeout: Option<u64>,
    /// Relay threads (1 = single-threaded, 0 = one per core).
    #[arg(long)]
    pub worker_threads: Option<usize>,
    /// Fast-relay threads for plain-TCP sessions' ordinary traffic (0 = off).
    #[arg(long)]
    pub fast_relay_threads: Option<usize>,
    /// Reload (as SIGHUP does) when the --config file, or the client TLS certificate or key
    /// it names, changes on disk (polled every second).
    #[arg(long, requires = "config", env = "DDLGATE_WATCH_CONFIG")]
    pub watch_config: bool,
}

fn parse_tls_mode(s: &str) -> Result<UpstreamTlsMode, String> {
    Ok(match s {
        "disable" => UpstreamTlsMode::Disable,
        "prefer" => UpstreamTlsMode::Prefer,
        "require" => UpstreamTlsMode::Require,
        "verify-full" => UpstreamTlsMode::VerifyFull,
        other => {
            return Err(format!(
                "unknown TLS mode {other:?} (disable, prefer, require, verify-full)"
            ))
        }
    })
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("unknown log format {other:?} (text, json)")),
    }
}

fn parse_host_port(s: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = s
        .rsplit_once(':')
        .with_context(|| format!("--upstream {s:?}: expected HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("--upstream {s:?}: bad port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("--upstream {s:?}: empty host");
    }
    Ok((host.to_owned(), port))
}

impl RunArgs {
    /// The effective configuration: file (or defaults), then flags, then validation.
    /// `embedded_port` is the throwaway cluster's port when one was started.
    pub fn resolve(&self, embedded_port: Option<u16>) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::load(path).with_context(|| path.display().to_string())?,
            None => Config {
                listen: Default::default(),
                client_tls: Default::default(),
                databases: Default::default(),
                log: Default::default(),
                policy: Default::default(),
                control: Default::default(),
                guard: Default::default(),
                admin: Default::default(),
            },
        };
        let upstream = match (&self.upstream, embedded_port) {
            (Some(s), _) => {
                let (host, port) = parse_host_port(s)?;
                Some(Upstream::new(host, port))
            }
            (None, Some(port)) => {
                let mut up = Upstream::new("127.0.0.1", port);
                up.tls = UpstreamTlsMode::Disable;
                Some(up)
            }
            (None, None) => None,
        };
        if let Some(mut up) = upstream {
            if let Some(mode) = self.upstream_tls {
                up.tls = mode;
            }
            config.databases.clear();
            config.databases.insert("*".into(), up);
        } else if let Some(mode) = self.upstream_tls {
            config.databases.values_mut().for_each(|u| u.tls = mode);
        }
        if let Some(addr) = self.listen {
            config.listen.addr = addr;
        }
        if let Some(addr) = self.admin_listen {
            config.admin.listen = Some(addr);
        }
        if let Some(f) = self.log_format {
            config.log.format = f;
        }
        if let Some(l) = &self.log_level {
            config.log.level.clone_from(l);
        }
        if let Some(n) = self.worker_threads {
            config.listen.worker_threads = n;
        }
        if let Some(n) = self.fast_relay_threads {
            config.listen.fast_relay_threads = n;
        }
        if let Some(t) = self.shutdown_timeout {
            config.listen.shutdown_timeout_secs = t;
        }
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_alone_make_a_config() {
        let cli = Cli::parse_from([
            "ddlgate",
            "--listen",
            "127.0.0.1:7000",
            "--upstream",
            "db.internal:5433",
        ]);
        let c = cli.run.resolve(None).expect("valid");
        assert_eq!(c.listen.addr.to_string(), "127.0.0.1:7000");
        let up = c.route("anything").expect("wildcard");
        assert_eq!((up.host.as_str(), up.port), ("db.internal", 5433));
    }

    #[test]
    fn bad_upstream_is_explained() {
        let cli = Cli::parse_from(["ddlgate", "--upstream", "nohost"]);
        assert!(cli
            .run
            .resolve(None)
            .unwrap_err()
            .to_string()
            .contains("HOST:PORT"));
    }

    #[test]
    fn embedded_port_routes_everything_without_tls() {
        let cli = Cli::parse_from(["ddlgate"]);
        let c = cli.run.resolve(Some(5999)).expect("valid");
        let up = c.route("x").expect("wildcard");
        assert_eq!((up.port, up.tls), (5999, UpstreamTlsMode::Disable));
    }
}
