//! The gateway's shared state: configuration, routes, TLS acceptor, live cancel keys, the
//! enforcer, durable jobs and the fast relay. Sessions (`connection`) and the accept
//! loop (`server`) both use it; it uses neither.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use ddlgate_config::{ClientTlsMode, Config};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::cancel::CancelMap;
use crate::upstream::Route;
use crate::{tls, ProxyError};

/// Shared, immutable gateway state plus the live cancel keys.
pub struct Gateway {
    pub(crate) config: Arc<Config>,
    routes: BTreeMap<String, Arc<Route>>,
    /// TLS toward clients (its certificate is read again by a reload).
    pub(crate) tls_acceptor: arc_swap::ArcSwapOption<TlsAcceptor>,
    pub(crate) cancels: Arc<CancelMap>,
    /// The policy now in force (swapped whole by a reload).
    pub(crate) enforcer: ArcSwap<crate::enforce::Enforcer>,
    /// The live sessions (admin API).
    pub(crate) sessions: crate::sessions::Sessions,
    /// Set once shutdown has begun.
    pub(crate) draining: AtomicBool,
    /// Sessions allowed at once.
    pub(crate) connections: Arc<Semaphore>,
    next_session: AtomicU64,
    /// Durable jobs, when a control role is configured.
    pub(crate) jobs: Option<Arc<crate::jobs::Jobs>>,
    /// The fast relay, unless turned off.
    pub(crate) fast: Option<crate::relay::FastRelay>,
    /// The database-side guard, when enabled.
    pub(crate) guard: Option<Arc<crate::guard::Guard>>,
}

impl Gateway {
    /// Prepares routes and TLS from a validated configuration.
    pub fn new(config: Arc<Config>) -> Result<Arc<Self>, ProxyError> {
        let routes = config
            .databases
            .iter()
            .map(|(name, up)| Ok((name.clone(), Arc::new(Route::new(up.clone())?))))
            .collect::<Result<_, ProxyError>>()?;
        let tls_acceptor = arc_swap::ArcSwapOption::new(client_acceptor(&config)?.map(Arc::new));
        let fast = match config.listen.fast_relay_threads {
            0 => None,
            n => Some(crate::relay::FastRelay::start(n)?),
        };
        let enforcer = crate::enforce::Enforcer::new(config.policy.clone());
        crate::metrics::global().set_policy_version(&enforcer.version);
        Ok(Arc::new(Self {
            fast,
            jobs: crate::jobs::Jobs::new(&config).map(Arc::new),
            guard: crate::guard::Guard::new(&config).map(Arc::new),
            enforcer: ArcSwap::from_pointee(enforcer),
            sessions: crate::sessions::Sessions::default(),
            draining: AtomicBool::new(false),
            connections: Arc::new(Semaphore::new(config.listen.max_connections)),
            config,
            routes,
            tls_acceptor,
            cancels: Arc::new(CancelMap::new()),
            next_session: AtomicU64::new(1),
        }))
    }

    /// The TLS acceptor for new client connections.
    pub(crate) fn acceptor(&self) -> Option<Arc<TlsAcceptor>> {
        self.tls_acceptor.load_full()
    }

    pub(crate) fn route(&self, database: &str) -> Option<Arc<Route>> {
        self.routes
            .get(database)
            .or_else(|| self.routes.get("*"))
            .cloned()
    }

    pub(crate) fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// What the fast relay has done, when it is on.
    pub fn fast_relay_stats(&self) -> Option<crate::FastRelayStats> {
        self.fast.as_ref().map(|f| f.stats())
    }

    /// Number of sessions holding a cancel key (i.e. past authentication and still open).
    pub fn live_sessions(&self) -> usize {
        self.cancels.len()
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<crate::sessions::SessionView> {
        self.sessions.list()
    }

    /// Closes session `id` with a FATAL 57P01; whether it was live.
    pub fn close_session(&self, id: u64) -> bool {
        self.sessions.close(id)
    }

    /// Whether shutdown has begun.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// The policy now in force.
    pub fn policy(&self) -> Arc<crate::enforce::Enforcer> {
        self.enforcer.load_full()
    }

    /// The metrics, in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        let fast = self.fast_relay_stats().map(|s| (s.lent, s.returned));
        crate::metrics::global().encode(fast, self.sessions.traffic())
    }

    /// The configuration the gateway started with.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }
}

/// The acceptor `config`'s `[client_tls]` asks for (its certificate and key read now).
pub(crate) fn client_acceptor(config: &Config) -> Result<Option<TlsAcceptor>, ProxyError> {
    match (
        &config.client_tls.mode,
        &config.client_tls.cert,
        &config.client_tls.key,
    ) {
        (ClientTlsMode::Disable, _, _) => Ok(None),
        (_, Some(cert), Some(key)) => Ok(Some(TlsAcceptor::from(tls::server_config(cert, key)?))),
        _ => Err(ProxyError::TlsConfig(
            "client_tls needs cert and key".into(),
        )),
    }
}
