//! `ddlgate approvals`: list, approve or reject the requests of one database; and
//! `ddlgate breakglass`: open or close one's own break-glass window. The store is
//! read and written through the control role; the person deciding is whoever logs in to the
//! database with PGUSER / PGPASSWORD (as libpq reads them: PGUSER defaults to the operating
//! system user; PGHOST and PGPORT override the configuration's route), never a name typed on
//! the command line.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ddlgate_config::{Config, Control};
use ddlgate_proxy::approvals::{self, Decided};
use ddlgate_proxy::breakglass;
use ddlgate_proxy::enforce::{Enforcer, PolicyAction, PolicyEvent, PolicyVia};
use ddlgate_proxy::exec::identity;
use ddlgate_proxy::jobs;

use crate::cli::{ApprovalsAction, BreakglassAction};

/// Runs one `ddlgate approvals` action.
pub fn run(config: &Config, database: &str, action: ApprovalsAction) -> anyhow::Result<ExitCode> {
    if !config.control.enabled() {
        bail!("no control role configured: set [control] user (and password_env) in the configuration");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let upstream = &route(config, database)?;
        let store = jobs::connect(upstream, &config.control, database)
            .await
            .context("connecting as the control role")?;
        jobs::migrate(&store).await.context("ddlgate schema")?;
        let (id, approve) = match action {
            ApprovalsAction::List => return list(&store, database).await,
            ApprovalsAction::Approve { id } => (id, true),
            ApprovalsAction::Reject { id } => (id, false),
        };
        let (actor, roles) = actor(upstream, database).await?;
        let decided = approvals::decide(&store, (database, id), (&actor, &roles), approve).await?;
        let (event, said, code) = match decided {
            Ok(Decided::Approved(have, need)) if have >= need => (
                PolicyAction::Approved,
                format!("request {id}: approved by {actor}; the statement may now run once"),
                ExitCode::SUCCESS,
            ),
            Ok(Decided::Approved(have, need)) => (
                PolicyAction::Approved,
                format!("request {id}: approved by {actor} ({have} of {need})"),
                ExitCode::SUCCESS,
            ),
            Ok(Decided::Rejected) => (
                PolicyAction::Rejected,
                format!("request {id}: rejected by {actor}"),
                ExitCode::SUCCESS,
            ),
            Err(refusal) => (
                PolicyAction::DecisionRefused,
                refusal.to_string(),
                ExitCode::from(1),
            ),
        };
        let version = Enforcer::new(config.policy.clone()).version;
        let mut e = PolicyEvent::new((event, PolicyVia::Cli), (database, &actor), &version);
        e.request = Some(id);
        e.detail = Some(said.clone());
        e.emit();
        if code == ExitCode::SUCCESS {
            println!("{said}");
        } else {
            eprintln!("ddlgate: {said}");
        }
        Ok(code)
    })
}

/// Emits a break-glass event by `actor`.
fn audit_breakglass<'a>(
    version: &'a str,
    (database, actor): (&'a str, &'a str),
    event: PolicyAction,
    fill: impl FnOnce(&mut PolicyEvent<'a>),
) {
    let mut e = PolicyEvent::new((event, PolicyVia::Cli), (database, actor), version);
    fill(&mut e);
    e.emit();
}

/// Runs one `ddlgate breakglass` action for the role logged in as.
pub fn breakglass(
    config: &Config,
    database: &str,
    action: BreakglassAction,
) -> anyhow::Result<ExitCode> {
    let bg = &config.policy.breakglass;
    if bg.roles.is_empty() {
        bail!("no [policy.breakglass] roles configured: nobody may open a window");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let upstream = &route(config, database)?;
        let (actor, roles) = actor(upstream, database).await?;
        let version = Enforcer::new(config.policy.clone()).version;
        let store = jobs::connect(upstream, &config.control, database)
            .await
            .context("connecting as the control role")?;
        jobs::migrate(&store).await.context("ddlgate schema")?;
        match action {
            BreakglassAction::Close => {
                let n = breakglass::close(&store, database, &actor).await?;
                let said = format!("{n} break-glass window(s) of {actor} closed");
                audit_breakglass(
                    &version,
                    (database, &actor),
                    PolicyAction::BreakglassClosed,
                    |e| {
                        e.detail = Some(said.clone());
                    },
                );
                println!("{said}");
                Ok(ExitCode::SUCCESS)
            }
            BreakglassAction::Open { reason, ttl } => {
                if let Some(why) = bg.refusal((&actor, &roles), &reason, ttl.as_secs()) {
                    audit_breakglass(
                        &version,
                        (database, &actor),
                        PolicyAction::BreakglassRefused,
                        |e| {
                            e.reason = Some(&reason);
                            e.detail = Some(why.clone());
                        },
                    );
                    eprintln!("ddlgate: {why}");
                    return Ok(ExitCode::from(1));
                }
                let w =
                    breakglass::open(&store, (database, &actor), &reason, ttl.as_secs()).await?;
                audit_breakglass(
                    &version,
                    (database, &actor),
                    PolicyAction::BreakglassOpened,
                    |e| {
                        e.breakglass = Some(w.id);
                        e.reason = Some(&w.reason);
                        e.expires_at = Some(&w.expires);
                    },
                );
                println!(
                    "break-glass window {} opened for {actor} until {} ({})",
                    w.id, w.expires, w.reason
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// The server to log in to: the configuration's route for `database`, with PGHOST and PGPORT
/// taking precedence as they do for libpq.
pub(crate) fn route(config: &Config, database: &str) -> anyhow::Result<ddlgate_config::Upstream> {
    let mut upstream = config
        .route(database)
        .with_context(|| format!("no route for database {database}"))?
        .clone();
    if let Ok(host) = std::env::var("PGHOST") {
        upstream.host = host;
    }
    if let Ok(port) = std::env::var("PGPORT") {
        upstream.port = port.parse().context("PGPORT")?;
    }
    Ok(upstream)
}

/// Who is acting: logs in as PGUSER with PGPASSWORD and asks the server.
async fn actor(
    upstream: &ddlgate_config::Upstream,
    database: &str,
) -> anyhow::Result<(String, BTreeSet<String>)> {
    let user = std::env::var("PGUSER")
        .or_else(|_| std::env::var("USER"))
        .context("PGUSER is not set")?;
    verified(upstream, database, &user, std::env::var("PGPASSWORD").ok()).await
}

/// The role `user` logs in as with `password` (verified by logging in to `database`) and the
/// roles it is a member of.
pub(crate) async fn verified(
    upstream: &ddlgate_config::Upstream,
    database: &str,
    user: &str,
    password: Option<String>,
) -> anyhow::Result<(String, BTreeSet<String>)> {
    let login = Control {
        user: Some(user.to_owned()),
        password,
        ..Control::default()
    };
    let client = jobs::connect(upstream, &login, database)
        .await
        .with_context(|| format!("logging in as {user}"))?;
    let actor: String = client
        .query_one("SELECT current_user::pg_catalog.text", &[])
        .await?
        .get(0);
    let rows = client.query(identity::MEMBERSHIP, &[&actor]).await?;
    Ok((actor, rows.iter().map(|r| r.get::<_, String>(0)).collect()))
}

async fn list(store: &tokio_postgres::Client, database: &str) -> anyhow::Result<ExitCode> {
    println!(
        "{:>6}  {:<9} {:<16} {:<24} {:>9}  {:<20}  STATEMENT",
        "ID", "STATE", "REQUESTER", "SCOPE", "APPROVALS", "EXPIRES"
    );
    for r in approvals::list(store, database).await? {
        println!(
            "{:>6}  {:<9} {:<16} {:<24} {:>9}  {:<20}  {}",
            r.id,
            r.state,
            r.requester,
            r.scope,
            format!("{}/{}", r.approved_by.len(), r.min_approvals),
            r.expires,
            r.statement
        );
    }
    Ok(ExitCode::SUCCESS)
}
