//! Authentication passthrough: the client authenticates against the real server through the
//! gateway ([Authentication Message Flow](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP)).
//! The gateway relays the exchange untouched except for two messages:
//!
//! * AuthenticationSASL: `SCRAM-SHA-256-PLUS` is removed from the offered mechanisms, because
//!   channel binding ties the exchange to one TLS connection and the gateway joins two;
//! * BackendKeyData: replaced by the gateway's own key (see [`crate::cancel`]).
//!
//! Server messages are batched and flushed whenever the client has to act.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::BytesMut;
use ddlgate_session::Session;
use ddlgate_wire::decode::{self, AuthRequest};
use ddlgate_wire::startup::CancelRequest;
use ddlgate_wire::{encode, BeTag, FeTag};
use tokio::io::AsyncWriteExt;

use crate::cancel::{CancelGuard, CancelMap};
use crate::io::FrameReader;
use crate::startup::ClientConn;
use crate::stream::Stream;
use crate::upstream::Route;
use crate::ProxyError;

const SCRAM_PLUS: &[u8] = b"SCRAM-SHA-256-PLUS";
/// Largest authentication-phase message accepted from the server.
const MAX_SERVER_AUTH_FRAME: usize = 1 << 20;

/// How authentication ended.
pub enum AuthOutcome {
    /// The server sent ReadyForQuery: the session is live.
    Ready(Option<CancelGuard>),
    /// The server refused (its ErrorResponse was relayed) or the client left.
    Closed,
}

/// The server side of the connection during authentication.
pub struct ServerConn {
    /// Socket.
    pub stream: Stream,
    /// Bytes read ahead.
    pub reader: FrameReader,
}

/// Relays authentication until ReadyForQuery.
pub async fn relay_authentication(
    client: &mut ClientConn,
    server: &mut ServerConn,
    session: &mut Session,
    cancels: &Arc<CancelMap>,
    route: &Arc<Route>,
    max_client_message: usize,
    interrupt: &Arc<AtomicBool>,
) -> Result<AuthOutcome, ProxyError> {
    let mut x = Exchange {
        client,
        server,
        out: BytesMut::with_capacity(1024),
        max_client_message,
        cancels,
        route,
        interrupt,
    };
    let mut guard = None;
    loop {
        let frame = x
            .server
            .reader
            .read_frame(&mut x.server.stream, MAX_SERVER_AUTH_FRAME)
            .await?;
        match BeTag::from_byte(frame[0]) {
            BeTag::Authentication => {
                if !x.relay_request(&frame).await? {
                    return Ok(AuthOutcome::Closed);
                }
            }
            BeTag::BackendKeyData => guard = Some(x.swap_backend_key(&frame)?),
            BeTag::ReadyForQuery => {
                session.on_server_frame(&frame)?;
                x.out.extend_from_slice(&frame);
                x.client.send(&x.out).await?;
                return Ok(AuthOutcome::Ready(guard));
            }
            BeTag::ErrorResponse => {
                x.out.extend_from_slice(&frame);
                x.client.send(&x.out).await?;
                return Ok(AuthOutcome::Closed);
            }
            BeTag::ParameterStatus => {
                session.on_server_frame(&frame)?;
                x.out.extend_from_slice(&frame);
            }
            _ => x.out.extend_from_slice(&frame),
        }
    }
}

/// Both sides of the authentication exchange, and the server messages not yet flushed to the
/// client.
struct Exchange<'a> {
    client: &'a mut ClientConn,
    server: &'a mut ServerConn,
    /// Server messages batched for the client.
    out: BytesMut,
    max_client_message: usize,
    /// Where the server's cancel key is registered.
    cancels: &'a Arc<CancelMap>,
    route: &'a Arc<Route>,
    /// Set by the cancel map when the client sends a CancelRequest.
    interrupt: &'a Arc<AtomicBool>,
}

impl Exchange<'_> {
    /// Registers the server's BackendKeyData in the cancel map and gives the client the
    /// gateway's own key instead.
    fn swap_backend_key(&mut self, frame: &[u8]) -> Result<CancelGuard, ProxyError> {
        let (pid, secret) = decode::backend_key(frame)?;
        let g = self.cancels.register(
            self.route.clone(),
            CancelRequest {
                pid,
                secret: bytes::Bytes::copy_from_slice(secret),
            },
            self.interrupt.clone(),
        );
        encode::backend_key_data(g.key().pid, &g.key().secret, &mut self.out);
        Ok(g)
    }

    /// Passes an authentication request on to the client (without `SCRAM-SHA-256-PLUS`) and,
    /// when the server expects a response, relays the client's. Returns false when the client
    /// terminated instead of answering.
    async fn relay_request(&mut self, frame: &[u8]) -> Result<bool, ProxyError> {
        let request = decode::auth_request(frame)?;
        match &request {
            AuthRequest::Sasl(mechs) if mechs.contains(&SCRAM_PLUS) => {
                let kept: Vec<&[u8]> = mechs.iter().copied().filter(|m| *m != SCRAM_PLUS).collect();
                if kept.is_empty() {
                    return Err(ProxyError::OnlyChannelBinding);
                }
                encode::authentication_sasl(kept, &mut self.out);
            }
            _ => self.out.extend_from_slice(frame),
        }
        if !request.expects_response() {
            return Ok(true);
        }
        self.client.send(&self.out).await?;
        self.out.clear();
        let reply = self.client.read_frame(self.max_client_message).await?;
        match FeTag::from_byte(reply[0]) {
            FeTag::Password => {
                self.server.stream.write_all(&reply).await?;
                self.server.stream.flush().await?;
                Ok(true)
            }
            FeTag::Terminate => Ok(false),
            _ => Err(ProxyError::Unexpected {
                phase: "authentication",
                tag: reply[0],
            }),
        }
    }
}
