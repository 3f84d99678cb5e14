//! Taking the session's connection over from the server pump, for the gate or the fast relay.

use bytes::BytesMut;
use tokio::sync::oneshot;

use super::{lock, Ctl, Lent, Paused, Shared};
use crate::stream::{Halves, ReadHalf, WriteHalf};
use crate::ProxyError;

/// The server pump's halves, held while the client pump owns the connection; dropping it
/// gives them back and the server pump goes on (also when the owner failed: the session then
/// ends anyway).
pub struct Takeover {
    lent: Option<Lent>,
    resume: Option<oneshot::Sender<Lent>>,
}

impl Takeover {
    /// Waits until every request sent so far has been answered, then takes the connection.
    pub async fn begin(shared: &Shared<'_>) -> Result<Self, ProxyError> {
        let session = shared.session;
        shared
            .ready
            .wait_until(|| lock(session).in_flight() == 0)
            .await;
        Self::pause(shared).await
    }

    /// Asks the server pump to hand over its halves at the next message boundary.
    pub async fn pause(shared: &Shared<'_>) -> Result<Self, ProxyError> {
        let (tx, rx) = oneshot::channel();
        shared
            .request(Ctl::Pause(tx))
            .map_err(|_| ProxyError::ServerGone)?;
        let Paused { lent, resume } = rx.await.map_err(|_| ProxyError::ServerGone)?;
        Ok(Self {
            lent: Some(lent),
            resume: Some(resume),
        })
    }

    /// The whole connection, with the client pump's own halves.
    pub fn halves<'a>(
        &'a mut self,
        client_r: &'a mut ReadHalf,
        client_buf: &'a mut BytesMut,
        server_w: &'a mut WriteHalf,
    ) -> Option<Halves<'a>> {
        let lent = self.lent.as_mut()?;
        Some(Halves {
            client_r,
            client_buf,
            server_w,
            server_r: &mut lent.server_r,
            server_buf: &mut lent.server_buf,
            client_w: &mut lent.client_w,
        })
    }

    /// The halves and the way back, for an owner that gives them back itself.
    pub fn into_parts(mut self) -> Option<(Lent, oneshot::Sender<Lent>)> {
        Some((self.lent.take()?, self.resume.take()?))
    }
}

impl Drop for Takeover {
    fn drop(&mut self) {
        if let (Some(lent), Some(resume)) = (self.lent.take(), self.resume.take()) {
            let _ = resume.send(lent);
        }
    }
}
