//! Connections as the control role, and plans run on them (background jobs).

use ddlgate_config::{Control, Upstream, UpstreamTlsMode};
use ddlgate_wire::encode::Notice;
use ddlgate_wire::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::JobError;
use crate::exec::{PlanConn, QueryResult, ServerError};
use crate::ProxyError;

/// Connects to `database` on `upstream` as the control role.
pub async fn connect(
    upstream: &Upstream,
    control: &Control,
    database: &str,
) -> Result<Client, JobError> {
    let user = control.user.as_deref().ok_or(JobError::NotConfigured)?;
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&upstream.host)
        .port(upstream.port)
        .user(user)
        .dbname(upstream.dbname.as_deref().unwrap_or(database))
        .application_name("ddlgate-control")
        .connect_timeout(std::time::Duration::from_secs(
            upstream.connect_timeout_secs,
        ));
    if let Some(pw) = control.resolved_password() {
        cfg.password(pw);
    }
    let client = match upstream.tls {
        UpstreamTlsMode::Disable => {
            let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "control connection ended");
                }
            });
            client
        }
        mode => {
            cfg.ssl_mode(match mode {
                UpstreamTlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
            let tls = crate::tls::client_config(
                mode == UpstreamTlsMode::VerifyFull,
                upstream.root_cert.as_deref(),
            )
            .map_err(|e| JobError::Connect(e.to_string()))?;
            let make = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
            let (client, conn) = cfg.connect(make).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "control connection ended");
                }
            });
            client
        }
    };
    Ok(client)
}

/// Connects with a libpq-style URL or key=value string (`ddlgate lint --database-url`):
/// `sslmode=disable` in plain text, otherwise over TLS, verifying the server's certificate
/// against the system roots only for `sslmode=verify-full` (as libpq's `require` does not).
pub async fn connect_url(url: &str) -> Result<Client, JobError> {
    let verify = url.contains("sslmode=verify-full");
    // tokio-postgres knows disable, prefer and require: verify-full is require, verified.
    let cfg: tokio_postgres::Config = url
        .replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
        .parse()
        .map_err(|e: tokio_postgres::Error| JobError::Connect(e.to_string()))?;
    let client = if cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
    } else {
        let tls = crate::tls::client_config(verify, None)
            .map_err(|e| JobError::Connect(e.to_string()))?;
        let make = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
        let (client, conn) = cfg.connect(make).await?;
        tokio::spawn(conn);
        client
    };
    Ok(client)
}

/// A plan connection over a control-role client; notices go to the log.
pub struct ControlConn<'a> {
    /// The client.
    pub client: &'a Client,
    /// Job id, for log lines.
    pub job: i64,
}

fn server_error(e: &tokio_postgres::Error) -> ServerError {
    let (code, message) = match e.as_db_error() {
        Some(db) => (
            SqlState::from_code(db.code().code().as_bytes()).unwrap_or(SqlState::InternalError),
            db.message().to_owned(),
        ),
        None => (SqlState::ConnectionFailure, e.to_string()),
    };
    let n = Notice::new(ddlgate_wire::encode::Severity::Error, code, message.clone());
    let mut b = bytes::BytesMut::new();
    n.encode_error(&mut b);
    ServerError {
        code,
        message,
        frame: b.freeze(),
    }
}

impl PlanConn for ControlConn<'_> {
    async fn query(&mut self, sql: &str) -> Result<QueryResult, ProxyError> {
        let mut out = QueryResult::default();
        match self.client.simple_query(sql).await {
            Ok(msgs) => {
                for m in msgs {
                    match m {
                        SimpleQueryMessage::Row(r) => out
                            .rows
                            .push((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
                        SimpleQueryMessage::CommandComplete(n) => out.tags.push(n.to_string()),
                        _ => {}
                    }
                }
            }
            Err(e) if e.as_db_error().is_some() => out.error = Some(server_error(&e)),
            Err(e) => return Err(ProxyError::Io(std::io::Error::other(e.to_string()))),
        }
        Ok(out)
    }

    async fn notice(&mut self, notice: &Notice) -> Result<(), ProxyError> {
        tracing::info!(job = self.job, "{}", notice.message);
        Ok(())
    }
}
