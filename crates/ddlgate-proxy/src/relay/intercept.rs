//! What the client pump does with a statement that may be DDL: analyse it with live facts,
//! then forward it, warn, block it, guard it with a short lock_timeout, or run its safe plan.

use bytes::{BufMut, Bytes, BytesMut};
use ddlgate_ddl::{
    analyze, classify, classify_bytes, split, Decision, Facts, QualifiedName, StatementClass,
    Submission, TxState,
};
use ddlgate_session::{Batch, Protocol};
use ddlgate_wire::encode::{self, Notice};
use ddlgate_wire::{FeTag, TransactionStatus};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use super::captured::Planned;
use super::client::ClientPump;
use super::deferred::Ran;
use super::outside::Outside;
use super::txwork::{block_end, BlockEnd};
use super::{lock, Ctl, Paused};
use crate::enforce::{self, Action, AuditEvent, Enforcer, SessionInfo};
use crate::exec::{self, catalog, ClientWatch, Owned};
use crate::ProxyError;

/// The enforcement context of one session.
pub struct Gate<'a> {
    /// Policy.
    pub enforcer: &'a Enforcer,
    /// Who is connected (for audit events).
    pub info: &'a SessionInfo,
    /// Raised when the client sends a CancelRequest for this session.
    pub cancel: &'a std::sync::atomic::AtomicBool,
    /// The gateway configuration (routes and control role, for durable jobs).
    pub config: &'a std::sync::Arc<ddlgate_config::Config>,
    /// Durable jobs, when a control role is configured.
    pub jobs: Option<&'a std::sync::Arc<crate::jobs::Jobs>>,
}

/// What the first look at a Query or Parse text found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attention {
    /// Nothing the gateway acts on: forward it.
    None,
    /// Possibly DDL: analyse it.
    Ddl,
    /// Transaction control (BEGIN, COMMIT, SAVEPOINT, …) and no DDL: forwarded, but the
    /// block's bookkeeping may change.
    TransactionControl,
}

/// Cheap test run on every Query and Parse: could this text hold DDL or transaction
/// control? Most traffic is answered by the first key word alone.
pub fn needs_attention(text: &[u8]) -> Attention {
    let first = match classify_bytes(text) {
        StatementClass::MaybeDdl => return Attention::Ddl,
        StatementClass::Empty => return Attention::None,
        class => class,
    };
    let one = match first {
        StatementClass::Transaction => Attention::TransactionControl,
        _ => Attention::None,
    };
    // Only a string with a `;` followed by more text can hide a second statement.
    let Some(semi) = memchr::memchr(b';', text) else {
        return one;
    };
    if text[semi + 1..].iter().all(u8::is_ascii_whitespace) {
        return one;
    }
    let sql = String::from_utf8_lossy(text);
    let mut found = Attention::None;
    for span in split(&sql).iter().filter_map(|seg| seg.stmt.clone()) {
        match classify(&sql[span]) {
            StatementClass::MaybeDdl => return Attention::Ddl,
            StatementClass::Transaction => found = Attention::TransactionControl,
            _ => {}
        }
    }
    found
}

impl Gate<'_> {
    /// Emits the audit event of one analysed statement (DDL, or anything with findings).
    pub(super) fn audit(
        &self,
        st: &Origin<'_>,
        d: &Decision,
        action: Action,
        steps: Vec<enforce::AuditStep>,
        outcome: &'static str,
    ) {
        if d.class != StatementClass::MaybeDdl && d.findings.is_empty() {
            return;
        }
        AuditEvent {
            time: crate::enforce::now_rfc3339(),
            session: self.info,
            protocol: match st.protocol {
                Protocol::Simple => "simple",
                Protocol::Extended => "extended",
            },
            sql: ddlgate_ddl::redact(d.text(st.sql)),
            rules: d.findings.iter().map(|f| f.rule.as_str()).collect(),
            action,
            observe_only: self.enforcer.observe_only(),
            plan: d.plan.as_ref().map(|p| p.summary.clone()),
            steps,
            outcome,
        }
        .emit();
    }
}

/// Where an audited statement came from.
pub(super) struct Origin<'a> {
    pub(super) protocol: Protocol,
    pub(super) sql: &'a str,
}

impl<'a> Origin<'a> {
    /// A statement sent with the extended protocol.
    pub(super) fn extended(sql: &'a str) -> Self {
        Self {
            protocol: Protocol::Extended,
            sql,
        }
    }
}

/// The intercepted message.
struct Stmt<'a> {
    frame: &'a Bytes,
    tag: FeTag,
    protocol: Protocol,
    /// The SQL text (lossy when not valid UTF-8).
    sql: &'a str,
    /// Whether `sql` is byte for byte what the client sent.
    exact: bool,
    batch: Batch,
}

/// What happened to an intercepted frame.
#[derive(Debug)]
pub enum Intercepted {
    /// The frame (possibly with blocked statements replaced) went to the server.
    Forwarded,
    /// The gateway answered it itself.
    Answered,
    /// An extended-protocol statement the gateway will run itself: capture its batch.
    Capture(Box<Planned>),
    /// The server failed the batch before this statement (found when the gateway ended the
    /// batch early): this and the client's messages up to its `Sync` must be dropped.
    Discarded,
}

fn query_frame(sql: &[u8]) -> Bytes {
    Bytes::from(encode::query(sql))
}

/// A Parse frame with its query text replaced (name and parameter types kept).
fn parse_frame_with(original: &[u8], sql: &str) -> Bytes {
    let body = &original[5..];
    let name_end = body.iter().position(|&c| c == 0).unwrap_or(0);
    let query_end = name_end
        + 1
        + body[name_end + 1..]
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(0);
    let rest = &body[query_end + 1..];
    let mut b = BytesMut::new();
    b.put_u8(b'P');
    b.put_u32((4 + name_end + 1 + sql.len() + 1 + rest.len()) as u32);
    b.put_slice(&body[..=name_end]);
    b.put_slice(sql.as_bytes());
    b.put_u8(0);
    b.put_slice(rest);
    b.freeze()
}

/// The error each blocked statement gets: its rule's, or the deferral conflict's.
fn block_notices(
    decisions: &[Decision],
    actions: &[Action],
    conflicts: &[Option<Notice>],
) -> Vec<Option<Notice>> {
    decisions
        .iter()
        .zip(actions)
        .zip(conflicts)
        .map(|((d, a), c)| match (a, c) {
            (_, Some(n)) => Some(n.clone()),
            (Action::Block, None) => Some(enforce::block_notice(d, None)),
            _ => None,
        })
        .collect()
}

/// The text with every blocked statement replaced by a server-side RAISE of its error.
fn substitute_blocked(
    sql: &str,
    exact: bool,
    decisions: &[Decision],
    notices: &[Option<Notice>],
) -> Option<String> {
    let blocked: Vec<(&Decision, &Notice)> = decisions
        .iter()
        .zip(notices)
        .filter_map(|(d, n)| n.as_ref().map(|n| (d, n)))
        .collect();
    let (_, first) = blocked.first()?;
    if !exact {
        // Not valid UTF-8 in the client encoding: spans cannot be trusted; refuse it whole.
        return Some(enforce::raise_statement(first));
    }
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (d, notice) in &blocked {
        out.push_str(&sql[at..d.span.start]);
        out.push_str(&enforce::raise_statement(notice));
        at = d.span.end;
    }
    out.push_str(&sql[at..]);
    Some(out)
}

/// Relations the decisions touch (for the catalog query).
fn relations(decisions: &[Decision]) -> Vec<QualifiedName> {
    let mut out: Vec<QualifiedName> = Vec::new();
    for d in decisions {
        for t in d.locks.keys() {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

impl ClientPump<'_> {
    fn base_facts(&self, batch: Batch) -> Facts {
        let session = lock(self.shared.session);
        let mut facts = match session.server_version() {
            Some(v) => Facts {
                server_version_num: v.num(),
                ..Facts::default()
            },
            None => Facts::default(),
        };
        facts.tx_state = match (session.transaction_status(), batch) {
            (TransactionStatus::InBlock | TransactionStatus::Failed, _) => TxState::InBlock,
            (TransactionStatus::Idle, Batch::Open(_)) => TxState::ImplicitMulti,
            (TransactionStatus::Idle, Batch::Clean) => TxState::Idle,
        };
        if facts.tx_state == TxState::InBlock {
            facts.created_in_tx = self.tx_work.created.clone();
        }
        facts
    }

    async fn forward(&mut self, frame: &[u8]) -> Result<(), ProxyError> {
        lock(self.shared.session).on_client_frame(frame);
        self.dst.write_all(frame).await?;
        self.dst.flush().await?;
        Ok(())
    }

    /// Waits until every request sent so far has been answered.
    pub(super) async fn wait_idle(&self) {
        let session = self.shared.session;
        self.shared
            .ready
            .wait_until(|| lock(session).in_flight() == 0)
            .await;
    }

    pub(super) async fn pause(&self) -> Result<Paused, ProxyError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .request(Ctl::Pause(tx))
            .map_err(|_| ProxyError::Io(std::io::ErrorKind::BrokenPipe.into()))?;
        rx.await
            .map_err(|_| ProxyError::Io(std::io::ErrorKind::BrokenPipe.into()))
    }

    /// Handles one Query or Parse frame that may hold DDL. When the gateway ends the client's
    /// batch early (see [`Batch::may_sync_early`]), `batch` becomes [`Batch::Clean`].
    pub async fn intercept(
        &mut self,
        frame: Bytes,
        tag: FeTag,
        batch_state: &mut Batch,
    ) -> Result<Intercepted, ProxyError> {
        let protocol = if tag == FeTag::Query {
            Protocol::Simple
        } else {
            Protocol::Extended
        };
        let text = match tag {
            FeTag::Query => ddlgate_wire::decode::query_text(&frame)?,
            _ => ddlgate_wire::decode::parse_msg(&frame)?.query,
        };
        let (sql, exact) = match std::str::from_utf8(text) {
            Ok(s) => (s.to_owned(), true),
            Err(_) => (String::from_utf8_lossy(text).into_owned(), false),
        };
        let enforcer = self.gate.enforcer;
        // A cancel sent before this statement belongs to an earlier one.
        self.gate
            .cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let st = Stmt {
            frame: &frame,
            tag,
            protocol,
            sql: &sql,
            exact,
            batch: *batch_state,
        };
        let batch = *batch_state;
        let origin = Origin {
            protocol,
            sql: &sql,
        };
        if enforcer.observe_only() {
            let decisions = analyze(&sql, &self.base_facts(batch), &enforcer.analysis);
            for d in &decisions {
                self.gate.audit(
                    &origin,
                    d,
                    enforce::resolve(d, enforcer, batch == Batch::Clean),
                    Vec::new(),
                    "forwarded",
                );
            }
            self.forward(&frame).await?;
            return Ok(Intercepted::Forwarded);
        }
        if tag == FeTag::Parse && batch.may_sync_early() && !enforcer.observe_only() {
            // Every message of the batch so far ran inside a transaction block: end the batch
            // with a Sync of the gateway's own, then decide with catalog facts as at a boundary.
            self.wait_idle().await;
            let Paused { mut lent, resume } = self.pause().await?;
            let result = self.sync_early(&mut lent).await;
            *batch_state = Batch::Clean;
            let result = match result {
                Ok(true) => {
                    let st = Stmt {
                        batch: Batch::Clean,
                        ..st
                    };
                    self.intercept_owned(&st, &mut lent).await
                }
                Ok(false) => Ok(Intercepted::Discarded),
                Err(e) => Err(e),
            };
            let _ = resume.send(lent);
            return result;
        }
        if tag == FeTag::Parse && batch.is_open() {
            // Mid-batch: the server already runs an implicit transaction for this batch, so the
            // gateway cannot take the connection over. Decide without catalog facts.
            let decisions = analyze(&sql, &self.base_facts(batch), &enforcer.analysis);
            let actions: Vec<Action> = decisions
                .iter()
                .map(|d| enforce::resolve(d, enforcer, false))
                .collect();
            for (d, a) in decisions.iter().zip(&actions) {
                if *a == Action::Warn {
                    if let Some(n) = enforce::warn_notice(d, &[]) {
                        let mut b = BytesMut::new();
                        n.encode_notice(&mut b);
                        let _ = self.shared.request(Ctl::Inject(b));
                    }
                }
                self.gate.audit(
                    &origin,
                    d,
                    *a,
                    Vec::new(),
                    if *a == Action::Block {
                        "blocked"
                    } else {
                        "forwarded"
                    },
                );
            }
            let notices = block_notices(&decisions, &actions, &vec![None; decisions.len()]);
            match substitute_blocked(&sql, exact, &decisions, &notices) {
                Some(replaced) => self.forward(&parse_frame_with(&frame, &replaced)).await?,
                None => self.forward(&frame).await?,
            }
            self.tx_work.note_created(&decisions);
            return Ok(Intercepted::Forwarded);
        }
        self.wait_idle().await;
        let Paused { mut lent, resume } = self.pause().await?;
        let result = self.intercept_owned(&st, &mut lent).await;
        // Hand the halves back whatever happened; on error the session ends anyway.
        let _ = resume.send(lent);
        result
    }

    /// Ends the client's open batch with a `Sync` of the gateway's own; the responses so far
    /// go to the client, the `ReadyForQuery` does not. Returns whether the batch went through
    /// without error. After an error the server, having seen a `Sync`, no longer skips the
    /// client's messages, so the gateway must drop the rest of the batch itself.
    async fn sync_early(&mut self, lent: &mut super::Lent) -> Result<bool, ProxyError> {
        let mut owned = Owned {
            server_r: &mut lent.server_r,
            server_buf: &mut lent.server_buf,
            server_w: &mut self.dst,
            client_w: &mut lent.client_w,
        };
        let r = owned.sync_early().await?;
        lock(self.shared.session).answered_locally(r.status);
        Ok(r.error.is_none())
    }

    async fn intercept_owned(
        &mut self,
        st: &Stmt<'_>,
        lent: &mut super::Lent,
    ) -> Result<Intercepted, ProxyError> {
        let (frame, tag, sql, exact, batch) = (st.frame, st.tag, st.sql, st.exact, st.batch);
        let origin = Origin {
            protocol: st.protocol,
            sql,
        };
        let enforcer = self.gate.enforcer;
        let (status_before, idle_points) = {
            let session = lock(self.shared.session);
            (session.transaction_status(), session.idle_points())
        };
        if status_before == TransactionStatus::Idle {
            // Outside any block: whatever was kept belongs to a block that is over.
            super::deferred::end_block(&self.gate, &mut self.tx_work);
        }
        super::deferred::catch_up(&self.gate, &mut self.tx_work, idle_points);
        let mut facts = self.base_facts(batch);
        let first = analyze(sql, &facts, &enforcer.analysis);
        let needs_facts = first
            .iter()
            .any(|d| enforce::resolve(d, enforcer, true) != Action::Allow);
        let (src, dst, buf, gate, shared, tx_work) = (
            &mut self.src,
            &mut self.dst,
            &mut self.buf,
            &self.gate,
            &self.shared,
            &mut self.tx_work,
        );
        let mut owned = Owned {
            server_r: &mut lent.server_r,
            server_buf: &mut lent.server_buf,
            server_w: dst,
            client_w: &mut lent.client_w,
        };
        let decisions = if needs_facts {
            catalog::load(
                &mut owned,
                &mut facts,
                &relations(&first),
                &catalog::called_functions(sql),
            )
            .await?;
            let mut d = analyze(sql, &facts, &enforcer.analysis);
            let actions: Vec<Action> = d
                .iter()
                .map(|d| enforce::resolve(d, enforcer, true))
                .collect();
            if tag == FeTag::Query
                && d.len() > 1
                && actions
                    .iter()
                    .any(|a| matches!(a, Action::Rewrite | Action::Guard | Action::Block))
            {
                // The gateway will run the statements one by one: analyse them that way, so a
                // CONCURRENTLY plan is not refused for sharing a string with others.
                facts.submission = Submission::StatementByStatement;
                let by_one = analyze(sql, &facts, &enforcer.analysis);
                if by_one
                    .iter()
                    .any(|x| enforce::resolve(x, enforcer, true) == Action::Rewrite)
                {
                    d = by_one;
                }
            }
            d
        } else {
            first
        };
        let actions: Vec<Action> = decisions
            .iter()
            .map(|d| enforce::resolve(d, enforcer, true))
            .collect();
        // Statements that depend on work deferred to COMMIT are refused.
        let conflicts: Vec<Option<Notice>> = decisions
            .iter()
            .map(|d| {
                let text = d.text(sql);
                ddlgate_ddl::plan::deferral::conflict(text, &tx_work.pending)
                    .map(|p| super::deferred::conflict_notice(text, p, tx_work))
            })
            .collect();
        let commits = tx_work.has_deferred() && decisions.iter().any(|d| block_end(d).is_some());
        let executes = commits
            || actions
                .iter()
                .zip(&conflicts)
                .any(|(a, c)| c.is_none() && matches!(a, Action::Rewrite | Action::Guard));
        if tag == FeTag::Parse && executes {
            // Extended protocol: capture the batch; the plan runs when the client executes.
            let found = decisions.iter().zip(&actions).find(|(d, a)| {
                matches!(a, Action::Rewrite | Action::Guard) || (commits && block_end(d).is_some())
            });
            let Some((d, a)) = found else {
                return Ok(Intercepted::Forwarded);
            };
            return Ok(Intercepted::Capture(Box::new(Planned {
                sql: sql.to_owned(),
                decision: d.clone(),
                action: *a,
                held: super::captured::Held::ByGateway,
            })));
        }
        let notices = block_notices(&decisions, &actions, &conflicts);
        if !executes {
            for ((d, a), n) in decisions.iter().zip(&actions).zip(&notices) {
                if *a == Action::Warn && n.is_none() {
                    if let Some(n) = enforce::warn_notice(d, &[]) {
                        owned.notice(&n).await?;
                    }
                }
                gate.audit(
                    &origin,
                    d,
                    if n.is_some() { Action::Block } else { *a },
                    Vec::new(),
                    if n.is_some() { "blocked" } else { "forwarded" },
                );
            }
            let new = match (substitute_blocked(sql, exact, &decisions, &notices), tag) {
                (Some(replaced), FeTag::Query) => query_frame(replaced.as_bytes()),
                (Some(replaced), _) => parse_frame_with(frame, &replaced),
                (None, _) => frame.clone(),
            };
            tx_work.note_created(&decisions);
            for d in &decisions {
                super::deferred::note_transaction_control(
                    gate,
                    tx_work,
                    status_before,
                    d.text(sql),
                );
            }
            lock(shared.session).on_client_frame(&new);
            owned.send_server(&new).await?;
            return Ok(Intercepted::Forwarded);
        }
        // Run the statements one by one, answering as the server would have: one response
        // per statement, one ReadyForQuery at the end.
        let cfg = &enforcer.policy.execution;
        let mut watch = ClientWatch {
            src,
            buf,
            cancel: gate.cancel,
        };
        let mut status = status_before;
        let mut gone = false;
        for ((d, a), blocked) in decisions.iter().zip(&actions).zip(&notices) {
            let text = d.text(sql);
            let in_block = status != TransactionStatus::Idle;
            if let Some(notice) = blocked {
                let r = owned
                    .relay_query(enforce::raise_statement(notice).as_bytes())
                    .await?;
                status = r.status;
                gate.audit(&origin, d, Action::Block, Vec::new(), "blocked");
                break;
            }
            match (block_end(d), tx_work.has_deferred()) {
                (Some(end), true) if end.commits() => {
                    let ran;
                    (ran, status) =
                        super::deferred::commit(&mut owned, &mut watch, gate, text, end, tx_work)
                            .await?;
                    if deliver(&mut owned, ran).await? == Delivered::Failed {
                        break;
                    }
                    continue;
                }
                (Some(BlockEnd::Rollback), true) => {
                    super::deferred::end_block(gate, tx_work);
                }
                _ => {}
            }
            match a {
                Action::Allow | Action::Warn | Action::Block => {
                    if *a == Action::Warn {
                        if let Some(n) = enforce::warn_notice(d, &[]) {
                            owned.notice(&n).await?;
                        }
                    }
                    let r = owned.relay_query(text.as_bytes()).await?;
                    status = r.status;
                    if status == TransactionStatus::Idle {
                        super::deferred::end_block(gate, tx_work);
                    } else if r.error.is_none() {
                        tx_work.note_created(std::slice::from_ref(d));
                        super::deferred::note_transaction_control(gate, tx_work, status, text);
                    }
                    if d.class == StatementClass::MaybeDdl || !d.findings.is_empty() {
                        gate.audit(
                            &origin,
                            d,
                            *a,
                            Vec::new(),
                            if r.error.is_some() {
                                "failed"
                            } else {
                                "forwarded"
                            },
                        );
                    }
                    if r.error.is_some() {
                        break;
                    }
                }
                Action::Guard => {
                    if let Some(n) =
                        enforce::warn_notice(d, &[ddlgate_ddl::RuleId::RequireLockTimeout])
                    {
                        owned.notice(&n).await?;
                    }
                    let ran = if in_block {
                        super::deferred::guard_in_block(&mut owned, &mut watch, gate, &origin, d)
                            .await?
                    } else {
                        let (result, record) =
                            exec::run_guarded(&mut owned, text, cfg, &mut watch).await?;
                        gate.audit(
                            &origin,
                            d,
                            *a,
                            vec![record.audit()],
                            if result.is_ok() {
                                "completed"
                            } else {
                                "failed"
                            },
                        );
                        result.map_or_else(Ran::Err, Ran::Ok)
                    };
                    if deliver(&mut owned, ran).await? == Delivered::Failed {
                        if in_block {
                            status = TransactionStatus::Failed;
                        }
                        break;
                    }
                }
                Action::Rewrite if in_block => {
                    let Some(plan) = &d.plan else { continue };
                    let ran = super::deferred::rewrite_in_block(
                        &mut owned, &mut watch, gate, &origin, d, plan, tx_work,
                    )
                    .await?;
                    if deliver(&mut owned, ran).await? == Delivered::Failed {
                        status = TransactionStatus::Failed;
                        break;
                    }
                }
                Action::Rewrite => {
                    let Some(plan) = &d.plan else { continue };
                    match super::outside::run(&mut owned, &mut watch, gate, &origin, d, plan)
                        .await?
                    {
                        Outside::Completed(tag) => {
                            owned.send_client(&command_complete(&tag)).await?;
                        }
                        Outside::Failed(e) => {
                            owned.send_client(&e.frame).await?;
                            break;
                        }
                        Outside::Gone => {
                            gone = true;
                            break;
                        }
                    }
                }
            }
        }
        if gone {
            return Err(ProxyError::Io(std::io::ErrorKind::ConnectionAborted.into()));
        }
        let mut rfq = BytesMut::new();
        encode::ready_for_query(status, &mut rfq);
        owned.send_client(&rfq).await?;
        lock(shared.session).answered_locally(status);
        Ok(Intercepted::Answered)
    }
}

/// Whether a statement the gateway ran for the client succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivered {
    Completed,
    Failed,
}

/// Sends the client what a statement the gateway ran ended with: its CommandComplete, or the
/// server's error.
async fn deliver(owned: &mut Owned<'_>, ran: Ran) -> Result<Delivered, ProxyError> {
    match ran {
        Ran::Ok(tag) => {
            owned.send_client(&command_complete(&tag)).await?;
            Ok(Delivered::Completed)
        }
        Ran::Err(e) => {
            owned.send_client(&e.frame).await?;
            Ok(Delivered::Failed)
        }
    }
}

fn command_complete(tag: &str) -> BytesMut {
    let mut b = BytesMut::new();
    encode::command_complete(tag, &mut b);
    b
}
