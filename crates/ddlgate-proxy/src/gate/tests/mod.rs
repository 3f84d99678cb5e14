//! Socket-free unit tests of the gate: a harness plays the relay (screen, look, run) with a
//! scripted fake connection ([`fake::FakeConn`]) and the real analyser and policy.

mod capture;
mod commit;
mod dispatch;
mod fake;
mod look;
mod screen;
mod settings;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use ddlgate_config::Config;
use ddlgate_session::Session;
use ddlgate_wire::encode::Notice;
use ddlgate_wire::{decode, encode, FeTag, TransactionStatus};

use super::{Gate, GateState, Look, Screen, SentAt};
use crate::enforce::{Enforcer, SessionInfo};
use crate::sync::lock;
use fake::{Event, FakeConn, FakeWatch};

/// What is fixed for a session: the policy and who is connected.
pub struct Env {
    enforcer: Arc<Enforcer>,
    info: SessionInfo,
    cancel: AtomicBool,
    config: Arc<Config>,
    policy_log: Mutex<crate::enforce::scope::PolicyLog>,
}

impl Env {
    /// `policy` goes under `[policy]`, `rules` under `[policy.rules]`. Lock retries back off
    /// for a millisecond only.
    pub fn new(policy: &str, rules: &str) -> Self {
        let text = format!(
            "[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = 5432\n\
             [policy]\n{policy}\n[policy.rules]\n{rules}\n\
             [policy.execution]\nretry_backoff_ms = 1\nretry_backoff_max_ms = 1\nlock_retries = 3\n"
        );
        let config = Config::from_toml_str(&text).expect("test config");
        Self {
            enforcer: Arc::new(Enforcer::new(config.policy.clone())),
            info: SessionInfo {
                session: 7,
                user: "app".into(),
                database: "app".into(),
                application_name: "gate-tests".into(),
                client: "127.0.0.1:40000".parse().expect("addr"),
            },
            cancel: AtomicBool::new(false),
            config: Arc::new(config),
            policy_log: Default::default(),
        }
    }

    /// The gate over this environment (no durable jobs).
    pub fn gate(&self) -> Gate<'_> {
        Gate {
            enforcer: Arc::clone(&self.enforcer),
            policy: None,
            live: None,
            info: &self.info,
            cancel: &self.cancel,
            config: &self.config,
            jobs: None,
            approver: None,
            policy_log: &self.policy_log,
        }
    }
}

/// Where a client frame went through the harness's relay.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Forwarded as it is by the screen.
    Forward,
    /// Forwarded after following its transaction control.
    Follow,
    /// Dropped (the rest of a failed batch).
    Drop,
    /// Taken and kept by the gate (a captured batch).
    Kept,
    /// Taken and forwarded by the look (possibly changed).
    LookForward,
    /// Taken and run on the connection.
    Own(super::intercept::Owning),
}

/// One session: the gate's state, the session's, the fake connection and watch.
pub struct Harness {
    pub env: Env,
    pub state: GateState,
    pub conn: FakeConn,
    pub watch: FakeWatch,
    pub session: Mutex<Session>,
}

/// A ReadyForQuery frame.
pub fn rfq(status: TransactionStatus) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode::ready_for_query(status, &mut b);
    b.to_vec()
}

impl Harness {
    /// The default policy.
    pub fn new() -> Self {
        Self::with(Env::new("", ""))
    }

    /// A policy with these `[policy.rules]`.
    pub fn rules(rules: &str) -> Self {
        Self::with(Env::new("", rules))
    }

    /// A session over `env`, idle.
    pub fn with(env: Env) -> Self {
        Self {
            env,
            state: GateState::default(),
            conn: FakeConn::default(),
            watch: FakeWatch::default(),
            session: Mutex::new(Session::new()),
        }
    }

    /// Puts both the fake server and the session in `status` (as after a ReadyForQuery).
    pub fn set_status(&mut self, status: TransactionStatus) {
        self.conn.status = status;
        lock(&self.session)
            .on_server_frame(&rfq(status))
            .expect("ready");
    }

    /// Sends the session the ReadyForQuery frames the fake server answered with.
    fn deliver_ready(&mut self) {
        for status in std::mem::take(&mut self.conn.ready) {
            lock(&self.session)
                .on_server_frame(&rfq(status))
                .expect("ready");
        }
    }

    /// The relay forwards `frame` to the server as it is.
    fn pass(&mut self, frame: &[u8]) {
        self.conn.log.push(Event::Passed(frame.to_vec()));
        self.conn.server_receives(frame);
    }

    /// One client frame through the relay, as `relay::client` does it, then the server's
    /// answers to the session.
    pub async fn client(&mut self, frame: Bytes) -> Route {
        let route = self.route(frame).await;
        self.deliver_ready();
        route
    }

    /// Several frames; the routes in order.
    pub async fn clients(&mut self, frames: Vec<Bytes>) -> Vec<Route> {
        let mut out = Vec::new();
        for f in frames {
            out.push(self.client(f).await);
        }
        out
    }

    async fn route(&mut self, frame: Bytes) -> Route {
        let tag = FeTag::from_byte(frame[0]);
        let screen = self.state.screen(&frame).expect("screen");
        match screen {
            Screen::Forward(msg) => {
                self.accept(&frame, tag, msg);
                Route::Forward
            }
            Screen::Follow(sql, msg) => {
                let at = {
                    let s = lock(&self.session);
                    SentAt {
                        idle_points: s.idle_points(),
                        status: s.transaction_status(),
                    }
                };
                self.state.follow(&self.env.gate(), at, &sql);
                self.accept(&frame, tag, msg);
                Route::Follow
            }
            Screen::Drop => Route::Drop,
            Screen::Take => self.take(frame).await,
        }
    }

    fn accept(&mut self, frame: &[u8], tag: FeTag, msg: Option<ddlgate_session::BatchMessage>) {
        if matches!(tag, FeTag::Query | FeTag::Sync) {
            lock(&self.session).on_request_sent();
        }
        let session = &self.session;
        self.state
            .advance(msg, || lock(session).transaction_status());
        self.pass(frame);
    }

    async fn take(&mut self, frame: Bytes) -> Route {
        let gate = self.env.gate();
        match self.state.look(&gate, &frame, &self.session).expect("look") {
            Look::Kept => Route::Kept,
            Look::Forward { frame, notices } => {
                for n in notices {
                    self.conn.log.push(Event::Notice(n));
                }
                lock(&self.session).on_client_frame(&frame);
                self.conn.log.push(Event::Passed(frame.to_vec()));
                self.conn.server_receives(&frame);
                Route::LookForward
            }
            Look::Own(owning) => {
                let conn = (&mut self.conn, &mut self.watch);
                self.state
                    .run(&gate, (owning, frame), conn, &self.session)
                    .await
                    .expect("run");
                Route::Own(owning)
            }
        }
    }

    /// The session's transaction status.
    pub fn status(&self) -> TransactionStatus {
        lock(&self.session).transaction_status()
    }

    /// The log rendered, and cleared.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.conn.log)
            .iter()
            .map(render)
            .collect()
    }

    /// Only the queries the gateway ran itself, and cleared with the log.
    pub fn take_queries(&mut self) -> Vec<String> {
        self.take_log()
            .into_iter()
            .filter_map(|e| e.strip_prefix("query: ").map(str::to_owned))
            .collect()
    }
}

/// The catalog query, as rendered.
pub const CATALOG: &str = "query: <catalog facts>";
/// The settings a plan or guard saves first.
pub const SAVE: &str =
    "query: SELECT pg_catalog.current_setting('lock_timeout'), pg_catalog.current_setting('statement_timeout')";

/// `set_timeouts` as rendered.
pub fn timeouts(lock_timeout: &str, statement_timeout: &str) -> String {
    format!("query: SELECT pg_catalog.set_config('lock_timeout', '{lock_timeout}', false), pg_catalog.set_config('statement_timeout', '{statement_timeout}', false)")
}

/// One event as a line.
pub fn render(e: &Event) -> String {
    match e {
        Event::Query(q) if q.contains("json_object_agg") => CATALOG.to_owned(),
        Event::Query(q) if q.contains("pg_locks") => "query: <lock holders>".to_owned(),
        Event::Query(q) if q.contains("pg_try_advisory_lock") => "query: <try lock>".to_owned(),
        Event::Query(q) if q.contains("pg_advisory_unlock") => "query: <unlock>".to_owned(),
        Event::Query(q) if q.contains("NOT indisvalid") => "query: <invalid indexes>".to_owned(),
        Event::Query(q) if q.starts_with("SELECT EXISTS") => "query: <done already?>".to_owned(),
        Event::Query(q) => format!("query: {q}"),
        Event::Relayed(q) => format!("relay: {q}"),
        Event::ToServer(b) => format!("server: {}", messages(b).join(" | ")),
        Event::Passed(b) => format!("pass: {}", messages(b).join(" | ")),
        Event::ToClient(b) => format!("client: {}", messages(b).join(" | ")),
        Event::Notice(n) => notice_line(n),
        Event::SyncEarly => "sync-early".to_owned(),
    }
}

/// A notice as a line: severity, code, message.
pub fn notice_line(n: &Notice) -> String {
    format!(
        "notice: {} {} {}",
        n.severity.as_str(),
        n.code.code(),
        n.message
    )
}

fn cstr(body: &[u8]) -> String {
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// The messages of a byte stream, one short line each (either direction).
pub fn messages(mut b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while b.len() >= 5 {
        let len = u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize;
        let (frame, rest) = b.split_at(1 + len);
        out.push(message(frame));
        b = rest;
    }
    out
}

fn message(frame: &[u8]) -> String {
    let body = &frame[5..];
    match frame[0] {
        b'Q' => format!("Q {}", cstr(body)),
        b'P' => {
            let p = decode::parse_msg(frame).expect("parse");
            format!(
                "P {:?} {}",
                String::from_utf8_lossy(p.statement),
                String::from_utf8_lossy(p.query)
            )
        }
        b'B' => format!("B {:?}", cstr(body)),
        b'E' if body.first() == Some(&b'S') => {
            let f = decode::error_fields(frame).expect("error");
            format!(
                "E {} {}",
                f.code.map_or("?????".into(), |c| c.code().to_owned()),
                String::from_utf8_lossy(f.message)
            )
        }
        b'E' => format!("E {:?}", cstr(body)),
        b'S' => "S".to_owned(),
        b'H' => "H".to_owned(),
        b'C' => format!("C {}", cstr(body)),
        b'Z' => format!("Z {}", body[0] as char),
        b'1' => "ParseComplete".to_owned(),
        b'2' => "BindComplete".to_owned(),
        b'3' => "CloseComplete".to_owned(),
        b'n' => "NoData".to_owned(),
        b't' => "ParameterDescription".to_owned(),
        b'D' => format!("D {}", body[0] as char),
        other => format!("{}", other as char),
    }
}
