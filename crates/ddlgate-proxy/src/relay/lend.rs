//! Lending a quiet session to the fast relay ([`super::fast`]) and taking it back.

use bytes::BytesMut;
use tokio::sync::oneshot;

use super::fast::{FastRelay, Handoff, PlainRelay, Returned};
use super::takeover::Takeover;
use super::{lock, Carried, Lent, Shared};
use crate::gate::GateState;
use crate::stream::{ReadHalf, WriteHalf};
use crate::ProxyError;

/// Client messages a stint on the fast relay must forward to be worth the hand-over; after
/// shorter stints the session waits longer before it is lent again.
const WORTHWHILE: u64 = 256;
/// Reads the async relay serves itself after a short stint: the first wait, and the longest.
const FIRST_WAIT: u32 = 8;
const LONGEST_WAIT: u32 = 4096;

/// How soon a session is lent again. A session that keeps coming straight back (a migration
/// sending DDL after DDL, messages too large or too slow to arrive whole) stays on the async
/// relay for a number of reads that doubles with each short stint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reentry {
    wait: u32,
    next_wait: u32,
}

impl Reentry {
    /// Whether the session may be lent at this read (counts the read when not).
    pub fn due(&mut self) -> bool {
        if self.wait == 0 {
            return true;
        }
        self.wait -= 1;
        false
    }

    /// A stint ended after forwarding `forwarded` client messages.
    pub fn after(&mut self, forwarded: u64) {
        if forwarded >= WORTHWHILE {
            *self = Self::default();
        } else {
            self.next_wait = (self.next_wait * 2).clamp(FIRST_WAIT, LONGEST_WAIT);
            self.wait = self.next_wait;
        }
    }
}

/// What of the client pump a lending touches.
pub struct Lender<'p, 'a> {
    /// Client read half.
    pub src: &'p mut ReadHalf,
    /// Server write half.
    pub dst: &'p mut WriteHalf,
    /// The client pump's read-ahead (empty when lent; filled with what comes back).
    pub buf: &'p mut BytesMut,
    /// Shared with the server pump.
    pub shared: &'p Shared<'a>,
    /// The gate's state (quiet when lent).
    pub state: &'p mut GateState,
    /// When the session may next be lent.
    pub reentry: &'p mut Reentry,
    /// Largest client message.
    pub max_client_message: usize,
}

/// Lends the session to the fast relay and waits for it to come back; then the relay goes
/// on where the fast relay stopped. A session that is not plain TCP after all stays.
pub async fn lend(fast: &FastRelay, l: Lender<'_, '_>) -> Result<(), ProxyError> {
    let (lent, resume) = Takeover::pause(l.shared)
        .await?
        .into_parts()
        .ok_or(ProxyError::ServerGone)?;
    let src = std::mem::replace(l.src, ReadHalf::Empty);
    let dst = std::mem::replace(l.dst, WriteHalf::Sink);
    let (client, server) = match (src, dst, lent.server_r, lent.client_w) {
        (ReadHalf::Tcp(cr), WriteHalf::Tcp(sw), ReadHalf::Tcp(sr), WriteHalf::Tcp(cw)) => {
            let reunite = |e: tokio::net::tcp::ReuniteError| {
                ProxyError::Io(std::io::Error::other(e.to_string()))
            };
            (
                cr.reunite(cw).map_err(reunite)?.into_std()?,
                sr.reunite(sw).map_err(reunite)?.into_std()?,
            )
        }
        (src, dst, server_r, client_w) => {
            *l.src = src;
            *l.dst = dst;
            let _ = resume.send(Lent {
                server_r,
                server_buf: lent.server_buf,
                client_w,
                carried: None,
            });
            return Ok(());
        }
    };
    let relay = PlainRelay {
        session: lock(l.shared.session).clone(),
        gate: std::mem::take(l.state),
    };
    let mut server_buf = lent.server_buf;
    let handoff = Handoff {
        client,
        server,
        server_buf: server_buf.to_vec(),
        relay,
        max_client_message: l.max_client_message,
        traffic: l.shared.traffic.clone(),
    };
    // Lent, the session holds no buffer of its own.
    server_buf.clear();
    super::buffers::give_back(&mut server_buf);
    let mut lease = fast.lend(handoff);
    let back = lease.returned().await.ok_or(ProxyError::FastRelayGone)?;
    // Boxed: a lent session waits above, and should not carry this step's space meanwhile.
    Box::pin(take_back(l, *back, resume)).await
}

async fn take_back(
    l: Lender<'_, '_>,
    back: Returned,
    resume: oneshot::Sender<Lent>,
) -> Result<(), ProxyError> {
    tracing::trace!(why = ?back.why, forwarded = back.forwarded, "back from the fast relay");
    l.reentry.after(back.forwarded);
    *lock(l.shared.session) = back.relay.session;
    *l.state = back.relay.gate;
    let (cr, cw) = tokio::net::TcpStream::from_std(back.client)?.into_split();
    let (sr, sw) = tokio::net::TcpStream::from_std(back.server)?.into_split();
    *l.src = ReadHalf::Tcp(cr);
    *l.dst = WriteHalf::Tcp(sw);
    l.buf.extend_from_slice(&back.client_buf);
    // The server pump goes on first (its judged bytes to the client first of all).
    let _ = resume.send(Lent {
        server_r: ReadHalf::Tcp(sr),
        server_buf: BytesMut::from(&back.server_buf[..]),
        client_w: WriteHalf::Tcp(cw),
        carried: Some(Carried {
            to_client: back.to_client,
            splitter: back.splitter,
        }),
    });
    l.dst.send_all(&back.to_server).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_stints_double_the_wait_and_a_long_one_resets_it() {
        let mut r = Reentry::default();
        assert!(r.due());
        r.after(3);
        for _ in 0..FIRST_WAIT {
            assert!(!r.due());
        }
        assert!(r.due());
        r.after(0);
        let waited = std::iter::from_fn(|| (!r.due()).then_some(())).count();
        assert_eq!(waited, 2 * FIRST_WAIT as usize);
        for _ in 0..20 {
            r.after(1);
        }
        assert_eq!(r.next_wait, LONGEST_WAIT);
        r.after(WORTHWHILE);
        assert!(r.due());
        assert_eq!(r, Reentry::default());
    }
}
