//! The gate's two entry points for a frame the screen handed it: [`GateState::look`] decides
//! what needs no connection (a captured message kept, a statement forwarded as decided
//! without catalog facts), and [`GateState::run`] does the rest on the connection the relay
//! lends it.

use std::sync::Mutex;

use bytes::Bytes;
use ddlgate_ddl::analyze;
use ddlgate_session::{Batch, CaptureState, Session};
use ddlgate_wire::encode::Notice;
use ddlgate_wire::FeTag;

use super::audit::Origin;
use super::conn::{follow_reported, GateConn};
use super::decide::{Decided, Statement};
use super::refusals::{needs_catalog, needs_identity, settings_may_change};
use super::state::{Discard, GateState};
use super::substitute::{block_notices, parse_frame_with, substitute_blocked};
use super::Gate;
use crate::enforce::{self, Action, AuditOutcome};
use crate::exec::{ClientWatch, Owned, Watch};
use crate::stream::Halves;
use crate::sync::lock;
use crate::ProxyError;

/// What the relay does with a frame the gate took.
#[derive(Debug)]
pub enum Look {
    /// Forward this frame (the client's, or with blocked statements replaced); the notices go
    /// to the client at the next message boundary.
    Forward {
        /// The frame to send.
        frame: Bytes,
        /// Warnings for the client.
        notices: Vec<Notice>,
    },
    /// Nothing to send: the gate kept the message (a captured batch collects it).
    Kept,
    /// The gate needs the connection: take it over and call [`GateState::run`] with this.
    Own(Owning),
}

/// What the gate will do with the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owning {
    /// Answer the captured batch (the client flushed or synced).
    Answer(CaptureState),
    /// End the client's batch early, then decide with catalog facts.
    SyncEarly,
    /// Decide with catalog facts, then forward, refuse or run the statement.
    Decide,
}

impl GateState {
    /// First look at a frame [`Self::screen`] answered [`super::Screen::Take`] for.
    #[tracing::instrument(skip_all)]
    pub fn look(
        &mut self,
        gate: &Gate<'_>,
        frame: &Bytes,
        session: &Mutex<Session>,
    ) -> Result<Look, ProxyError> {
        if self.capturing.is_some() {
            return Ok(match self.push_capture(frame)? {
                CaptureState::Collecting => Look::Kept,
                state => Look::Own(Owning::Answer(state)),
            });
        }
        let tag = FeTag::from_byte(frame[0]);
        if matches!(tag, FeTag::Bind | FeTag::Describe) {
            let status = lock(session).transaction_status();
            if self.resume_capture(gate, frame, status)? {
                return Ok(Look::Kept);
            }
            // Not a statement of the gateway's after all.
            self.advance_past(frame, || status)?;
            return Ok(forward(frame.clone(), Vec::new()));
        }
        // A cancel sent before this statement belongs to an earlier one.
        gate.new_statement();
        // Decided here without the connection, the text is read with the settings known now;
        // decided on the connection, it is read there, once earlier answers are in.
        let read = || Statement::read(frame, super::lexing(&lock(session)));
        if gate.enforcer.observe_only() {
            return self.observe(gate, frame, &read()?, session);
        }
        if tag == FeTag::Parse && self.batch.may_sync_early() {
            return Ok(Look::Own(Owning::SyncEarly));
        }
        if tag == FeTag::Parse && self.batch.is_open() {
            return self.mid_batch(gate, frame, &read()?, session);
        }
        Ok(Look::Own(Owning::Decide))
    }

    /// Observe-only policy: audit what would have been done, forward as sent.
    fn observe(
        &mut self,
        gate: &Gate<'_>,
        frame: &Bytes,
        st: &Statement,
        session: &Mutex<Session>,
    ) -> Result<Look, ProxyError> {
        let facts = self.base_facts(&lock(session));
        let origin = st.origin();
        let clean = self.batch == Batch::Clean;
        for d in &analyze(&st.sql, &facts, &gate.enforcer.analysis) {
            let action = enforce::resolve(d, &gate.enforcer, clean);
            gate.audit(&origin, d, action, Vec::new(), AuditOutcome::Forwarded);
        }
        if st.tag == FeTag::Parse {
            self.advance_past(frame, || lock(session).transaction_status())?;
        }
        Ok(forward(frame.clone(), Vec::new()))
    }

    /// A Parse in the middle of a batch: the server already runs an implicit transaction for
    /// the batch, so the gateway cannot take the connection over. Decided without catalog
    /// facts; blocked statements are replaced, nothing is run.
    fn mid_batch(
        &mut self,
        gate: &Gate<'_>,
        frame: &Bytes,
        st: &Statement,
        session: &Mutex<Session>,
    ) -> Result<Look, ProxyError> {
        if st.ambiguous {
            // An earlier message of this batch may have changed how the server reads it, and
            // the gateway cannot wait for the batch's answers before it is parsed.
            return self.refuse_in_batch(frame, &settings_may_change(), session);
        }
        let mut facts = self.base_facts(&lock(session));
        // Without the catalog, a name created earlier in the block may be another relation
        // (another schema, a rolled-back savepoint): exempt nothing.
        facts.created_in_tx.clear();
        let decisions = analyze(&st.sql, &facts, &gate.enforcer.analysis);
        let renames_through = decisions
            .iter()
            .any(|d| ddlgate_ddl::fallback::relation_rename(d.text(&st.sql)).is_some());
        if renames_through {
            // Only the catalog can say whether it renames a table, and the gateway cannot ask
            // in the middle of a batch.
            return self.refuse_in_batch(frame, &needs_catalog(), session);
        }
        let scoped = !gate.enforcer.policy.scopes.is_empty();
        if scoped && decisions.iter().any(crate::enforce::scope::is_ddl) {
            return self.refuse_in_batch(frame, &needs_identity(), session);
        }
        let actions: Vec<Action> = decisions
            .iter()
            .map(|d| enforce::resolve(d, &gate.enforcer, false))
            .collect();
        let origin = st.origin();
        let mut notices = Vec::new();
        for (d, a) in decisions.iter().zip(&actions) {
            if *a == Action::Warn {
                notices.extend(enforce::warn_notice(d, &[]));
            }
            let outcome = if *a == Action::Block {
                AuditOutcome::Blocked
            } else {
                AuditOutcome::Forwarded
            };
            gate.audit(&origin, d, *a, Vec::new(), outcome);
        }
        let blocked = block_notices(&decisions, &actions, &vec![None; decisions.len()]);
        let sent = match substitute_blocked(&st.sql, st.exact, &decisions, &blocked) {
            Some(replaced) => parse_frame_with(frame, &replaced),
            None => frame.clone(),
        };
        self.tx.note_created(&decisions);
        self.advance_past(frame, || lock(session).transaction_status())?;
        Ok(forward(sent, notices))
    }

    /// Refuses a Parse in an open batch: the server gets a RAISE of `notice` in its place.
    fn refuse_in_batch(
        &mut self,
        frame: &Bytes,
        notice: &Notice,
        session: &Mutex<Session>,
    ) -> Result<Look, ProxyError> {
        let raise = enforce::raise_statement(notice);
        self.advance_past(frame, || lock(session).transaction_status())?;
        Ok(forward(parse_frame_with(frame, &raise), Vec::new()))
    }

    /// Does what [`Self::look`] said needs the connection, on the halves the relay lends.
    pub async fn run_on(
        &mut self,
        gate: &Gate<'_>,
        (owning, frame): (Owning, Bytes),
        halves: Halves<'_>,
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        let mut conn = Owned {
            server_r: halves.server_r,
            server_buf: halves.server_buf,
            server_w: halves.server_w,
            client_w: halves.client_w,
            reported: Vec::new(),
            approver: gate.approver.map(|a| a as &dyn crate::exec::Approve),
        };
        let mut watch = ClientWatch {
            src: halves.client_r,
            buf: halves.client_buf,
            cancel: gate.cancel,
        };
        let ran = self
            .run(gate, (owning, frame), (&mut conn, &mut watch), session)
            .await;
        follow_reported(&mut conn, session);
        ran
    }

    /// Does what [`Self::look`] said needs the connection.
    #[tracing::instrument(skip_all, fields(?owning))]
    pub async fn run(
        &mut self,
        gate: &Gate<'_>,
        (owning, frame): (Owning, Bytes),
        (conn, watch): (&mut impl GateConn, &mut impl Watch),
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        match owning {
            Owning::Answer(state) => {
                self.answer_capture(gate, (conn, watch), state, session)
                    .await
            }
            Owning::SyncEarly => {
                // Every message of the batch so far ran inside a transaction block: end the
                // batch with a Sync of the gateway's own, then decide as at a boundary.
                let r = conn.sync_early().await?;
                lock(session).answered_locally(r.status);
                self.batch = Batch::Clean;
                if r.error.is_some() {
                    // The server, having seen a Sync, no longer skips the client's messages.
                    self.discard = Discard::UntilSync;
                    return Ok(());
                }
                self.decide(gate, &frame, (conn, watch), session).await
            }
            Owning::Decide => self.decide(gate, &frame, (conn, watch), session).await,
        }
    }

    async fn decide(
        &mut self,
        gate: &Gate<'_>,
        frame: &Bytes,
        (conn, watch): (&mut impl GateConn, &mut impl Watch),
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        // The server has answered everything before this statement: its settings are current.
        let st = Statement::read(frame, follow_reported(conn, session))?;
        match self
            .decide_owned(gate, (frame, &st), (conn, watch), session)
            .await?
        {
            Decided::Forwarded if st.tag == FeTag::Parse => {
                self.advance_past(frame, || lock(session).transaction_status())?;
            }
            Decided::Forwarded | Decided::Answered => {}
            Decided::Capture(planned) => self.start_capture(gate, frame, *planned)?,
        }
        Ok(())
    }
}

fn forward(frame: Bytes, notices: Vec<Notice>) -> Look {
    Look::Forward { frame, notices }
}

impl Statement {
    /// Where its audit events say it came from.
    pub fn origin(&self) -> Origin<'_> {
        Origin {
            protocol: self.protocol,
            sql: &self.sql,
        }
    }
}
