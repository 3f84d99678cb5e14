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
    let mut out = BytesMut::with_capacity(1024);
    let mut guard = None;
    loop {
        let frame = server
            .reader
            .read_frame(&mut server.stream, MAX_SERVER_AUTH_FRAME)
            .await?;
        match BeTag::from_byte(frame[0]) {
            BeTag::Authentication => {
                let request = decode::auth_request(&frame)?;
                match &request {
                    AuthRequest::Sasl(mechs) if mechs.contains(&SCRAM_PLUS) => {
                        let kept: Vec<&[u8]> =
                            mechs.iter().copied().filter(|m| *m != SCRAM_PLUS).collect();
                        if kept.is_empty() {
                            return Err(ProxyError::OnlyChannelBinding);
                        }
                        encode::authentication_sasl(kept, &mut out);
                    }
                    _ => out.extend_from_slice(&frame),
                }
                if request.expects_response() {
                    client.send(&out).await?;
                    out.clear();
                    let reply = client.read_frame(max_client_message).await?;
                    match FeTag::from_byte(reply[0]) {
                        FeTag::Password => {
                            server.stream.write_all(&reply).await?;
                            server.stream.flush().await?;
                        }
                        FeTag::Terminate => return Ok(AuthOutcome::Closed),
                        _ => {
                            return Err(ProxyError::Unexpected {
                                phase: "authentication",
                                tag: reply[0],
                            })
                        }
                    }
                }
            }
            BeTag::BackendKeyData => {
                let (pid, secret) = decode::backend_key(&frame)?;
                let g = cancels.register(
                    route.clone(),
                    CancelRequest {
                        pid,
                        secret: bytes::Bytes::copy_from_slice(secret),
                    },
                    interrupt.clone(),
                );
                encode::backend_key_data(g.key().pid, &g.key().secret, &mut out);
                guard = Some(g);
            }
            BeTag::ReadyForQuery => {
                session.on_server_frame(&frame)?;
                out.extend_from_slice(&frame);
                client.send(&out).await?;
                return Ok(AuthOutcome::Ready(guard));
            }
            BeTag::ErrorResponse => {
                out.extend_from_slice(&frame);
                client.send(&out).await?;
                return Ok(AuthOutcome::Closed);
            }
            BeTag::ParameterStatus => {
                session.on_server_frame(&frame)?;
                out.extend_from_slice(&frame);
            }
            _ => out.extend_from_slice(&frame),
        }
    }
}
