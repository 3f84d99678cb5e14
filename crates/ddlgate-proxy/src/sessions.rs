//! The live sessions, for the admin API: who, where from, since when, in which transaction
//! state, the last statement the gate decided (redacted), and a way to close one. A session
//! is listed from authentication to its end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use dashmap::DashMap;
use ddlgate_session::Session;
use ddlgate_wire::TransactionStatus;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::enforce::SessionInfo;
use crate::traffic::{Traffic, TrafficView};

/// One live session.
pub struct Live {
    info: SessionInfo,
    since: SystemTime,
    stop: CancellationToken,
    closed_by_admin: AtomicBool,
    session: OnceLock<Weak<Mutex<Session>>>,
    last_statement: Mutex<Option<String>>,
    traffic: Arc<Traffic>,
}

impl Live {
    /// Attaches the session's protocol state (read when the session is listed).
    pub fn attach(&self, session: &Arc<Mutex<Session>>) {
        let _ = self.session.set(Arc::downgrade(session));
    }

    fn status(&self) -> TransactionStatus {
        self.session
            .get()
            .and_then(Weak::upgrade)
            .map_or(TransactionStatus::Idle, |s| {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .transaction_status()
            })
    }

    /// Records the last statement the gate decided (already redacted).
    pub fn set_statement(&self, sql: &str) {
        *self
            .last_statement
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(sql.to_owned());
    }

    /// Whether an administrator closed it.
    pub fn closed_by_admin(&self) -> bool {
        self.closed_by_admin.load(Ordering::Relaxed)
    }

    /// What the session relayed (counted by its relay).
    pub fn traffic(&self) -> &Arc<Traffic> {
        &self.traffic
    }

    /// The token that ends the session when cancelled.
    pub fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

/// A session as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// Gateway session id.
    pub id: u64,
    /// Client address.
    pub client: String,
    /// Login role (from the startup packet, verified by the server's authentication).
    pub user: String,
    /// Database, as the client named it.
    pub database: String,
    /// `application_name` from the startup packet.
    pub application_name: String,
    /// `idle`, `in-transaction` or `failed-transaction`.
    pub state: &'static str,
    /// The last statement the gate decided (DDL), redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_statement: Option<String>,
    /// When it began, RFC 3339 UTC.
    pub since: String,
    /// Bytes and messages relayed each way so far.
    #[serde(flatten)]
    pub traffic: TrafficView,
}

/// The registry.
#[derive(Default)]
pub struct Sessions {
    live: DashMap<u64, Arc<Live>>,
    /// What the sessions that have ended relayed.
    ended: Traffic,
}

/// Removes its session from the registry when dropped.
pub struct Registered<'a> {
    sessions: &'a Sessions,
    /// The session.
    pub live: Arc<Live>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        // Removed first, then counted as ended: a scrape in between sees a little less, never
        // the same bytes twice (the metrics' counters only catch up).
        self.sessions.live.remove(&self.live.info.session);
        self.sessions.ended.absorb(self.live.traffic.view());
    }
}

impl Sessions {
    /// Registers a session that ends when `stop` (a child of the gateway's) is cancelled.
    pub fn register(&self, info: &SessionInfo, stop: CancellationToken) -> Registered<'_> {
        let live = Arc::new(Live {
            info: info.clone(),
            since: SystemTime::now(),
            stop,
            closed_by_admin: AtomicBool::new(false),
            session: OnceLock::new(),
            last_statement: Mutex::new(None),
            traffic: Arc::default(),
        });
        self.live.insert(info.session, live.clone());
        Registered {
            sessions: self,
            live,
        }
    }

    /// The live sessions, by id.
    pub fn list(&self) -> Vec<SessionView> {
        let mut out: Vec<SessionView> = self
            .live
            .iter()
            .map(|e| {
                let l = e.value();
                SessionView {
                    id: l.info.session,
                    client: l.info.client.to_string(),
                    user: l.info.user.clone(),
                    database: l.info.database.clone(),
                    application_name: l.info.application_name.clone(),
                    state: match l.status() {
                        TransactionStatus::InBlock => "in-transaction",
                        TransactionStatus::Failed => "failed-transaction",
                        TransactionStatus::Idle => "idle",
                    },
                    last_statement: l
                        .last_statement
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                    since: humantime::format_rfc3339_seconds(l.since).to_string(),
                    traffic: l.traffic.view(),
                }
            })
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Closes session `id` (the client gets a FATAL 57P01 at a message boundary); whether it
    /// was live.
    pub fn close(&self, id: u64) -> bool {
        let Some(live) = self.live.get(&id).map(|e| e.value().clone()) else {
            return false;
        };
        live.closed_by_admin.store(true, Ordering::Relaxed);
        live.stop.cancel();
        true
    }

    /// What all sessions relayed: the ended ones and the live ones so far.
    pub fn traffic(&self) -> TrafficView {
        let mut total = self.ended.view();
        for e in self.live.iter() {
            total += e.value().traffic.view();
        }
        total
    }

    /// How many are live.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}
