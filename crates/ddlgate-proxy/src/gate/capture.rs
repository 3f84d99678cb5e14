//! Extended-protocol statements the gateway executes itself: the client's batch is captured
//! (not forwarded) with [`ddlgate_session::Capture`], the plan runs when the client asks for
//! results (Flush or Sync after an Execute), and the client gets exactly the responses the
//! server would have sent. Statements the gateway prepared this way are remembered
//! ([`ddlgate_session::PreparedRewrites`]) so that a later Bind/Execute batch on them is captured too (the
//! prepare-then-execute pattern of tokio-postgres, pgx and asyncpg).

use std::sync::Mutex;

use ddlgate_session::{
    Capture, CaptureError, CaptureState, ErrorBody, Execution, Observation, Outcome, Session,
};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{FeTag, SqlState, TransactionStatus};

use super::audit::Origin;
use super::conn::{GateConn, Ran};
use super::dispatch::{self, Run};
use super::planned::{Capturing, Held, Planned};
use super::redecide::Now;
use super::state::GateState;
use super::Gate;
use crate::enforce::Action;
use crate::exec::Watch;
use crate::sync::lock;
use crate::ProxyError;

fn internal(e: CaptureError) -> ProxyError {
    ProxyError::Capture(e.to_string())
}

impl GateState {
    /// A Bind of a server-held COMMIT statement while steps wait for COMMIT: the batch is
    /// captured so the gateway can run them (JDBC prepares its COMMIT once per connection).
    fn server_commit(&self, frame: &[u8]) -> Option<(ddlgate_session::PreparedRewrite, Planned)> {
        if !self.tx.has_deferred() || frame.first() != Some(&FeTag::Bind.byte()) {
            return None;
        }
        let name = ddlgate_wire::decode::bind_names(frame).ok()?.1;
        let sql = self.tx_end_statements.get(name)?;
        let decision = ddlgate_ddl::analyze(sql, &Default::default(), &Default::default())
            .into_iter()
            .next()?;
        Some((
            ddlgate_session::PreparedRewrite::new(name, sql.as_bytes(), Vec::new()),
            Planned {
                sql: sql.clone(),
                decision,
                action: Action::Allow,
                held: Held::ByServer,
                redecide: false,
            },
        ))
    }

    /// Starts capturing at a Parse that the gateway will execute.
    pub(super) fn start_capture(
        &mut self,
        gate: &Gate<'_>,
        frame: &[u8],
        planned: Planned,
    ) -> Result<(), ProxyError> {
        let mut capture = Capture::start(frame).map_err(internal)?;
        if self.prepared.observe(frame)? == Observation::DuplicateStatement {
            let name = String::from_utf8_lossy(capture.statement().statement()).into_owned();
            capture
                .refuse(ErrorBody::synthesized(Notice::new(
                    Severity::Error,
                    SqlState::Other(*b"42P05"),
                    format!("prepared statement \"{name}\" already exists"),
                )))
                .map_err(internal)?;
        }
        gate.new_statement();
        self.capturing = Some(Box::new(Capturing { capture, planned }));
        Ok(())
    }

    /// At a batch start: a Bind or Describe of a statement the gateway prepared itself (or of a
    /// server-held COMMIT while steps wait for it) starts a capture. Returns whether it did.
    pub(super) fn resume_capture(
        &mut self,
        gate: &Gate<'_>,
        frame: &[u8],
        status: TransactionStatus,
    ) -> Result<bool, ProxyError> {
        let (mut capture, planned) = match self.prepared.batch_start(frame) {
            Some((prepared, planned)) => (
                Capture::resume(frame, prepared).map_err(internal)?,
                planned.clone(),
            ),
            None => match self.server_commit(frame) {
                Some((prepared, planned)) => (
                    Capture::resume(frame, &prepared).map_err(internal)?,
                    planned,
                ),
                None => return Ok(false),
            },
        };
        if status == TransactionStatus::Failed {
            capture
                .refuse(ErrorBody::synthesized(Notice::new(
                    Severity::Error,
                    SqlState::InFailedSqlTransaction,
                    "current transaction is aborted, commands ignored until end of transaction block",
                )))
                .map_err(internal)?;
        }
        gate.new_statement();
        self.capturing = Some(Box::new(Capturing { capture, planned }));
        Ok(true)
    }

    /// Feeds one client frame to the open capture. Returns where the capture stands: still
    /// collecting, or waiting for an answer ([`Self::answer_capture`]).
    pub(super) fn push_capture(&mut self, frame: &[u8]) -> Result<CaptureState, ProxyError> {
        let Some(open) = self.capturing.as_mut() else {
            return Err(ProxyError::Internal("a capture frame without a capture"));
        };
        match open.capture.push(frame) {
            Ok(state) => Ok(state),
            Err(CaptureError::Unsupported { reason, .. }) => {
                let n = Notice::new(
                    Severity::Error,
                    SqlState::FeatureNotSupported,
                    format!("ddlgate: the batch mixes the statement it runs itself with other messages ({reason:?})"),
                )
                .hint("send the DDL statement in an extended-protocol batch of its own (Parse/Bind/Execute/Sync)");
                open.capture
                    .refuse(ErrorBody::synthesized(n))
                    .map_err(internal)?;
                Ok(open.capture.state())
            }
            Err(CaptureError::Malformed(e)) => Err(e.into()),
            Err(e) => Err(internal(e)),
        }
    }

    /// Runs the captured statement if the batch executes it, and sends the responses due; at
    /// the batch's Sync the capture ends.
    #[tracing::instrument(skip_all, fields(?state))]
    pub async fn answer_capture(
        &mut self,
        gate: &Gate<'_>,
        (conn, watch): (&mut impl GateConn, &mut impl Watch),
        state: CaptureState,
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        let Some(mut open) = self.capturing.take() else {
            return Err(ProxyError::Internal("an answer without a capture"));
        };
        let mut status = lock(session).transaction_status();
        if open.capture.execution() == Execution::Pending {
            let mut planned = open.planned.clone();
            if planned.redecide {
                match self.decide_again(gate, conn, &planned, session).await? {
                    Now::Run(d, action) => (planned.decision, planned.action) = (*d, action),
                    Now::Refused(outcome, now) => {
                        open.capture.record_outcome(outcome).map_err(internal)?;
                        return self.respond(conn, open, (state, now), session).await;
                    }
                }
            }
            let origin = Origin::extended(&planned.sql);
            let run = Run::of(&planned.decision, planned.action, true).unwrap_or(Run::Guard);
            let parts = (&origin, &planned.decision);
            let done =
                dispatch::execute(conn, watch, gate, &mut self.tx, parts, run, status).await?;
            status = done.status;
            let outcome = match done.ran.ok_or(ProxyError::ClientGone)? {
                Ran::Ok(command_tag) => Outcome::Success { command_tag },
                Ran::Err(e) => Outcome::Failed(ErrorBody::relayed(e.frame).map_err(internal)?),
            };
            open.capture.record_outcome(outcome).map_err(internal)?;
        }
        self.respond(conn, open, (state, status), session).await
    }

    /// Sends the responses due for the capture: up to the Flush, or all of them at the
    /// batch's Sync, which ends it.
    async fn respond(
        &mut self,
        conn: &mut impl GateConn,
        mut open: Box<Capturing>,
        (state, status): (CaptureState, TransactionStatus),
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        if state == CaptureState::FlushRequested {
            let bytes = open.capture.respond_until_flush().map_err(internal)?;
            conn.send_client(&bytes).await?;
            self.capturing = Some(open);
            return Ok(());
        }
        let bytes = open.capture.respond(status).map_err(internal)?;
        conn.send_client(&bytes).await?;
        lock(session).answered_locally(status);
        if open.planned.held == Held::ByGateway {
            self.prepared
                .settle(&open.capture, open.planned.clone())
                .map_err(internal)?;
        }
        Ok(())
    }
}
