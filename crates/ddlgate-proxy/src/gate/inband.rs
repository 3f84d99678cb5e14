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

/// Runs `cmd`: its tag and notice, or its refusal.
async fn run(
    gate: &Gate<'_>,
    conn: &mut impl GateConn,
    cmd: &InBand,
) -> Result<Result<(&'static str, Notice), Notice>, ProxyError> {
    let refused = |code, msg: String| Ok(Err(Notice::new(Severity::Error, code, msg)));
    let bg = &gate.enforcer.policy.breakglass;
    if bg.roles.is_empty() {
        return refused(
            SqlState::InsufficientPrivilege,
            "ddlgate: no [policy.breakglass] roles are configured: nobody may open a window".into(),
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
            "ddlgate: the session's role could not be read (a failed transaction?)".into(),
        );
    };
    let Some(store) = durable::control(gate.job_scope()).await else {
        return refused(
            SqlState::ObjectNotInPrerequisiteState,
            "ddlgate: break-glass windows are kept through the control role, which is unavailable"
                .into(),
        );
    };
    let (database, actor) = (gate.info.database.as_str(), id.session_user.as_str());
    let event = |action| {
        PolicyEvent::new(
            (action, PolicyVia::InBand),
            (database, actor),
            &gate.enforcer.version,
        )
    };
    let (reason, ttl) = match cmd {
        InBand::BreakglassClose => {
            let n = match breakglass::close(&store, database, actor).await {
                Ok(n) => n,
                Err(e) => return store_down(&e),
            };
            let said = format!("ddlgate: {n} break-glass window(s) of {actor} closed");
            let mut e = event(PolicyAction::BreakglassClosed);
            e.detail = Some(said.clone());
            e.emit();
            return Ok(Ok((
                cmd.tag(),
                Notice::new(Severity::Notice, SqlState::SuccessfulCompletion, said),
            )));
        }
        InBand::BreakglassOpen { reason, ttl } => (reason, ttl),
    };
    let why = if !bg.roles.iter().any(|r| id.session_roles.contains(r)) {
        Some(format!(
            "{actor} is not a member of a break-glass role ({})",
            bg.roles.join(", ")
        ))
    } else if !bg.reason_ok(reason) {
        Some(format!("the reason must match {:?}", bg.reason_pattern))
    } else if ttl.as_secs() == 0 || ttl.as_secs() > bg.max_ttl_secs {
        Some(format!(
            "the duration must be between 1s and {}s",
            bg.max_ttl_secs
        ))
    } else {
        None
    };
    if let Some(why) = why {
        let mut e = event(PolicyAction::BreakglassRefused);
        e.reason = Some(reason);
        e.detail = Some(why.clone());
        e.emit();
        return refused(SqlState::InsufficientPrivilege, format!("ddlgate: {why}"));
    }
    let w = match breakglass::open(&store, (database, actor), reason, ttl.as_secs()).await {
        Ok(w) => w,
        Err(e) => return store_down(&e),
    };
    let mut e = event(PolicyAction::BreakglassOpened);
    e.breakglass = Some(w.id);
    e.reason = Some(&w.reason);
    e.expires_at = Some(&w.expires);
    e.emit();
    let said = format!(
        "ddlgate: break-glass window {} opened for {actor} until {} ({}): the policy's refusals only warn for {actor} until then",
        w.id, w.expires, w.reason
    );
    Ok(Ok((
        cmd.tag(),
        Notice::new(Severity::Notice, SqlState::SuccessfulCompletion, said),
    )))
}

/// The refusal when the break-glass store fails (logged; the client sees no internals).
fn store_down(
    e: &crate::jobs::JobError,
) -> Result<Result<(&'static str, Notice), Notice>, ProxyError> {
    tracing::warn!(error = %e, "break-glass store unavailable");
    Ok(Err(Notice::new(
        Severity::Error,
        SqlState::ObjectNotInPrerequisiteState,
        "ddlgate: the break-glass store is unavailable",
    )))
}
