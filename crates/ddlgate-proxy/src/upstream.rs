//! Connecting to the upstream server: TCP, then TLS negotiated with an SSLRequest according to
//! the route's mode ([SSL Session Encryption](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL)).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ddlgate_config::{Upstream, UpstreamTlsMode};
use rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::stream::Stream;
use crate::{tls, ProxyError};

/// A configured upstream with its TLS settings prepared once.
#[derive(Clone)]
pub struct Route {
    /// The configuration entry.
    pub upstream: Upstream,
    tls: Option<Arc<ClientConfig>>,
}

impl Route {
    /// Prepares the TLS configuration of an upstream entry.
    pub fn new(upstream: Upstream) -> Result<Self, ProxyError> {
        let tls = match upstream.tls {
            UpstreamTlsMode::Disable => None,
            UpstreamTlsMode::Prefer | UpstreamTlsMode::Require => {
                Some(tls::client_config(false, None)?)
            }
            UpstreamTlsMode::VerifyFull => {
                Some(tls::client_config(true, upstream.root_cert.as_deref())?)
            }
        };
        if tls.is_some() {
            tls::server_name(&upstream.host)?;
        }
        Ok(Self { upstream, tls })
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.upstream.host, self.upstream.port)
    }

    /// Opens a connection, encrypted as the mode requires.
    /// Counted in `ddlgate_server_connections_total`, or `…_failed_total{reason}`.
    pub async fn connect(&self) -> Result<Stream, ProxyError> {
        let timeout = Duration::from_secs(self.upstream.connect_timeout_secs);
        let metrics = crate::metrics::global();
        let connected = match tokio::time::timeout(timeout, self.connect_inner()).await {
            Ok(connected) => connected,
            Err(_) => {
                metrics.server_failed("timeout");
                return Err(ProxyError::UpstreamConnect {
                    addr: self.addr(),
                    reason: "timed out".into(),
                });
            }
        };
        match &connected {
            Ok(_) => {
                metrics.server_connections.inc();
            }
            Err(ProxyError::UpstreamTls { .. }) => metrics.server_failed("tls"),
            Err(_) => metrics.server_failed("connect"),
        };
        connected
    }

    async fn connect_inner(&self) -> Result<Stream, ProxyError> {
        let addr = self.addr();
        let mut tcp = TcpStream::connect((self.upstream.host.as_str(), self.upstream.port))
            .await
            .map_err(|e| ProxyError::UpstreamConnect {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
        tcp.set_nodelay(true)?;
        let Some(config) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let mut req = BytesMut::new();
        ddlgate_wire::startup::encode_ssl_request(&mut req);
        tcp.write_all(&req).await?;
        match tcp.read_u8().await? {
            b'S' => {
                let name = tls::server_name(&self.upstream.host)?;
                let tls = TlsConnector::from(config.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ProxyError::UpstreamTls {
                        addr,
                        reason: e.to_string(),
                    })?;
                Ok(Stream::ClientTls(Box::new(tls)))
            }
            b'N' if self.upstream.tls == UpstreamTlsMode::Prefer => Ok(Stream::Plain(tcp)),
            b'N' => Err(ProxyError::UpstreamTls {
                addr,
                reason: "server does not support SSL".into(),
            }),
            other => Err(ProxyError::UpstreamTls {
                addr,
                reason: format!("unexpected SSL response byte {other:#04x}"),
            }),
        }
    }
}
