//! The gateway's shared state: configuration, routes, TLS acceptor, live cancel keys, the
//! enforcer, durable jobs and the fast relay. Sessions (`connection`) and the accept
//! loop (`server`) both use it; it uses neither.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
    pub(crate) tls_acceptor: Option<TlsAcceptor>,
    pub(crate) cancels: Arc<CancelMap>,
    pub(crate) enforcer: crate::enforce::Enforcer,
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
        let tls_acceptor = match (
            &config.client_tls.mode,
            &config.client_tls.cert,
            &config.client_tls.key,
        ) {
            (ClientTlsMode::Disable, _, _) => None,
            (_, Some(cert), Some(key)) => Some(TlsAcceptor::from(tls::server_config(cert, key)?)),
            _ => {
                return Err(ProxyError::TlsConfig(
                    "client_tls needs cert and key".into(),
                ))
            }
        };
        let fast = match config.listen.fast_relay_threads {
            0 => None,
            n => Some(crate::relay::FastRelay::start(n)?),
        };
        Ok(Arc::new(Self {
            fast,
            jobs: crate::jobs::Jobs::new(&config).map(Arc::new),
            guard: crate::guard::Guard::new(&config).map(Arc::new),
            enforcer: crate::enforce::Enforcer::new(config.policy.clone()),
            connections: Arc::new(Semaphore::new(config.listen.max_connections)),
            config,
            routes,
            tls_acceptor,
            cancels: Arc::new(CancelMap::new()),
            next_session: AtomicU64::new(1),
        }))
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
}
