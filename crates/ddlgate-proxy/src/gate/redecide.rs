//! A statement the gateway holds for the client (a named Parse it let through) is decided
//! again each time it executes: PostgreSQL resolves a utility statement's names at execution,
//! so what the first decision saw (a temporary table shadowing the target, a search path, a
//! table created in a savepoint since rolled back) may no longer be what runs.

use std::sync::Mutex;

use ddlgate_ddl::Decision;
use ddlgate_session::{ErrorBody, Outcome, Protocol, Session};
use ddlgate_wire::{FeTag, TransactionStatus};

use super::audit::Origin;
use super::conn::{follow_reported, GateConn};
use super::decide::Statement;
use super::planned::Planned;
use super::state::GateState;
use super::Gate;
use crate::enforce::{self, Action, AuditOutcome};
use crate::sync::lock;
use crate::ProxyError;

/// What a held statement is now.
pub(super) enum Now {
    /// Run it as decided now.
    Run(Box<Decision>, Action),
    /// Refused now: the server raised the block's error, with this outcome and status.
    Refused(Outcome, TransactionStatus),
}

impl GateState {
    /// Decides `planned` again, with the catalog facts of the moment; refuses it on the
    /// server (so the transaction fails there too) when it is blocked now.
    pub(super) async fn decide_again(
        &mut self,
        gate: &Gate<'_>,
        conn: &mut impl GateConn,
        planned: &Planned,
        session: &Mutex<Session>,
    ) -> Result<Now, ProxyError> {
        let st = Statement {
            tag: FeTag::Parse,
            protocol: Protocol::Extended,
            sql: planned.sql.clone(),
            exact: true,
            ambiguous: false,
            lexing: follow_reported(conn, session),
        };
        let facts = self.base_facts(&lock(session));
        let mut a = self.analyse(gate, conn, &st, facts).await?;
        let (Some(d), Some(action), Some(blocked)) =
            (a.decisions.pop(), a.actions.pop(), a.blocked.pop())
        else {
            return Err(ProxyError::Internal("a held statement without a decision"));
        };
        let Some(notice) = blocked else {
            return Ok(Now::Run(Box::new(d), action));
        };
        gate.audit(
            &Origin::extended(&planned.sql),
            &d,
            Action::Block,
            Vec::new(),
            AuditOutcome::Blocked,
        );
        let r = conn.query(&enforce::raise_statement(&notice)).await?;
        let status = r.status.unwrap_or(TransactionStatus::Failed);
        let outcome = match r.error {
            Some(e) => {
                let frame = ddlgate_wire::raised::strip_raise_context(&e.frame)
                    .map_or(e.frame, bytes::Bytes::from);
                Outcome::Failed(
                    ErrorBody::relayed(frame).map_err(|e| ProxyError::Capture(e.to_string()))?,
                )
            }
            None => return Err(ProxyError::Internal("a refusal the server did not raise")),
        };
        Ok(Now::Refused(outcome, status))
    }
}
