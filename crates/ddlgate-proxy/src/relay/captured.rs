//! Extended-protocol statements the gateway executes itself: the client's batch is captured
//! (not forwarded) with [`ddlgate_session::Capture`], the plan runs when the client asks for
//! results (Flush or Sync after an Execute), and the client gets exactly the responses the
//! server would have sent. Statements the gateway prepared this way are remembered
//! ([`PreparedRewrites`]) so that a later Bind/Execute batch on them is captured too (the
//! prepare-then-execute pattern of tokio-postgres, pgx and asyncpg).

use ddlgate_ddl::Decision;
use ddlgate_session::{
    Capture, CaptureError, CaptureState, ErrorBody, Execution, Observation, Outcome,
};
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{FeTag, SqlState, TransactionStatus};

use super::client::ClientPump;
use super::deferred::{self, Ran};
use super::outside::Outside;
use super::txwork::{block_end, BlockEnd};
use super::{lock, Paused};
use crate::enforce::Action;
use crate::exec::{self, ClientWatch, Owned};
use crate::ProxyError;

/// A statement the gateway will execute in place of the client's.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The statement text.
    pub sql: String,
    /// The analyser's decision (with the plan).
    pub decision: Decision,
    /// `Rewrite` or `Guard`.
    pub action: Action,
    /// Who holds the prepared statement the batch executes.
    pub held: Held,
}

/// Who holds the prepared statement a captured batch executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The gateway (its Parse was captured): later batches on it are captured too.
    ByGateway,
    /// The server (a named COMMIT the client prepared earlier, captured only because steps
    /// wait for it): later batches go to the server again.
    ByServer,
}

/// An open capture and what it will run.
pub struct Capturing {
    capture: Capture,
    planned: Planned,
}

fn internal(e: CaptureError) -> ProxyError {
    ProxyError::Capture(e.to_string())
}

impl ClientPump<'_> {
    /// A Bind of a server-held COMMIT statement while steps wait for COMMIT: the batch is
    /// captured so the gateway can run them (JDBC prepares its COMMIT once per connection).
    fn server_commit(&self, frame: &[u8]) -> Option<(ddlgate_session::PreparedRewrite, Planned)> {
        if !self.tx_work.has_deferred() || frame.first() != Some(&FeTag::Bind.byte()) {
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
            },
        ))
    }

    /// Starts capturing at a Parse that the gateway will execute.
    pub(super) fn start_capture(
        &mut self,
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
        self.gate
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.capturing = Some(Box::new(Capturing { capture, planned }));
        Ok(())
    }

    /// At a batch start: a Bind or Describe of a statement the gateway prepared itself starts a
    /// capture. Returns whether it did.
    pub(super) fn resume_capture(&mut self, frame: &[u8]) -> Result<bool, ProxyError> {
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
        if lock(self.shared.session).transaction_status() == TransactionStatus::Failed {
            capture
                .refuse(ErrorBody::synthesized(Notice::new(
                    Severity::Error,
                    SqlState::InFailedSqlTransaction,
                    "current transaction is aborted, commands ignored until end of transaction block",
                )))
                .map_err(internal)?;
        }
        self.gate
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.capturing = Some(Box::new(Capturing { capture, planned }));
        Ok(true)
    }

    /// Feeds one client frame to the open capture, answering when the client waits.
    pub(super) async fn capture_frame(&mut self, frame: &[u8]) -> Result<(), ProxyError> {
        let Some(mut open) = self.capturing.take() else {
            return Ok(());
        };
        let state = match open.capture.push(frame) {
            Ok(state) => state,
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
                open.capture.state()
            }
            Err(CaptureError::Malformed(e)) => return Err(e.into()),
            Err(e) => return Err(internal(e)),
        };
        match state {
            CaptureState::Collecting => {
                self.capturing = Some(open);
                Ok(())
            }
            CaptureState::FlushRequested | CaptureState::Complete => {
                let done = self.answer(&mut open, state).await?;
                if !done {
                    self.capturing = Some(open);
                }
                Ok(())
            }
        }
    }

    /// Runs the statement if the batch executes it, and sends the responses due. Returns
    /// whether the capture is finished (Sync answered).
    async fn answer(
        &mut self,
        open: &mut Capturing,
        state: CaptureState,
    ) -> Result<bool, ProxyError> {
        self.wait_idle().await;
        let Paused { mut lent, resume } = self.pause().await?;
        let result = self.answer_owned(open, state, &mut lent).await;
        let _ = resume.send(lent);
        result
    }

    async fn answer_owned(
        &mut self,
        open: &mut Capturing,
        state: CaptureState,
        lent: &mut super::Lent,
    ) -> Result<bool, ProxyError> {
        let mut status = lock(self.shared.session).transaction_status();
        let (src, dst, buf, gate, tx_work) = (
            &mut self.src,
            &mut self.dst,
            &mut self.buf,
            &self.gate,
            &mut self.tx_work,
        );
        let mut owned = Owned {
            server_r: &mut lent.server_r,
            server_buf: &mut lent.server_buf,
            server_w: dst,
            client_w: &mut lent.client_w,
        };
        if open.capture.execution() == Execution::Pending {
            let mut watch = ClientWatch {
                src,
                buf,
                cancel: gate.cancel,
            };
            let cfg = &gate.enforcer.policy.execution;
            let d = &open.planned.decision;
            let text = d.text(&open.planned.sql).to_owned();
            let st = super::intercept::Origin::extended(&open.planned.sql);
            let in_block = status != TransactionStatus::Idle;
            let ran = |r: Ran| -> Result<Outcome, ProxyError> {
                Ok(match r {
                    Ran::Ok(command_tag) => Outcome::Success { command_tag },
                    Ran::Err(e) => Outcome::Failed(ErrorBody::relayed(e.frame).map_err(internal)?),
                })
            };
            let ends = block_end(d);
            let outcome = match (open.planned.action, &d.plan) {
                _ if ends.is_some_and(BlockEnd::commits) => {
                    let end = ends.unwrap_or(BlockEnd::Commit);
                    let r;
                    (r, status) =
                        deferred::commit(&mut owned, &mut watch, gate, &text, end, tx_work).await?;
                    ran(r)?
                }
                // ROLLBACK [AND CHAIN]: the block's deferred work is dropped; the server says
                // whether a chained block follows.
                _ if ends == Some(BlockEnd::Rollback) => {
                    deferred::end_block(gate, tx_work);
                    let r = owned.query(&text).await?;
                    status = r.status.unwrap_or(TransactionStatus::Idle);
                    match r.error {
                        Some(e) => Outcome::Failed(ErrorBody::relayed(e.frame).map_err(internal)?),
                        None => Outcome::Success {
                            command_tag: r
                                .tags
                                .last()
                                .cloned()
                                .unwrap_or_else(|| "ROLLBACK".into()),
                        },
                    }
                }
                (Action::Rewrite, Some(plan)) if in_block => {
                    let r = deferred::rewrite_in_block(
                        &mut owned, &mut watch, gate, &st, d, plan, tx_work,
                    )
                    .await?;
                    if matches!(r, Ran::Err(_)) {
                        status = TransactionStatus::Failed;
                    }
                    ran(r)?
                }
                (Action::Guard, _) if in_block => {
                    let r = deferred::guard_in_block(&mut owned, &mut watch, gate, &st, d).await?;
                    if matches!(r, Ran::Err(_)) {
                        status = TransactionStatus::Failed;
                    }
                    ran(r)?
                }
                (Action::Rewrite, Some(plan)) => {
                    status = TransactionStatus::Idle;
                    match super::outside::run(&mut owned, &mut watch, gate, &st, d, plan).await? {
                        Outside::Completed(command_tag) => Outcome::Success { command_tag },
                        Outside::Failed(e) => {
                            Outcome::Failed(ErrorBody::relayed(e.frame).map_err(internal)?)
                        }
                        Outside::Gone => {
                            return Err(ProxyError::Io(
                                std::io::ErrorKind::ConnectionAborted.into(),
                            ));
                        }
                    }
                }
                _ => {
                    status = TransactionStatus::Idle;
                    let (result, record) =
                        exec::run_guarded(&mut owned, &text, cfg, &mut watch).await?;
                    gate.audit(
                        &st,
                        d,
                        Action::Guard,
                        vec![record.audit()],
                        if result.is_ok() {
                            "completed"
                        } else {
                            "failed"
                        },
                    );
                    match result {
                        Ok(tag) => Outcome::Success { command_tag: tag },
                        Err(e) => Outcome::Failed(ErrorBody::relayed(e.frame).map_err(internal)?),
                    }
                }
            };
            open.capture.record_outcome(outcome).map_err(internal)?;
        }
        match state {
            CaptureState::FlushRequested => {
                let bytes = open.capture.respond_until_flush().map_err(internal)?;
                owned.send_client(&bytes).await?;
                Ok(false)
            }
            _ => {
                let bytes = open.capture.respond(status).map_err(internal)?;
                owned.send_client(&bytes).await?;
                lock(self.shared.session).answered_locally(status);
                if open.planned.held == Held::ByGateway {
                    self.prepared
                        .settle(&open.capture, open.planned.clone())
                        .map_err(internal)?;
                }
                Ok(true)
            }
        }
    }
}
