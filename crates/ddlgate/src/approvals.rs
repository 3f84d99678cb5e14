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
        match approvals::decide(&store, (database, id), (&actor, &roles), approve).await? {
            Ok(Decided::Approved(have, need)) if have >= need => {
                println!("request {id}: approved by {actor}; the statement may now run once");
                Ok(ExitCode::SUCCESS)
            }
            Ok(Decided::Approved(have, need)) => {
                println!("request {id}: approved by {actor} ({have} of {need})");
                Ok(ExitCode::SUCCESS)
            }
            Ok(Decided::Rejected) => {
                println!("request {id}: rejected by {actor}");
                Ok(ExitCode::SUCCESS)
            }
            Err(refusal) => {
                eprintln!("ddlgate: {refusal}");
                Ok(ExitCode::from(1))
            }
        }
    })
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
        let store = jobs::connect(upstream, &config.control, database)
            .await
            .context("connecting as the control role")?;
        jobs::migrate(&store).await.context("ddlgate schema")?;
        match action {
            BreakglassAction::Close => {
                let n = breakglass::close(&store, database, &actor).await?;
                println!("{n} break-glass window(s) of {actor} closed");
                Ok(ExitCode::SUCCESS)
            }
            BreakglassAction::Open { reason, ttl } => {
                if !bg.roles.iter().any(|r| roles.contains(r)) {
                    eprintln!(
                        "ddlgate: {actor} is not a member of a break-glass role ({})",
                        bg.roles.join(", ")
                    );
                    return Ok(ExitCode::from(1));
                }
                if !bg.reason_ok(&reason) {
                    eprintln!("ddlgate: the reason must match {:?}", bg.reason_pattern);
                    return Ok(ExitCode::from(1));
                }
                if ttl.as_secs() == 0 || ttl.as_secs() > bg.max_ttl_secs {
                    eprintln!("ddlgate: --ttl must be between 1s and {}s", bg.max_ttl_secs);
                    return Ok(ExitCode::from(1));
                }
                let w =
                    breakglass::open(&store, (database, &actor), &reason, ttl.as_secs()).await?;
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
    let login = Control {
        user: Some(user.clone()),
        password_env: Some("PGPASSWORD".into()),
        ..Control::default()
    };
    let client = jobs::connect(upstream, &login, database)
        .await
        .with_context(|| format!("logging in as {user} (PGUSER/PGPASSWORD)"))?;
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
