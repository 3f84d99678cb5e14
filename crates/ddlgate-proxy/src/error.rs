//! Errors of the proxy layer and their one mapping to what a client is told.

use ddlgate_wire::decode::DecodeError;
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::startup::StartupError;
use ddlgate_wire::{FrameError, SqlState};

/// Why a session (or the gateway) stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Socket error on either side.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Malformed framing from a peer.
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    /// Malformed or unsupported startup packet.
    #[error("startup: {0}")]
    Startup(#[from] StartupError),
    /// A message body that does not follow its format.
    #[error("message: {0}")]
    Decode(#[from] DecodeError),
    /// The client did not finish startup and authentication in time.
    #[error("startup timed out")]
    StartupTimeout,
    /// The client stopped sending in the middle of a message.
    #[error("client stalled mid-message")]
    MessageTimeout,
    /// The client sent a message that is not allowed at this point.
    #[error("unexpected message {tag:#04x} during {phase}")]
    Unexpected {
        /// Phase name.
        phase: &'static str,
        /// Type byte received.
        tag: u8,
    },
    /// The client sent plaintext after asking for TLS in the same packet.
    #[error("unencrypted data after SSL request")]
    DataAfterSslRequest,
    /// The client asked for TLS twice.
    #[error("SSL negotiation repeated")]
    RepeatedSslRequest,
    /// TLS is required but the client did not use it.
    #[error("client TLS required")]
    ClientTlsRequired,
    /// TLS handshake with the client failed.
    #[error("client TLS handshake: {0}")]
    ClientTls(std::io::Error),
    /// StartupMessage without a user.
    #[error("no user name in startup packet")]
    NoUser,
    /// No `[databases]` entry matches.
    #[error("no route for database {0:?}")]
    NoRoute(String),
    /// The upstream server could not be reached.
    #[error("connecting upstream {addr}: {reason}")]
    UpstreamConnect {
        /// host:port (for logs only).
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// TLS with the upstream server failed or was refused.
    #[error("upstream TLS with {addr}: {reason}")]
    UpstreamTls {
        /// host:port (for logs only).
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The server offered only SASL mechanisms that cannot cross the gateway.
    #[error("upstream offers only channel-binding SASL mechanisms")]
    OnlyChannelBinding,
    /// Connection limit reached.
    #[error("too many client connections")]
    TooManyConnections,
    /// The gateway is shutting down.
    #[error("gateway shutting down")]
    ShuttingDown,
    /// An administrator closed the session (admin API).
    #[error("session closed by an administrator")]
    ClosedByAdmin,
    /// The extended-protocol capture was driven out of its contract (a gateway bug).
    #[error("capture: {0}")]
    Capture(String),
    /// TLS configuration could not be loaded.
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// The client went away while the gateway ran a statement for it (work that is a durable
    /// job continues in the background).
    #[error("client went away during the gateway's statement")]
    ClientGone,
    /// The server side of the session ended while the gateway needed it (its pump could not
    /// hand over the connection).
    #[error("server side of the session ended")]
    ServerGone,
    /// The fast relay stopped without giving the session back.
    #[error("fast relay did not return the session")]
    FastRelayGone,
    /// A state the gateway's own code should never reach.
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// What kind of failure ended a session: one fixed-cardinality label for logs and metrics
/// (as Neon's proxy `ErrorKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The client closed or lost its connection.
    ClientDisconnect,
    /// The client broke the protocol, stalled, or was refused (limits, TLS, routing).
    Client,
    /// The upstream server could not be reached, refused, or went away.
    Upstream,
    /// The gateway is stopping.
    Shutdown,
    /// Configuration (TLS material).
    Config,
    /// A bug in the gateway.
    Internal,
}

impl ErrorKind {
    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientDisconnect => "client-disconnect",
            Self::Client => "client",
            Self::Upstream => "upstream",
            Self::Shutdown => "shutdown",
            Self::Config => "config",
            Self::Internal => "internal",
        }
    }
}

impl ProxyError {
    /// Its kind, for logs and metrics.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io(_) | Self::ClientGone => ErrorKind::ClientDisconnect,
            Self::Frame(_)
            | Self::Startup(_)
            | Self::Decode(_)
            | Self::StartupTimeout
            | Self::MessageTimeout
            | Self::Unexpected { .. }
            | Self::DataAfterSslRequest
            | Self::RepeatedSslRequest
            | Self::ClientTlsRequired
            | Self::ClientTls(_)
            | Self::NoUser
            | Self::NoRoute(_)
            | Self::TooManyConnections => ErrorKind::Client,
            Self::UpstreamConnect { .. }
            | Self::UpstreamTls { .. }
            | Self::OnlyChannelBinding
            | Self::ServerGone => ErrorKind::Upstream,
            Self::ShuttingDown | Self::ClosedByAdmin => ErrorKind::Shutdown,
            Self::TlsConfig(_) => ErrorKind::Config,
            Self::Capture(_) | Self::FastRelayGone | Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// What to tell the client before closing, if anything. Never includes host names,
    /// addresses or OS error text.
    pub fn client_notice(&self) -> Option<Notice> {
        let fatal = |code, msg: &str| Some(Notice::new(Severity::Fatal, code, msg));
        match self {
            Self::Io(_)
            | Self::ClientTls(_)
            | Self::TlsConfig(_)
            | Self::ClientGone
            | Self::ServerGone
            | Self::FastRelayGone => None,
            Self::Frame(FrameError::TooLarge { .. }) => fatal(SqlState::ProgramLimitExceeded, "message exceeds ddlgate's size limit"),
            Self::Frame(FrameError::BadLength { .. }) => fatal(SqlState::ProtocolViolation, "invalid message length"),
            Self::Startup(StartupError::UnsupportedProtocol { major, minor }) => Some(
                Notice::new(Severity::Fatal, SqlState::FeatureNotSupported, format!("unsupported frontend protocol {major}.{minor}"))
                    .hint("ddlgate speaks protocol 3.x"),
            ),
            Self::Startup(_) => fatal(SqlState::ProtocolViolation, "invalid startup packet"),
            Self::Decode(e) => fatal(SqlState::ProtocolViolation, &format!("invalid message format: {e}")),
            Self::StartupTimeout => fatal(SqlState::ProtocolViolation, "timeout during startup and authentication"),
            Self::MessageTimeout => fatal(SqlState::ProtocolViolation, "timeout while receiving a message"),
            Self::Unexpected { phase, .. } => fatal(SqlState::ProtocolViolation, &format!("unexpected message during {phase}")),
            Self::DataAfterSslRequest => fatal(SqlState::ProtocolViolation, "received unencrypted data after SSL request"),
            Self::RepeatedSslRequest => fatal(SqlState::ProtocolViolation, "SSL negotiation repeated"),
            Self::ClientTlsRequired => Some(
                Notice::new(Severity::Fatal, SqlState::InvalidAuthorizationSpecification, "ddlgate requires an SSL connection")
                    .hint("connect with sslmode=require"),
            ),
            Self::NoUser => fatal(SqlState::InvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet"),
            Self::NoRoute(db) => fatal(SqlState::InvalidCatalogName, &format!("database \"{db}\" is not configured in ddlgate")),
            Self::UpstreamConnect { .. } | Self::UpstreamTls { .. } => {
                fatal(SqlState::SqlclientUnableToEstablishSqlconnection, "ddlgate could not connect to the upstream server")
            }
            Self::OnlyChannelBinding => Some(
                Notice::new(
                    Severity::Fatal,
                    SqlState::FeatureNotSupported,
                    "the server requires SCRAM channel binding, which cannot pass through a gateway",
                )
                .hint("allow SCRAM-SHA-256 without channel binding for this role"),
            ),
            Self::TooManyConnections => fatal(SqlState::TooManyConnections, "sorry, too many clients already"),
            Self::Internal(_) => fatal(SqlState::InternalError, "ddlgate internal error"),
            Self::Capture(_) => fatal(SqlState::InternalError, "ddlgate internal error while answering an extended-protocol batch"),
            Self::ShuttingDown | Self::ClosedByAdmin => fatal(SqlState::AdminShutdown, "terminating connection due to administrator command"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_errors_do_not_leak_addresses() {
        let e = ProxyError::UpstreamConnect {
            addr: "10.1.2.3:5432".into(),
            reason: "connection refused".into(),
        };
        let n = e.client_notice().expect("told");
        assert!(!n.message.contains("10.1.2.3") && !n.message.contains("refused"));
        assert_eq!(n.code, SqlState::SqlclientUnableToEstablishSqlconnection);
    }

    #[test]
    fn control_flow_ends_are_named_and_not_reported() {
        for (e, kind) in [
            (ProxyError::ClientGone, ErrorKind::ClientDisconnect),
            (ProxyError::ServerGone, ErrorKind::Upstream),
            (ProxyError::FastRelayGone, ErrorKind::Internal),
        ] {
            assert!(e.client_notice().is_none(), "{e}");
            assert_eq!(e.kind(), kind);
        }
        let n = ProxyError::Internal("x").client_notice().expect("told");
        assert!(
            !n.message.contains('x'),
            "internals stay out: {}",
            n.message
        );
        assert_eq!(ErrorKind::ClientDisconnect.as_str(), "client-disconnect");
        assert_eq!(
            serde_json::to_string(&ErrorKind::ClientDisconnect).expect("json"),
            "\"client-disconnect\""
        );
    }

    #[test]
    fn io_errors_are_not_reported() {
        assert!(ProxyError::Io(std::io::ErrorKind::BrokenPipe.into())
            .client_notice()
            .is_none());
    }
}
