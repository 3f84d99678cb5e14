//! The connection the gate runs statements on while it owns the session: the session's own
//! upstream connection and client writer ([`Owned`]) in production, a scripted fake in the
//! gate's unit tests.

use std::future::Future;

use bytes::{Bytes, BytesMut};
use ddlgate_wire::encode;

use crate::exec::conn::Relayed;
use crate::exec::{Owned, PlanConn, ServerError};
use crate::ProxyError;

/// What the gate does on the connection it owns, beyond what plans need ([`PlanConn`]).
pub trait GateConn: PlanConn {
    /// Runs the client's own statement text and relays every response but the final
    /// ReadyForQuery to the client.
    fn relay_query(&mut self, sql: &[u8]) -> impl Future<Output = Result<Relayed, ProxyError>>;

    /// Ends the client's open extended-protocol batch with a `Sync` of the gateway's own and
    /// relays the responses so far (not the ReadyForQuery).
    fn sync_early(&mut self) -> impl Future<Output = Result<Relayed, ProxyError>>;

    /// Sends raw bytes to the server.
    fn send_server(&mut self, bytes: &[u8]) -> impl Future<Output = Result<(), ProxyError>>;

    /// Sends raw bytes to the client.
    fn send_client(&mut self, bytes: &[u8]) -> impl Future<Output = Result<(), ProxyError>>;

    /// The ParameterStatus messages the server sent since the last call (already relayed to
    /// the client), for the session's state to follow.
    fn take_reported(&mut self) -> Vec<Bytes>;
}

impl GateConn for Owned<'_> {
    async fn relay_query(&mut self, sql: &[u8]) -> Result<Relayed, ProxyError> {
        Owned::relay_query(self, sql).await
    }

    async fn sync_early(&mut self) -> Result<Relayed, ProxyError> {
        Owned::sync_early(self).await
    }

    async fn send_server(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        Owned::send_server(self, bytes).await
    }

    async fn send_client(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        Owned::send_client(self, bytes).await
    }

    fn take_reported(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.reported)
    }
}

/// Applies what the server reported while the gate owned the connection to the session (the
/// server pump, paused, did not see it). Returns how statements are now tokenized.
pub fn follow_reported(
    conn: &mut impl GateConn,
    session: &std::sync::Mutex<ddlgate_session::Session>,
) -> ddlgate_ddl::client_text::Lexing {
    let mut s = crate::sync::lock(session);
    for frame in conn.take_reported() {
        // A malformed ParameterStatus was relayed as the server sent it; nothing to follow.
        let _ = s.on_server_frame(&frame);
    }
    super::lexing(&s)
}

/// How a statement the gateway ran for the client ended.
#[derive(Clone, Debug)]
pub enum Ran {
    /// Success, with this command tag.
    Ok(String),
    /// Failed with this error (to relay).
    Err(ServerError),
}

impl Ran {
    /// Whether it succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok(_))
    }
}

/// Sends the client what a statement the gateway ran ended with: its CommandComplete, or the
/// server's error. Returns whether it succeeded.
pub async fn deliver(conn: &mut impl GateConn, ran: &Ran) -> Result<bool, ProxyError> {
    match ran {
        Ran::Ok(tag) => {
            conn.send_client(&command_complete(tag)).await?;
            Ok(true)
        }
        Ran::Err(e) => {
            conn.send_client(&e.frame).await?;
            Ok(false)
        }
    }
}

/// A CommandComplete message.
pub fn command_complete(tag: &str) -> BytesMut {
    let mut b = BytesMut::new();
    encode::command_complete(tag, &mut b);
    b
}
