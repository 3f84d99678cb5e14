//! The gate: decides what happens to each statement and runs what the gateway runs itself.
//! The relay (`relay/`) only moves bytes; it calls the gate at three points:
//!
//! 1. [`GateState::screen`] — every whole client frame, pure and cheap (the same function for
//!    the async and the fast relay): forward, drop, follow a transaction-control statement
//!    once the session's status is current ([`GateState::follow`]), or take the frame;
//! 2. [`GateState::look`] — a taken frame, without the connection: keep it (a captured batch),
//!    forward it as decided without catalog facts, or ask for the connection;
//! 3. [`GateState::run`] — with the connection the relay lends ([`GateConn`]): decide with live
//!    catalog facts, then forward, refuse, capture, or run statements and plans
//!    (`dispatch`, one dispatcher for the simple and extended protocols), COMMIT with
//!    deferred steps (`commit`).
//!
//! [`GateState::is_quiet`] tells the relay when only [`GateState::screen`] is needed, so the
//! session may be lent to the fast relay. The gate is generic over the connection, so its
//! dispatch is unit-tested with a scripted fake (`tests`).

mod approval;
mod attention;
mod audit;
mod block;
mod capture;
pub(crate) mod commit;
mod conn;
mod datacheck;
mod decide;
mod dispatch;
mod follow;
mod inband;
mod inblock;
mod intercept;
mod outside;
mod planned;
mod redecide;
mod refusals;
mod scoped;
mod screen;
mod state;
mod substitute;
#[cfg(test)]
mod tests;
mod traced;
mod wanted;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use follow::SentAt;
pub use intercept::Look;
pub use screen::Screen;
pub use state::GateState;

use crate::enforce::{Enforcer, SessionInfo};
use crate::guard::Approver;
use crate::jobs::durable::JobScope;
use crate::jobs::Jobs;

/// The enforcement context of one session: fixed for its life, but for the policy, which is
/// the gateway's current one at each statement (a reload applies to the next statement).
pub struct Gate<'a> {
    /// Policy, as of the statement being decided.
    pub enforcer: Arc<Enforcer>,
    /// Where the current policy is read from (`None`: fixed).
    pub policy: Option<&'a arc_swap::ArcSwap<Enforcer>>,
    /// The session's entry in the gateway's registry (admin API).
    pub live: Option<&'a crate::sessions::Live>,
    /// Who is connected (for audit events).
    pub info: &'a SessionInfo,
    /// Raised when the client sends a CancelRequest for this session.
    pub cancel: &'a AtomicBool,
    /// The gateway configuration (routes and control role, for durable jobs).
    pub config: &'a Arc<ddlgate_config::Config>,
    /// Durable jobs, when a control role is configured.
    pub jobs: Option<&'a Arc<Jobs>>,
    /// Guard approvals, when the database-side guard is enabled.
    pub approver: Option<&'a Approver>,
    /// Who asked and what the scopes said, for the audit events.
    pub policy_log: &'a std::sync::Mutex<crate::enforce::scope::PolicyLog>,
}

impl Gate<'_> {
    /// Takes the gateway's current policy, for the statement about to be decided.
    pub fn refresh(&mut self) {
        if let Some(p) = self.policy {
            let now = p.load();
            if !Arc::ptr_eq(&now, &self.enforcer) {
                self.enforcer = Arc::clone(&now);
            }
        }
    }

    /// What job bookkeeping needs of this session.
    pub fn job_scope(&self) -> JobScope<'_> {
        JobScope {
            jobs: self.jobs,
            config: self.config,
            database: &self.info.database,
        }
    }

    /// Approves, for the database-side guard, what the statements in `bytes` (Query and Parse
    /// frames about to be sent) may do.
    pub async fn approve(&self, bytes: &[u8]) {
        if let Some(a) = self.approver {
            a.approve(bytes).await;
        }
    }

    /// Releases the guard approvals once the server has answered everything sent (`idle`);
    /// returns whether too many are still held to take more before it has.
    pub async fn settle_approvals(&self, idle: bool) -> bool {
        let Some(a) = self.approver else {
            return false;
        };
        if idle {
            a.release().await;
        }
        a.held() >= crate::guard::MAX_HELD
    }

    /// A new statement starts: a cancel sent before it belonged to an earlier one.
    pub fn new_statement(&self) {
        self.cancel.store(false, Ordering::Relaxed);
    }
}

/// How the server tokenizes this session's statements, from what it last reported.
pub fn lexing(session: &ddlgate_session::Session) -> ddlgate_ddl::client_text::Lexing {
    use ddlgate_ddl::client_text::{ClientEncoding, Lexing};
    use ddlgate_ddl::lexer::Strings;
    let scanning = session.scanning();
    Lexing {
        strings: if scanning.standard_conforming_strings {
            Strings::Standard
        } else {
            Strings::BackslashEscapes
        },
        encoding: ClientEncoding::from_name(&scanning.client_encoding),
    }
}

impl GateState {
    /// Follows the transaction-control statements of `sql`, forwarded as they are, once the
    /// session's status is current (`at`).
    pub fn follow(&mut self, gate: &Gate<'_>, at: SentAt, sql: &str) {
        follow::note_transaction_controls(gate, &mut self.tx, at, sql);
    }
}
