//! Statements the gate runs inside the client's transaction block: a rewrite's safe steps run
//! in the client's transaction and the rest is deferred to its COMMIT
//! ([`ddlgate_ddl::Plan::split_for_transaction`]); a guarded statement runs under a savepoint
//! with a short lock_timeout and retries.

use ddlgate_ddl::{Decision, Plan};

use super::audit::Origin;
use super::block::TxWork;
use super::conn::{GateConn, Ran};
use super::datacheck::{self, Scope};
use super::Gate;
use crate::enforce::{self, Action, AuditOutcome};
use crate::exec::{self, InBlockOutcome, Watch};
use crate::ProxyError;

/// Runs a rewrite for a statement inside the client's transaction block.
pub async fn rewrite_in_block(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    (origin, d, plan): (&Origin<'_>, &Decision, &Plan),
    tx: &mut TxWork,
) -> Result<Ran, ProxyError> {
    let checks = ddlgate_ddl::plan::datacheck::checks(&plan.steps);
    if let Some(e) = datacheck::first_violation(conn, &checks, Scope::InBlock).await? {
        gate.audit(origin, d, Action::Rewrite, Vec::new(), AuditOutcome::Failed);
        return Ok(Ran::Err(e));
    }
    let split = plan.split_for_transaction();
    let later: Vec<&str> = split
        .deferred
        .iter()
        .map(|s| s.description.as_str())
        .collect();
    let mut n = enforce::rewrite_notice(plan);
    if !later.is_empty() {
        n = n.detail(format!(
            "inside this transaction: {} step(s); after COMMIT: {}",
            split.now.len(),
            later.join("; ")
        ));
    }
    conn.notice(&n).await?;
    let cfg = &gate.enforcer.policy.execution;
    let text = d.text(origin.sql);
    match exec::run_in_block(conn, &split.now, cfg, watch).await? {
        InBlockOutcome::Done(records) => {
            let outcome = if split.deferred.is_empty() {
                AuditOutcome::Completed
            } else {
                AuditOutcome::Deferred
            };
            let steps = records.iter().map(|r| r.audit()).collect();
            gate.audit(origin, d, Action::Rewrite, steps, outcome);
            tx.defer(
                origin.sql,
                origin.protocol,
                d,
                &plan.summary,
                split.deferred,
            );
            Ok(Ran::Ok(enforce::command_tag(text)))
        }
        InBlockOutcome::Failed(records, e) => {
            let steps = records.iter().map(|r| r.audit()).collect();
            gate.audit(origin, d, Action::Rewrite, steps, AuditOutcome::Failed);
            Ok(Ran::Err(e))
        }
    }
}

/// Runs a guarded statement inside the client's transaction block (under a savepoint, with a
/// short lock_timeout and retries).
pub async fn guard_in_block(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
) -> Result<Ran, ProxyError> {
    let text = d.text(origin.sql);
    let step = ddlgate_ddl::Step {
        description: "statement with a short lock_timeout (under a savepoint)".into(),
        sql: text.to_owned(),
        tx: ddlgate_ddl::TxRequirement::InsideOk,
        lock_timeout: ddlgate_ddl::plan::SHORT,
        idempotency_check: None,
        rollback: None,
        kind: ddlgate_ddl::StepKind::Ddl,
    };
    let cfg = &gate.enforcer.policy.execution;
    let (records, ran) = match exec::run_in_block(conn, &[step], cfg, watch).await? {
        InBlockOutcome::Done(r) => (r, Ran::Ok(enforce::command_tag(text))),
        InBlockOutcome::Failed(r, e) => (r, Ran::Err(e)),
    };
    let steps = records.iter().map(|r| r.audit()).collect();
    gate.audit_ran(origin, d, Action::Guard, steps, ran.is_ok());
    Ok(ran)
}

/// Runs a guarded statement outside any block: a short lock_timeout and retries.
pub async fn guard_outside(
    conn: &mut impl GateConn,
    watch: &mut impl Watch,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
) -> Result<Ran, ProxyError> {
    let cfg = &gate.enforcer.policy.execution;
    let (result, record) = exec::run_guarded(conn, d.text(origin.sql), cfg, watch).await?;
    gate.audit_ran(
        origin,
        d,
        Action::Guard,
        vec![record.audit()],
        result.is_ok(),
    );
    Ok(result.map_or_else(Ran::Err, Ran::Ok))
}
