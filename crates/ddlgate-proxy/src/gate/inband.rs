//! In-band commands ([`crate::enforce::inband`]) in a simple Query, answered by the gate
//! itself: the break-glass window is opened or closed, through the control role, for the
//! session's `session_user` as the server reports it (the role it logged in as) — never for a
//! name in the command. Success is a NOTICE and a CommandComplete; a refusal is raised on the
//! server, so a transaction block fails as with any error. Every attempt is an audit event.

use ddlgate_wire::encode::{self, Notice, Severity};
use ddlgate_wire::{SqlState, TransactionStatus};

use super::conn::GateConn;
use super::Gate;
use crate::breakglass;
use crate::enforce::inband::{self, InBand};
use crate::enforce::scope::{self, Identity};
use crate::enforce::{self, PolicyAction, PolicyEvent, PolicyVia};
use crate::exec::identity;
use crate::jobs::durable;
use crate::ProxyError;

/// Whether the simple Query `sql` holds an in-band command (alone or not).
pub(super) fn holds_command(sql: &str) -> bool {
    ddlgate_ddl::split(sql)
        .iter()
        .filter_map(|seg| seg.stmt.clone())
        .any(|span| inband::is_inband(&sql[span]))
}

/// Answers the simple Query `sql`, which holds an in-band command; returns the transaction
/// status for its ReadyForQuery (sent by the caller).
pub(super) async fn answer(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    sql: &str,
    status: TransactionStatus,
) -> Result<TransactionStatus, ProxyError> {
    let statements: Vec<&str> = ddlgate_ddl::split(sql)
        .iter()
        .filter_map(|seg| seg.stmt.clone())
        .map(|span| &sql[span])
        .collect();
    let outcome = match statements.as_slice() {
        [one] => match inband::parse(one) {
            Ok(cmd) => run(gate, conn, &cmd).await?,
            Err(e) => Err(Notice::new(Severity::Error, SqlState::SyntaxError, e)),
        },
        _ => Err(Notice::new(
            Severity::Error,
            SqlState::SyntaxError,
            "ddlgate: a DDLGATE command must be sent alone, as a query of its own",
        )),
    };
    match outcome {
        Ok((tag, notice)) => {
            conn.notice(&notice).await?;
            let mut b = bytes::BytesMut::new();
            encode::command_complete(tag, &mut b);
            conn.send_client(&b).await?;
            Ok(status)
        }
        Err(refusal) => Ok(conn
            .relay_query(enforce::raise_statement(&refusal).as_bytes())
            .await?
            .status),
    }
}

/// What an in-band command answers: its tag and notice, or its refusal.
type Answer = Result<(&'static str, Notice), Notice>;

fn refused(code: SqlState, msg: impl Into<String>) -> Result<Answer, ProxyError> {
    Ok(Err(Notice::new(Severity::Error, code, msg)))
}

fn done(tag: &'static str, said: String) -> Result<Answer, ProxyError> {
    Ok(Ok((
        tag,
        Notice::new(Severity::Notice, SqlState::SuccessfulCompletion, said),
    )))
}

/// Runs `cmd` for the session's `session_user`.
async fn run(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    cmd: &InBand,
) -> Result<Answer, ProxyError> {
    if gate.enforcer.policy.breakglass.roles.is_empty() {
        return refused(
            SqlState::InsufficientPrivilege,
            "ddlgate: no [policy.breakglass] roles are configured: nobody may open a window",
        );
    }
    let asked = Identity {
        database: gate.info.database.clone(),
        at: scope::unix_now(),
        ..Identity::default()
    };
    let Ok(id) = identity::read(conn, asked).await? else {
        return refused(
            SqlState::InsufficientPrivilege,
            "ddlgate: the session's role could not be read (a failed transaction?)",
        );
    };
    let Some(store) = durable::control(gate.job_scope()).await else {
        return refused(
            SqlState::ObjectNotInPrerequisiteState,
            "ddlgate: break-glass windows are kept through the control role, which is unavailable",
        );
    };
    match cmd {
        InBand::BreakglassClose => close(gate, &store, &id, cmd).await,
        InBand::BreakglassOpen { reason, ttl } => {
            open(gate, &store, &id, (reason, ttl.as_secs()), cmd.tag()).await
        }
    }
}

fn event<'a>(gate: &'a Gate<'_>, actor: &'a str, action: PolicyAction) -> PolicyEvent<'a> {
    PolicyEvent::new(
        (action, PolicyVia::InBand),
        (&gate.info.database, actor),
        &gate.enforcer.version,
    )
}

async fn close(
    gate: &Gate<'_>,
    store: &tokio_postgres::Client,
    id: &Identity,
    cmd: &InBand,
) -> Result<Answer, ProxyError> {
    let actor = id.session_user.as_str();
    let n = match breakglass::close(store, &gate.info.database, actor).await {
        Ok(n) => n,
        Err(e) => return store_down(&e),
    };
    let said = format!("ddlgate: {n} break-glass window(s) of {actor} closed");
    let mut e = event(gate, actor, PolicyAction::BreakglassClosed);
    e.detail = Some(said.clone());
    e.emit();
    done(cmd.tag(), said)
}

async fn open(
    gate: &Gate<'_>,
    store: &tokio_postgres::Client,
    id: &Identity,
    (reason, ttl_secs): (&str, u64),
    tag: &'static str,
) -> Result<Answer, ProxyError> {
    let bg = &gate.enforcer.policy.breakglass;
    let actor = id.session_user.as_str();
    if let Some(why) = bg.refusal((actor, &id.session_roles), reason, ttl_secs) {
        let mut e = event(gate, actor, PolicyAction::BreakglassRefused);
        e.reason = Some(reason);
        e.detail = Some(why.clone());
        e.emit();
        return refused(SqlState::InsufficientPrivilege, format!("ddlgate: {why}"));
    }
    let w = match breakglass::open(store, (&gate.info.database, actor), reason, ttl_secs).await {
        Ok(w) => w,
        Err(e) => return store_down(&e),
    };
    let mut e = event(gate, actor, PolicyAction::BreakglassOpened);
    e.breakglass = Some(w.id);
    e.reason = Some(&w.reason);
    e.expires_at = Some(&w.expires);
    e.emit();
    let said = format!(
        "ddlgate: break-glass window {} opened for {actor} until {} ({}): the policy's refusals only warn for {actor} until then",
        w.id, w.expires, w.reason
    );
    done(tag, said)
}

/// The refusal when the break-glass store fails (logged; the client sees no internals).
fn store_down(e: &crate::jobs::JobError) -> Result<Answer, ProxyError> {
    tracing::warn!(error = %e, "break-glass store unavailable");
    Ok(Err(Notice::new(
        Severity::Error,
        SqlState::ObjectNotInPrerequisiteState,
        "ddlgate: the break-glass store is unavailable",
    )))
}
