//! A scripted fake of the connection the gate owns ([`GateConn`]) and of the client watch
//! ([`Watch`]). The fake simulates PostgreSQL's transaction status for the SQL it receives
//! (BEGIN, COMMIT, ROLLBACK, savepoints, failed blocks), fails statements as scripted, answers
//! scripted rows, and logs every event in order so tests can assert exact sequences.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use ddlgate_ddl::ir::{Stmt, TxCommand};
use ddlgate_ddl::session::SavepointCommand;
use ddlgate_wire::encode::{self, Notice, Severity};
use ddlgate_wire::{decode, FeTag, SqlState, TransactionStatus};

use crate::exec::conn::Relayed;
use crate::exec::{PlanConn, QueryResult, ServerError, Watch};
use crate::gate::conn::GateConn;
use crate::ProxyError;

/// One thing that happened on the fake connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A query the gateway ran for itself ([`PlanConn::query`]).
    Query(String),
    /// The client's statement text, run and relayed ([`GateConn::relay_query`]).
    Relayed(String),
    /// Raw bytes the gate sent the server ([`GateConn::send_server`]).
    ToServer(Vec<u8>),
    /// Raw bytes sent to the client (by the gate, or relayed responses).
    ToClient(Vec<u8>),
    /// A notice for the client ([`PlanConn::notice`]).
    Notice(Notice),
    /// The gateway ended the client's batch early ([`GateConn::sync_early`]).
    SyncEarly,
    /// A client frame the relay forwarded as it is (the harness's relay, not the gate).
    Passed(Vec<u8>),
}

/// A scripted failure: statements containing `needle` fail with `code`.
struct Failure {
    needle: String,
    code: SqlState,
    message: String,
    /// How many more times it fires (`None`: always).
    left: Option<u32>,
}

/// Builds the server error the fake answers with.
pub fn server_error(code: SqlState, message: &str) -> ServerError {
    let mut b = BytesMut::new();
    Notice::new(Severity::Error, code, message).encode_error(&mut b);
    ServerError {
        code,
        message: message.to_owned(),
        frame: b.freeze(),
    }
}

/// The scripted connection.
pub struct FakeConn {
    /// The simulated server's transaction status.
    pub status: TransactionStatus,
    /// Everything that happened, in order.
    pub log: Vec<Event>,
    failures: Vec<Failure>,
    rows: Vec<(String, Vec<Vec<Option<String>>>)>,
    /// What the next [`GateConn::sync_early`] answers with (an error fails the block).
    pub sync_early_error: Option<ServerError>,
    /// Extended-protocol statements (name → text) and portals (name → text) the server holds.
    statements: HashMap<Vec<u8>, String>,
    portals: HashMap<Vec<u8>, String>,
    /// Whether the current extended batch failed (the server skips to Sync).
    batch_failed: bool,
    /// ReadyForQuery statuses the server sent to the client through the relay (for frames the
    /// server received directly): the harness feeds them to the session.
    pub ready: Vec<TransactionStatus>,
    /// ParameterStatus messages not yet taken by the gate (`SET standard_conforming_strings`
    /// and `SET client_encoding` report one).
    pub reported: Vec<bytes::Bytes>,
}

impl Default for FakeConn {
    fn default() -> Self {
        Self {
            status: TransactionStatus::Idle,
            log: Vec::new(),
            failures: Vec::new(),
            rows: Vec::new(),
            sync_early_error: None,
            statements: HashMap::new(),
            portals: HashMap::new(),
            batch_failed: false,
            ready: Vec::new(),
            reported: Vec::new(),
        }
    }
}

/// What the fake server did with one SQL text.
struct Sim {
    rows: Vec<Vec<Option<String>>>,
    tags: Vec<String>,
    error: Option<ServerError>,
}

impl FakeConn {
    /// Statements containing `needle` fail with `code` and `message` (always).
    pub fn fail_on(&mut self, needle: &str, code: SqlState, message: &str) {
        self.failures.push(Failure {
            needle: needle.to_owned(),
            code,
            message: message.to_owned(),
            left: None,
        });
    }

    /// Statements containing `needle` fail the next `times` times, then succeed.
    pub fn fail_times(&mut self, needle: &str, code: SqlState, message: &str, times: u32) {
        self.failures.push(Failure {
            needle: needle.to_owned(),
            code,
            message: message.to_owned(),
            left: Some(times),
        });
    }

    /// Queries containing `needle` return `rows` (the first matching rule wins, before the
    /// defaults).
    pub fn rows_for(&mut self, needle: &str, rows: Vec<Vec<Option<&str>>>) {
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.map(str::to_owned)).collect())
            .collect();
        self.rows.push((needle.to_owned(), rows));
    }

    fn rows_of(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        if let Some((_, rows)) = self.rows.iter().find(|(n, _)| sql.contains(n.as_str())) {
            return rows.clone();
        }
        let one = |v: &str| vec![vec![Some(v.to_owned())]];
        if sql.contains("json_object_agg") {
            // The catalog query: no facts (tables unknown, assumed large).
            Vec::new()
        } else if sql.contains("pg_try_advisory_lock") || sql.contains("pg_advisory_unlock") {
            one("t")
        } else if sql.contains("txid_current") {
            one("4242")
        } else if sql.starts_with(
            "SELECT pg_catalog.current_setting('lock_timeout'), pg_catalog.current_setting('statement_timeout')",
        ) {
            vec![vec![Some("0".to_owned()), Some("0".to_owned())]]
        } else if sql == "SELECT pg_catalog.current_setting('lock_timeout')" {
            one("0")
        } else {
            Vec::new()
        }
    }

    fn scripted_failure(&mut self, sql: &str) -> Option<ServerError> {
        let f = self
            .failures
            .iter_mut()
            .find(|f| sql.contains(f.needle.as_str()) && f.left.is_none_or(|left| left > 0))?;
        if let Some(left) = f.left.as_mut() {
            *left -= 1;
        }
        Some(server_error(f.code, &f.message))
    }

    /// Runs one statement on the simulated server: its tag, or its error.
    fn statement(&mut self, text: &str) -> Result<String, ServerError> {
        use TransactionStatus as T;
        let tx = match ddlgate_ddl::classify(text) {
            ddlgate_ddl::StatementClass::Transaction => Some(ddlgate_ddl::session::parse(text)),
            _ => None,
        };
        let savepoint = tx
            .as_ref()
            .and_then(|_| ddlgate_ddl::session::savepoint(text));
        if self.status == T::Failed {
            return match (&tx, &savepoint) {
                (_, Some(SavepointCommand::RollbackTo(_))) => {
                    self.status = T::InBlock;
                    Ok("ROLLBACK".into())
                }
                (Some(Stmt::Tx(TxCommand::Commit | TxCommand::Rollback)), None) => {
                    self.status = T::Idle;
                    Ok("ROLLBACK".into())
                }
                (Some(Stmt::Tx(TxCommand::CommitAndChain | TxCommand::RollbackAndChain)), None) => {
                    self.status = T::InBlock;
                    Ok("ROLLBACK".into())
                }
                _ => Err(server_error(
                    SqlState::InFailedSqlTransaction,
                    "current transaction is aborted, commands ignored until end of transaction block",
                )),
            };
        }
        if let Some(e) = self.scripted_failure(text).or_else(|| raised(text)) {
            self.status = match (&tx, self.status) {
                // A failed COMMIT ends the block all the same.
                (Some(Stmt::Tx(TxCommand::Commit)), _) => T::Idle,
                (_, T::InBlock) => T::Failed,
                (_, status) => status,
            };
            return Err(e);
        }
        if let Some(cmd) = savepoint {
            return Ok(match cmd {
                SavepointCommand::Set(_) => "SAVEPOINT",
                SavepointCommand::Release(_) => "RELEASE",
                SavepointCommand::RollbackTo(_) => "ROLLBACK",
            }
            .into());
        }
        Ok(match tx {
            Some(Stmt::Tx(TxCommand::Begin)) => {
                self.status = T::InBlock;
                if text.trim_start().to_ascii_lowercase().starts_with("start") {
                    "START TRANSACTION".into()
                } else {
                    "BEGIN".into()
                }
            }
            Some(Stmt::Tx(TxCommand::Commit)) => {
                self.status = T::Idle;
                "COMMIT".into()
            }
            Some(Stmt::Tx(TxCommand::CommitAndChain)) => "COMMIT".into(),
            Some(Stmt::Tx(TxCommand::Rollback)) => {
                self.status = T::Idle;
                "ROLLBACK".into()
            }
            Some(Stmt::Tx(TxCommand::RollbackAndChain)) => "ROLLBACK".into(),
            _ => crate::enforce::command_tag(text),
        })
    }

    /// Runs a simple-query text, statement by statement, stopping at the first error.
    fn simulate(&mut self, sql: &str) -> Sim {
        let mut out = Sim {
            rows: self.rows_of(sql),
            tags: Vec::new(),
            error: None,
        };
        for span in ddlgate_ddl::split(sql).into_iter().filter_map(|s| s.stmt) {
            match self.statement(&sql[span]) {
                Ok(tag) => out.tags.push(tag),
                Err(e) => {
                    out.error = Some(e);
                    out.rows.clear();
                    break;
                }
            }
        }
        out
    }

    /// The simulated server receives a client frame directly (forwarded by the relay or sent
    /// by the gate): its status follows, and a Query or Sync produces a ReadyForQuery for
    /// the harness to feed the session.
    pub fn server_receives(&mut self, frame: &[u8]) {
        match FeTag::from_byte(frame[0]) {
            FeTag::Query => {
                let sql = String::from_utf8_lossy(decode::query_text(frame).expect("query"));
                self.simulate(&sql);
                self.ready.push(self.status);
            }
            FeTag::Parse => {
                let p = decode::parse_msg(frame).expect("parse");
                let sql = String::from_utf8_lossy(p.query).into_owned();
                self.statements.insert(p.statement.to_vec(), sql);
            }
            FeTag::Bind => {
                let (portal, statement) = decode::bind_names(frame).expect("bind");
                let sql = self.statements.get(statement).cloned().unwrap_or_default();
                self.portals.insert(portal.to_vec(), sql);
            }
            FeTag::Execute if !self.batch_failed => {
                let portal = decode::execute_portal(frame).expect("execute");
                let sql = self.portals.get(portal).cloned().unwrap_or_default();
                if self.simulate(&sql).error.is_some() {
                    self.batch_failed = true;
                }
            }
            FeTag::Sync => {
                self.batch_failed = false;
                self.statements.remove(&b""[..]);
                self.portals.clear();
                self.ready.push(self.status);
            }
            _ => {}
        }
    }

    /// The responses [`Owned`](crate::exec::Owned) relays to the client for a statement.
    fn relay_responses(&mut self, sim: &Sim) {
        let mut b = BytesMut::new();
        for tag in &sim.tags {
            encode::command_complete(tag, &mut b);
        }
        if let Some(e) = &sim.error {
            b.extend_from_slice(&e.frame);
        }
        if !b.is_empty() {
            self.log.push(Event::ToClient(b.to_vec()));
        }
    }
}

/// The error a `DO $ddlgate$ … RAISE` substitution makes the server raise.
fn raised(text: &str) -> Option<ServerError> {
    let rest = text.split_once("RAISE EXCEPTION USING ERRCODE = '")?.1;
    let code = SqlState::from_code(rest.get(..5)?.as_bytes())?;
    let message = rest
        .split_once("MESSAGE = U&'")
        .and_then(|(_, m)| m.split_once("',").or_else(|| m.split_once("';")))
        .map_or("raised", |(m, _)| m);
    Some(server_error(code, message))
}

impl PlanConn for FakeConn {
    async fn query(&mut self, sql: &str) -> Result<QueryResult, ProxyError> {
        self.log.push(Event::Query(sql.to_owned()));
        let sim = self.simulate(sql);
        Ok(QueryResult {
            rows: sim.rows,
            tags: sim.tags,
            error: sim.error,
            status: Some(self.status),
        })
    }

    async fn notice(&mut self, notice: &Notice) -> Result<(), ProxyError> {
        self.log.push(Event::Notice(notice.clone()));
        Ok(())
    }
}

impl GateConn for FakeConn {
    async fn relay_query(&mut self, sql: &[u8]) -> Result<Relayed, ProxyError> {
        let sql = String::from_utf8_lossy(sql).into_owned();
        self.log.push(Event::Relayed(sql.clone()));
        self.report_settings(&sql);
        let sim = self.simulate(&sql);
        self.relay_responses(&sim);
        Ok(Relayed {
            error: sim.error,
            status: self.status,
        })
    }

    async fn sync_early(&mut self) -> Result<Relayed, ProxyError> {
        self.log.push(Event::SyncEarly);
        let error = self.sync_early_error.take();
        if let Some(e) = &error {
            self.log.push(Event::ToClient(e.frame.to_vec()));
            if self.status == TransactionStatus::InBlock {
                self.status = TransactionStatus::Failed;
            }
        }
        self.batch_failed = false;
        Ok(Relayed {
            error,
            status: self.status,
        })
    }

    async fn send_server(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        self.log.push(Event::ToServer(bytes.to_vec()));
        self.server_receives(bytes);
        Ok(())
    }

    async fn send_client(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        self.log.push(Event::ToClient(bytes.to_vec()));
        Ok(())
    }

    fn take_reported(&mut self) -> Vec<bytes::Bytes> {
        std::mem::take(&mut self.reported)
    }
}

impl FakeConn {
    /// A `SET` of a reported setting reports its new value, as the server does.
    fn report_settings(&mut self, sql: &str) {
        let lower = sql.to_ascii_lowercase();
        for name in ["standard_conforming_strings", "client_encoding"] {
            let Some(rest) = lower.strip_prefix(&format!("set {name}")) else {
                continue;
            };
            let value = rest
                .trim_start_matches([' ', '=', '\''])
                .trim_start_matches("to ")
                .trim_matches([' ', '\'', ';']);
            let body = format!("{name}\0{value}\0");
            self.reported
                .push(ddlgate_wire::encode::frame(b'S', body.as_bytes()).into());
        }
    }
}

/// A fake client watch: never cancelled unless set; "gone" after `gone_after` checks.
#[derive(Debug, Default)]
pub struct FakeWatch {
    /// Whether the client cancelled.
    pub cancelled: bool,
    /// After this many [`Watch::gone`] checks answering false, it answers true.
    pub gone_after: Option<u32>,
    /// How many times [`Watch::gone`] was asked.
    pub checks: u32,
    /// Progress reports (step, rows).
    pub progress: Vec<(usize, u64)>,
}

impl Watch for FakeWatch {
    fn cancelled(&self) -> bool {
        self.cancelled
    }

    fn gone(&mut self) -> bool {
        self.checks += 1;
        self.cancelled || self.gone_after.is_some_and(|n| self.checks > n)
    }

    fn progress(&mut self, step: usize, rows: u64) {
        self.progress.push((step, rows));
    }
}

/// The client frames of the tests.
pub mod frames {
    use super::*;

    /// A simple Query.
    pub fn query(sql: &str) -> Bytes {
        Bytes::from(encode::query(sql.as_bytes()))
    }

    /// A Parse of `sql` into statement `name`, no parameter types.
    pub fn parse(name: &str, sql: &str) -> Bytes {
        let mut body = Vec::new();
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(sql.as_bytes());
        body.push(0);
        body.extend_from_slice(&0u16.to_be_bytes());
        Bytes::from(encode::frame(b'P', &body))
    }

    /// A Bind of statement `statement` to portal `portal`, no parameters, text results.
    pub fn bind(portal: &str, statement: &str) -> Bytes {
        let mut body = Vec::new();
        body.extend_from_slice(portal.as_bytes());
        body.push(0);
        body.extend_from_slice(statement.as_bytes());
        body.push(0);
        body.extend_from_slice(&0u16.to_be_bytes()); // parameter formats
        body.extend_from_slice(&0u16.to_be_bytes()); // parameters
        body.extend_from_slice(&0u16.to_be_bytes()); // result formats
        Bytes::from(encode::frame(b'B', &body))
    }

    /// An Execute of portal `portal`, all rows.
    pub fn execute(portal: &str) -> Bytes {
        let mut body = Vec::new();
        body.extend_from_slice(portal.as_bytes());
        body.push(0);
        body.extend_from_slice(&0u32.to_be_bytes());
        Bytes::from(encode::frame(b'E', &body))
    }

    /// A Describe of a statement (`S`) or portal (`P`).
    pub fn describe(kind: u8, name: &str) -> Bytes {
        let mut body = vec![kind];
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        Bytes::from(encode::frame(b'D', &body))
    }

    /// A Close of a statement (`S`) or portal (`P`).
    pub fn close(kind: u8, name: &str) -> Bytes {
        let mut body = vec![kind];
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        Bytes::from(encode::frame(b'C', &body))
    }

    /// A Sync.
    pub fn sync() -> Bytes {
        Bytes::from(encode::frame(b'S', b""))
    }

    /// A Flush.
    pub fn flush() -> Bytes {
        Bytes::from(encode::frame(b'H', b""))
    }
}
