//! A Query or Parse that may hold DDL, decided with live catalog facts on the connection the
//! gate owns: forwarded (blocked statements replaced), captured (an extended-protocol
//! statement the gateway will run), or run statement by statement with the answers the server
//! would have sent.

use std::sync::Mutex;

use bytes::Bytes;
use ddlgate_ddl::client_text::{self, Lexing};
use ddlgate_ddl::{analyze, Decision, Facts, Submission, TxState};
use ddlgate_session::{Batch, Protocol, Session};
use ddlgate_wire::encode::{self, Notice};
use ddlgate_wire::{FeTag, TransactionStatus};

use super::audit::Origin;
use super::conn::{deliver, follow_reported, GateConn};
use super::dispatch::{self, Run};
use super::follow::{catch_up, conflict_notice, end_block, note_transaction_control};
use super::planned::{Held, Planned};
use super::refusals::settings_may_change;
use super::state::GateState;
use super::substitute::{block_notices, parse_frame_with, query_frame, substitute_blocked};
use super::wanted::wanted;
use super::Gate;
use crate::enforce::{self, Action, AuditOutcome};
use crate::exec::{catalog, Watch};
use crate::sync::lock;
use crate::ProxyError;

/// A Query or Parse the gate decides.
#[derive(Debug)]
pub struct Statement {
    /// Which of the two.
    pub tag: FeTag,
    /// How it was sent.
    pub protocol: Protocol,
    /// The SQL text as the server will read it, in standard UTF-8 SQL
    /// ([`ddlgate_ddl::client_text::prepare`]).
    pub sql: String,
    /// Whether `sql` can stand in for the client's text on the wire (blocked statements can
    /// be replaced in it, and it can be sent statement by statement); otherwise a refusal
    /// refuses the whole text and nothing is run from it.
    pub exact: bool,
    /// Whether other session settings would read the client's bytes differently.
    pub ambiguous: bool,
    /// The settings it was read with.
    pub lexing: Lexing,
}

impl Statement {
    /// Reads the text of a Query or Parse frame as the server will under `lexing`.
    pub fn read(frame: &[u8], lexing: Lexing) -> Result<Self, ProxyError> {
        let tag = FeTag::from_byte(frame[0]);
        let (protocol, text) = match tag {
            FeTag::Query => (Protocol::Simple, ddlgate_wire::decode::query_text(frame)?),
            _ => (
                Protocol::Extended,
                ddlgate_wire::decode::parse_msg(frame)?.query,
            ),
        };
        let prepared = client_text::prepare(text, lexing);
        Ok(Self {
            tag,
            protocol,
            sql: prepared.sql,
            exact: prepared.sendable,
            ambiguous: client_text::ambiguous(text),
            lexing,
        })
    }
}

/// What happened to a decided frame.
#[derive(Debug)]
pub enum Decided {
    /// The frame (possibly with blocked statements replaced) went to the server.
    Forwarded,
    /// The gateway answered it itself.
    Answered,
    /// An extended-protocol statement the gateway will run itself: capture its batch.
    Capture(Box<Planned>),
}

/// The analyser's decisions for a text and what the gate does with each.
pub(super) struct Analysis {
    pub(super) decisions: Vec<Decision>,
    pub(super) actions: Vec<Action>,
    /// The error of each blocked statement.
    pub(super) blocked: Vec<Option<Notice>>,
    /// Whether the text ends a block whose steps wait for COMMIT.
    commits: bool,
}

impl Analysis {
    /// Whether the gateway runs something itself rather than forwarding the text.
    fn executes(&self) -> bool {
        self.commits
            || self
                .actions
                .iter()
                .zip(&self.blocked)
                .any(|(a, b)| b.is_none() && matches!(a, Action::Rewrite | Action::Guard))
    }
}

impl GateState {
    /// The facts known without asking the server: its version, where the session stands.
    pub(super) fn base_facts(&self, session: &Session) -> Facts {
        let mut facts = match session.server_version() {
            Some(v) => Facts {
                server_version_num: v.num(),
                ..Facts::default()
            },
            None => Facts::default(),
        };
        facts.tx_state = match (session.transaction_status(), self.batch) {
            (TransactionStatus::InBlock | TransactionStatus::Failed, _) => TxState::InBlock,
            (TransactionStatus::Idle, Batch::Open(_)) => TxState::ImplicitMulti,
            (TransactionStatus::Idle, Batch::Clean) => TxState::Idle,
        };
        if facts.tx_state == TxState::InBlock {
            facts.created_in_tx = self.tx.created.clone();
        }
        facts
    }

    /// Decides `st` (sent as `frame`) at a message boundary, owning the connection.
    pub(super) async fn decide_owned(
        &mut self,
        gate: &Gate<'_>,
        (frame, st): (&Bytes, &Statement),
        (conn, watch): (&mut impl GateConn, &mut impl Watch),
        session: &Mutex<Session>,
    ) -> Result<Decided, ProxyError> {
        let (status, idle_points) = {
            let s = lock(session);
            (s.transaction_status(), s.idle_points())
        };
        if status == TransactionStatus::Idle {
            // Outside any block: whatever was kept belongs to a block that is over.
            end_block(gate, &mut self.tx);
        }
        catch_up(gate, &mut self.tx, idle_points);
        if st.tag == FeTag::Query && super::inband::holds_command(&st.sql) {
            let status = super::inband::answer(gate, conn, &st.sql, status).await?;
            let mut rfq = bytes::BytesMut::new();
            encode::ready_for_query(status, &mut rfq);
            conn.send_client(&rfq).await?;
            lock(session).answered_locally(status);
            return Ok(Decided::Answered);
        }
        // After catching up: what an ended block created is no longer new.
        let facts = self.base_facts(&lock(session));
        let analysis = self.analyse(gate, conn, st, facts).await?;
        if st.tag == FeTag::Parse && analysis.executes() {
            return Ok(capture(st, &analysis));
        }
        if st.tag == FeTag::Parse {
            if let Some(held) = hold_named(frame, st, &analysis) {
                return Ok(held);
            }
        }
        if !analysis.executes() {
            self.forward_decided(gate, (frame, st), &analysis, (conn, status), session)
                .await?;
            return Ok(Decided::Forwarded);
        }
        let status = self
            .run_statements(gate, st, &analysis, (conn, watch), (status, session))
            .await?;
        let mut rfq = bytes::BytesMut::new();
        encode::ready_for_query(status, &mut rfq);
        conn.send_client(&rfq).await?;
        lock(session).answered_locally(status);
        Ok(Decided::Answered)
    }

    /// Analyses `st`, with catalog facts when any statement may need more than forwarding.
    pub(super) async fn analyse(
        &self,
        gate: &Gate<'_>,
        conn: &mut impl GateConn,
        st: &Statement,
        mut facts: Facts,
    ) -> Result<Analysis, ProxyError> {
        let (sql, enforcer) = (st.sql.as_str(), &*gate.enforcer);
        let resolve = |d: &[Decision]| -> Vec<Action> {
            d.iter()
                .map(|d| enforce::resolve(d, enforcer, true))
                .collect()
        };
        let mut decisions = analyze_big(sql, &facts, &enforcer.analysis);
        let allowed = resolve(&decisions).iter().all(|a| *a == Action::Allow);
        if let Some(w) = wanted(&decisions, sql, &facts, allowed) {
            let functions = catalog::called_functions(sql);
            catalog::load(conn, &mut facts, &w.tables, (&functions, &w.types)).await?;
            decisions = analyze_big(sql, &facts, &enforcer.analysis);
            let acts = |a: &Action| matches!(a, Action::Rewrite | Action::Guard | Action::Block);
            if st.tag == FeTag::Query && decisions.len() > 1 && resolve(&decisions).iter().any(acts)
            {
                // The gateway will run the statements one by one: analyse them that way, so a
                // CONCURRENTLY plan is not refused for sharing a string with others.
                facts.submission = Submission::StatementByStatement;
                let by_one = analyze_big(sql, &facts, &enforcer.analysis);
                if resolve(&by_one).contains(&Action::Rewrite) {
                    decisions = by_one;
                }
            }
        }
        note_decided(gate, sql, &decisions);
        let mut actions = resolve(&decisions);
        if !st.exact {
            // The gateway cannot run its own version of a text it cannot send back as it is.
            for a in &mut actions {
                if matches!(a, Action::Rewrite | Action::Guard) {
                    *a = Action::Block;
                }
            }
        }
        // Scopes refuse what the role may not run; statements that depend on work deferred to
        // COMMIT are refused.
        let scoped = super::scoped::apply(gate, conn, (sql, &decisions), &mut actions).await?;
        let tx = &self.tx;
        let conflicts: Vec<Option<Notice>> = decisions
            .iter()
            .zip(scoped)
            .map(|(d, scoped)| {
                let text = d.text(sql);
                scoped
                    .or_else(|| inband_elsewhere(text))
                    .or_else(|| audit_down(d))
                    .or_else(|| {
                        ddlgate_ddl::plan::deferral::conflict(text, &tx.pending)
                            .map(|p| conflict_notice(text, p, tx))
                    })
            })
            .collect();
        let blocked = block_notices(&decisions, &actions, &conflicts);
        let commits = tx.has_deferred()
            && decisions
                .iter()
                .any(|d| super::block::block_end(d).is_some());
        Ok(Analysis {
            decisions,
            actions,
            blocked,
            commits,
        })
    }

    /// Nothing to run: forward the text, with blocked statements replaced, and follow it.
    async fn forward_decided(
        &mut self,
        gate: &Gate<'_>,
        (frame, st): (&Bytes, &Statement),
        a: &Analysis,
        (conn, status): (&mut impl GateConn, TransactionStatus),
        session: &Mutex<Session>,
    ) -> Result<(), ProxyError> {
        let origin = st.origin();
        let each = a.decisions.iter().zip(&a.actions).zip(&a.blocked);
        for ((d, action), blocked) in each {
            if *action == Action::Warn && blocked.is_none() {
                if let Some(n) = enforce::warn_notice(d, &[]) {
                    conn.notice(&n).await?;
                }
            }
            let (action, outcome) = match blocked {
                Some(_) => (Action::Block, AuditOutcome::Blocked),
                None => (*action, AuditOutcome::Forwarded),
            };
            gate.audit(&origin, d, action, Vec::new(), outcome);
        }
        let replaced = substitute_blocked(&st.sql, st.exact, &a.decisions, &a.blocked);
        let new = match (replaced, st.tag) {
            (Some(replaced), FeTag::Query) => query_frame(replaced.as_bytes()),
            (Some(replaced), _) => parse_frame_with(frame, &replaced),
            (None, _) => frame.clone(),
        };
        // In order: a savepoint rolled back to within the text forgets what was created after.
        for d in &a.decisions {
            self.tx.note_created(std::slice::from_ref(d));
            note_transaction_control(gate, &mut self.tx, status, d.text(&st.sql));
        }
        lock(session).on_client_frame(&new);
        conn.send_server(&new).await
    }

    /// Runs a simple Query's statements one by one, answering as the server would have: one
    /// response per statement, stopping at the first error. Returns the transaction status
    /// for the final ReadyForQuery.
    async fn run_statements(
        &mut self,
        gate: &Gate<'_>,
        st: &Statement,
        a: &Analysis,
        (conn, watch): (&mut impl GateConn, &mut impl Watch),
        (mut status, session): (TransactionStatus, &Mutex<Session>),
    ) -> Result<TransactionStatus, ProxyError> {
        let origin = st.origin();
        let each = a.decisions.iter().zip(&a.actions).zip(&a.blocked);
        for ((d, action), blocked) in each {
            // Each statement goes to the server as a query of its own: read with the settings
            // an earlier one may have changed, it could mean something else.
            let changed = follow_reported(conn, session) != st.lexing;
            let blocked = match blocked {
                None if changed && st.ambiguous => Some(settings_may_change()),
                other => other.clone(),
            };
            if let Some(notice) = &blocked {
                let raise = enforce::raise_statement(notice);
                status = conn.relay_query(raise.as_bytes()).await?.status;
                gate.audit(&origin, d, Action::Block, Vec::new(), AuditOutcome::Blocked);
                break;
            }
            let run = Run::of(d, *action, self.tx.has_deferred());
            let ok = match run {
                None | Some(Run::Rollback) => {
                    if run.is_some() {
                        end_block(gate, &mut self.tx);
                    }
                    let relayed = self.relay_one(gate, conn, (&origin, d), *action).await?;
                    status = relayed.1;
                    relayed.0
                }
                Some(run) => {
                    if *action == Action::Guard {
                        let lock_timeout = [ddlgate_ddl::RuleId::RequireLockTimeout];
                        if let Some(n) = enforce::warn_notice(d, &lock_timeout) {
                            conn.notice(&n).await?;
                        }
                    }
                    let parts = (&origin, d);
                    let tx = &mut self.tx;
                    let done = dispatch::execute(conn, watch, gate, tx, parts, run, status).await?;
                    status = done.status;
                    deliver(conn, &done.ran.ok_or(ProxyError::ClientGone)?).await?
                }
            };
            if !ok {
                break;
            }
        }
        Ok(status)
    }

    /// Forwards one statement of a Query the gateway runs statement by statement and relays
    /// the server's answer. Returns whether it succeeded, and the status after it.
    async fn relay_one(
        &mut self,
        gate: &Gate<'_>,
        conn: &mut impl GateConn,
        (origin, d): (&Origin<'_>, &Decision),
        action: Action,
    ) -> Result<(bool, TransactionStatus), ProxyError> {
        if action == Action::Warn {
            if let Some(n) = enforce::warn_notice(d, &[]) {
                conn.notice(&n).await?;
            }
        }
        let text = d.text(origin.sql);
        let r = conn.relay_query(text.as_bytes()).await?;
        if r.status == TransactionStatus::Idle {
            end_block(gate, &mut self.tx);
        } else if r.error.is_none() {
            self.tx.note_created(std::slice::from_ref(d));
            note_transaction_control(gate, &mut self.tx, r.status, text);
        }
        let outcome = if r.error.is_some() {
            AuditOutcome::Failed
        } else {
            AuditOutcome::Forwarded
        };
        gate.audit(origin, d, action, Vec::new(), outcome);
        Ok((r.error.is_none(), r.status))
    }
}

/// Texts from this size on are analysed with the runtime told the thread is busy.
const BIG_TEXT: usize = 64 * 1024;

/// [`analyze`], telling a multi-threaded runtime that a large text will keep this thread
/// busy (`block_in_place`), so that the other sessions' tasks move to another worker rather
/// than wait for it.
fn analyze_big(sql: &str, facts: &Facts, cfg: &ddlgate_ddl::AnalysisConfig) -> Vec<Decision> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if sql.len() >= BIG_TEXT && multi {
        tokio::task::block_in_place(|| analyze(sql, facts, cfg))
    } else {
        analyze(sql, facts, cfg)
    }
}

/// The extended-protocol statement the gateway will run: the first one that executes.
fn capture(st: &Statement, a: &Analysis) -> Decided {
    let found = a.decisions.iter().zip(&a.actions).find(|(d, action)| {
        matches!(action, Action::Rewrite | Action::Guard)
            || (a.commits && super::block::block_end(d).is_some())
    });
    match found {
        Some((d, action)) => Decided::Capture(Box::new(Planned {
            sql: st.sql.clone(),
            decision: d.clone(),
            action: *action,
            held: Held::ByGateway,
            redecide: false,
        })),
        None => Decided::Forwarded,
    }
}

/// A named Parse of one statement that names relations, let through: PostgreSQL resolves a
/// utility statement's names again each time it executes (after the search path, a
/// temporary table or a savepoint may have changed what they are), so the gateway holds it
/// and decides again at each execution rather than trusting this decision.
fn hold_named(frame: &[u8], st: &Statement, a: &Analysis) -> Option<Decided> {
    let named = !ddlgate_wire::decode::parse_msg(frame)
        .ok()?
        .statement
        .is_empty();
    let [d] = a.decisions.as_slice() else {
        return None;
    };
    let relies_on_names = !d.locks.is_empty() && a.blocked.iter().all(Option::is_none);
    (named && relies_on_names && st.exact).then(|| {
        Decided::Capture(Box::new(Planned {
            sql: st.sql.clone(),
            decision: d.clone(),
            action: a.actions[0],
            held: Held::ByGateway,
            redecide: true,
        }))
    })
}

/// The refusal of an in-band command sent where the gateway does not answer one (an
/// extended-protocol Parse).
fn inband_elsewhere(text: &str) -> Option<Notice> {
    crate::enforce::inband::is_inband(text).then(|| {
        Notice::new(
            ddlgate_wire::encode::Severity::Error,
            ddlgate_wire::SqlState::FeatureNotSupported,
            "ddlgate: DDLGATE commands are answered in a simple Query only (psql, or your driver's unprepared execution)",
        )
    })
}

/// The refusal of DDL while the audit log cannot be written (`on_failure = "block"`).
fn audit_down(d: &Decision) -> Option<Notice> {
    if !crate::enforce::scope::is_ddl(d) {
        return None;
    }
    crate::audit_health::refusal().map(|why| {
        Notice::new(
            ddlgate_wire::encode::Severity::Error,
            ddlgate_wire::SqlState::ObjectNotInPrerequisiteState,
            "ddlgate: DDL is refused while the audit log cannot be written",
        )
        .detail(why)
        .hint("the audit sink's on_failure is \"block\": DDL runs again once the audit log is written; ask the gateway's operators")
    })
}

/// Counts the analysed statements and shows the last DDL one in the session listing.
fn note_decided(gate: &Gate<'_>, sql: &str, decisions: &[Decision]) {
    if let (Some(live), Some(d)) = (
        gate.live,
        decisions
            .iter()
            .rev()
            .find(|d| crate::enforce::scope::is_ddl(d)),
    ) {
        live.set_statement(&super::audit::logged(&super::audit::redacted(d.text(sql))));
    }
    crate::metrics::global()
        .statements_analysed
        .inc_by(decisions.len() as u64);
}
