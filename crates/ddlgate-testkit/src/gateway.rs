use std::net::SocketAddr;
use std::sync::Arc;

use ddlgate_config::{ClientTls, ClientTlsMode, Config, Upstream, UpstreamTlsMode};
use ddlgate_proxy::{Gateway, ProxyError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{CertSet, Pg, Role};

/// How to set up a test gateway.
pub struct GatewayOptions {
    /// Upstream TLS mode.
    pub upstream_tls: UpstreamTlsMode,
    /// CA for `verify-full`.
    pub upstream_root: Option<std::path::PathBuf>,
    /// Client TLS mode and certificate.
    pub client_tls: Option<(ClientTlsMode, &'static CertSet)>,
    /// Tweaks applied last.
    pub tweak: Box<dyn FnOnce(&mut Config) + Send>,
}

impl GatewayOptions {
    /// The defaults with `tweak` applied to the configuration last.
    pub fn tweaked(tweak: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        Self {
            tweak: Box::new(tweak),
            ..Default::default()
        }
    }
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            upstream_tls: UpstreamTlsMode::Disable,
            upstream_root: None,
            client_tls: None,
            tweak: Box::new(|_| {}),
        }
    }
}

/// A gateway running in this process on a free loopback port.
pub struct GatewayHandle {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// The gateway (for introspection).
    pub gateway: Arc<Gateway>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ProxyError>>>,
}

impl GatewayHandle {
    /// Starts a gateway routing every database to `pg`.
    pub async fn start(pg: &Pg, opts: GatewayOptions) -> Self {
        let mut upstream = Upstream::new("127.0.0.1", pg.port());
        upstream.tls = opts.upstream_tls;
        upstream.root_cert = opts.upstream_root;
        let mut config = Config {
            listen: Default::default(),
            client_tls: Default::default(),
            databases: [("*".to_owned(), upstream)].into_iter().collect(),
            log: Default::default(),
            policy: Default::default(),
            control: Default::default(),
            guard: Default::default(),
            admin: Default::default(),
        };
        config.listen.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.listen.shutdown_timeout_secs = 5;
        if let Some((mode, certs)) = opts.client_tls {
            config.client_tls = ClientTls {
                mode,
                cert: Some(certs.cert.clone()),
                key: Some(certs.key.clone()),
            };
        }
        (opts.tweak)(&mut config);
        config.validate().expect("valid test config");
        Self::start_with(config).await
    }

    /// Starts a gateway with a complete configuration (its listen address is replaced by a
    /// free port).
    pub async fn start_with(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gateway = Gateway::new(Arc::new(config)).expect("gateway");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.clone().serve(listener, async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            gateway,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// URL of `db` through the gateway, as `role`.
    pub fn url(&self, role: Role, db: &str) -> String {
        let pw = if role.password.is_empty() {
            String::new()
        } else {
            format!(":{}", role.password)
        };
        format!(
            "postgres://{}{pw}@127.0.0.1:{}/{db}?sslmode=disable",
            role.name,
            self.addr.port()
        )
    }

    /// Signals shutdown and waits for the drain to finish.
    pub async fn shutdown(mut self) -> Result<(), ProxyError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("gateway task"),
            None => Ok(()),
        }
    }
}

impl Drop for GatewayHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
