//! Plans inside the client's transaction block: safe steps run in the client's transaction,
//! the rest is deferred to its COMMIT ([`ddlgate_ddl::Plan::split_for_transaction`]). At
//! COMMIT the gateway forwards the COMMIT, and once it has succeeded runs the deferred steps
//! on the same upstream connection, then answers the COMMIT. A failed or rolled-back
//! transaction drops them.

use ddlgate_ddl::{Decision, Pending, Plan};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::SqlState;

use super::intercept::{Gate, Origin};
use super::txwork::{Deferred, TxWork};
use crate::enforce::Action;
use crate::exec::{
    self, ClientWatch, InBlockOutcome, OnFailure, Owned, PlanOutcome, ServerError, Watch,
};
use crate::ProxyError;

/// How a statement the gateway ran for the client ended.
pub(super) enum Ran {
    /// Success, with this command tag.
    Ok(String),
    /// Failed with this error (to relay).
    Err(ServerError),
}

/// The watch used after COMMIT: the transaction is committed, so the deferred steps continue
/// when the client goes away (the session's upstream connection is the gateway's); only a
/// cancel stops them.
struct AfterCommit<'w, 'a> {
    client: &'w mut ClientWatch<'a>,
}

impl Watch for AfterCommit<'_, '_> {
    fn cancelled(&self) -> bool {
        self.client.cancelled()
    }

    fn gone(&mut self) -> bool {
        self.client.cancelled()
    }
}

/// The error for a statement that depends on something deferred to COMMIT.
pub(super) fn conflict_notice(sql: &str, p: &Pending, tx: &TxWork) -> Notice {
    let by = tx
        .deferred
        .iter()
        .find(|d| ddlgate_ddl::plan::deferral::pending(&d.steps).contains(p))
        .map(|d| d.statement())
        .unwrap_or_default();
    Notice::new(
        Severity::Error,
        SqlState::ObjectNotInPrerequisiteState,
        format!("ddlgate: this statement depends on the {p}, which is only finished after COMMIT"),
    )
    .detail(format!(
        "ddlgate deferred part of an earlier statement of this transaction to run after COMMIT, so that it does not hold locks or scan the table inside the transaction: {by}. The statement refused: {}",
        ddlgate_ddl::redact(sql)
    ))
    .hint("move this statement to a later migration (a separate transaction), after the one that creates the object")
}

/// Runs a rewrite for a statement inside the client's transaction block.
pub(super) async fn rewrite_in_block(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    origin: &Origin<'_>,
    d: &Decision,
    plan: &Plan,
    tx: &mut TxWork,
) -> Result<Ran, ProxyError> {
    let split = plan.split_for_transaction();
    let later: Vec<&str> = split
        .deferred
        .iter()
        .map(|s| s.description.as_str())
        .collect();
    let mut n = Notice::new(
        Severity::Notice,
        SqlState::SuccessfulCompletion,
        format!("ddlgate: running a safe plan instead: {}", plan.summary),
    );
    if !later.is_empty() {
        n = n.detail(format!(
            "inside this transaction: {} step(s); after COMMIT: {}",
            split.now.len(),
            later.join("; ")
        ));
    }
    owned.notice(&n).await?;
    let cfg = &gate.enforcer.policy.execution;
    let text = d.text(origin.sql);
    match exec::run_in_block(owned, &split.now, cfg, watch).await? {
        InBlockOutcome::Done(records) => {
            let outcome = if split.deferred.is_empty() {
                "completed"
            } else {
                "deferred"
            };
            gate.audit(
                origin,
                d,
                Action::Rewrite,
                records.iter().map(|r| r.audit()).collect(),
                outcome,
            );
            tx.defer(
                origin.sql,
                origin.protocol,
                d,
                &plan.summary,
                split.deferred,
            );
            Ok(Ran::Ok(crate::enforce::command_tag(text)))
        }
        InBlockOutcome::Failed(records, e) => {
            gate.audit(
                origin,
                d,
                Action::Rewrite,
                records.iter().map(|r| r.audit()).collect(),
                "failed",
            );
            Ok(Ran::Err(e))
        }
    }
}

/// Runs a guarded statement inside the client's transaction block (under a savepoint, with a
/// short lock_timeout and retries).
pub(super) async fn guard_in_block(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
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
    let (records, ran) = match exec::run_in_block(owned, &[step], cfg, watch).await? {
        InBlockOutcome::Done(r) => (r, Ran::Ok(crate::enforce::command_tag(text))),
        InBlockOutcome::Failed(r, e) => (r, Ran::Err(e)),
    };
    gate.audit(
        origin,
        d,
        Action::Guard,
        records.iter().map(|r| r.audit()).collect(),
        if matches!(ran, Ran::Ok(_)) {
            "completed"
        } else {
            "failed"
        },
    );
    Ok(ran)
}

/// Audits deferred plans that will not run (the transaction rolled back or failed).
pub(super) fn drop_deferred(gate: &Gate<'_>, dropped: &[Deferred], why: &'static str) {
    for d in dropped {
        gate.audit(
            &Origin {
                protocol: d.protocol,
                sql: &d.text,
            },
            &d.decision,
            Action::Rewrite,
            Vec::new(),
            why,
        );
    }
}

/// Forwards the client's COMMIT; when it commits, runs the deferred steps before answering.
pub(super) async fn commit(
    owned: &mut Owned<'_>,
    watch: &mut ClientWatch<'_>,
    gate: &Gate<'_>,
    commit_sql: &str,
    tx: &mut TxWork,
) -> Result<Ran, ProxyError> {
    let deferred = tx.take_deferred();
    let r = owned.query(commit_sql).await?;
    if let Some(e) = r.error {
        drop_deferred(gate, &deferred, "dropped-commit-failed");
        return Ok(Ran::Err(e));
    }
    let tag = r.tags.last().cloned().unwrap_or_else(|| "COMMIT".into());
    if tag != "COMMIT" {
        // COMMIT of a failed transaction answers ROLLBACK.
        drop_deferred(gate, &deferred, "dropped-rolled-back");
        return Ok(Ran::Ok(tag));
    }
    let cfg = &gate.enforcer.policy.execution;
    let mut watch = AfterCommit { client: watch };
    for (i, job) in deferred.iter().enumerate() {
        owned
            .notice(&Notice::new(
                Severity::Notice,
                SqlState::SuccessfulCompletion,
                format!(
                    "ddlgate: COMMIT done; now running {} deferred step(s) for: {}",
                    job.steps.len(),
                    job.statement()
                ),
            ))
            .await?;
        let plan = Plan {
            summary: job.summary.clone(),
            steps: job.steps.clone(),
        };
        let outcome = exec::run_plan(owned, &plan, 0, OnFailure::Keep, cfg, &mut watch).await?;
        let (records, error) = match outcome {
            PlanOutcome::Completed(records) => (records, None),
            PlanOutcome::Failed(records, e) => (records, Some(e.message)),
            PlanOutcome::ClientGone(records) => (records, Some("stopped".to_owned())),
        };
        let origin = Origin {
            protocol: job.protocol,
            sql: &job.text,
        };
        gate.audit(
            &origin,
            &job.decision,
            Action::Rewrite,
            records.iter().map(|r| r.audit()).collect(),
            if error.is_none() {
                "completed"
            } else {
                "failed"
            },
        );
        if let Some(message) = error {
            let done = records
                .iter()
                .filter(|r| matches!(r.outcome, "done" | "skipped"))
                .count();
            let mut remaining: Vec<String> = job.steps[done.min(job.steps.len())..]
                .iter()
                .map(|s| s.sql.clone())
                .collect();
            for later in &deferred[i + 1..] {
                remaining.extend(later.steps.iter().map(|s| s.sql.clone()));
            }
            owned
                .notice(
                    &Notice::new(
                        Severity::Warning,
                        SqlState::Warning,
                        format!(
                            "ddlgate: the transaction committed, but a deferred step failed: {message}"
                        ),
                    )
                    .detail(format!("remaining steps: {}", remaining.join("; ")))
                    .hint("fix the cause, then run the migration again (completed steps are skipped) or run the remaining statements yourself"),
                )
                .await?;
            break;
        }
    }
    Ok(Ran::Ok(tag))
}
