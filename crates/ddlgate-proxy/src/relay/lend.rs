//! Lending a quiet session to the fast relay ([`super::fast`]) and taking it back.

use bytes::BytesMut;
use ddlgate_session::Batch;

use super::client::{ClientPump, Discard};
use super::fast::{Handoff, PlainRelay, Returned};
use super::{lock, Carried, Lent, Paused};
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

impl ClientPump<'_> {
    /// Whether nothing would stop the fast relay from applying the same rules as this pump:
    /// plain TCP on both sides, no batch captured, no statements of the gateway's own, no
    /// steps waiting for COMMIT, no savepoint bookkeeping, nothing buffered.
    pub(super) fn may_lend(&self) -> bool {
        self.fast.is_some()
            && matches!(self.src, ReadHalf::Tcp(_))
            && matches!(self.dst, WriteHalf::Tcp(_))
            && self.buf.is_empty()
            && self.capturing.is_none()
            && self.prepared.is_empty()
            && !self.tx_work.has_deferred()
            && self.block_statements.is_empty()
            && self.discard == Discard::No
    }

    /// Waits until every request sent has been answered, unless the client sends more first
    /// (`Some(bytes read)`, 0 at end of file). A session is lent only when idle, so the
    /// server pump is never asked to pause while answers are on their way.
    pub(super) async fn idle_or_read(&mut self) -> Result<Option<usize>, ProxyError> {
        let session = self.shared.session;
        if lock(session).in_flight() == 0 {
            return Ok(None);
        }
        let ready = self.shared.ready;
        tokio::select! {
            biased;
            n = tokio::io::AsyncReadExt::read_buf(&mut self.src, &mut self.buf) => Ok(Some(n?)),
            () = ready.wait_until(|| lock(session).in_flight() == 0) => Ok(None),
        }
    }

    /// Lends the session to the fast relay and waits for it to come back; then the relay
    /// goes on where the fast relay stopped.
    pub(super) async fn lend(&mut self, batch: &mut Batch) -> Result<(), ProxyError> {
        let Some(fast) = self.fast else {
            return Ok(());
        };
        let Paused { lent, resume } = self.pause().await?;
        let src = std::mem::replace(&mut self.src, ReadHalf::Empty);
        let dst = std::mem::replace(&mut self.dst, WriteHalf::Sink);
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
                // Not plain TCP after all: carry on here.
                self.src = src;
                self.dst = dst;
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
            session: lock(self.shared.session).clone(),
            batch: *batch,
            last_plain: std::mem::take(&mut self.last_plain),
            tx_end_statements: std::mem::take(&mut self.tx_end_statements),
        };
        let handoff = Handoff {
            client,
            server,
            server_buf: lent.server_buf.to_vec(),
            relay,
            max_client_message: self.limits.max_client_message,
        };
        let mut lease = fast.lend(handoff);
        let back = lease
            .returned()
            .await
            .ok_or_else(|| ProxyError::Io(std::io::ErrorKind::BrokenPipe.into()))?;
        self.take_back(back, batch, resume).await
    }

    async fn take_back(
        &mut self,
        back: Returned,
        batch: &mut Batch,
        resume: tokio::sync::oneshot::Sender<Lent>,
    ) -> Result<(), ProxyError> {
        tracing::trace!(why = ?back.why, forwarded = back.forwarded, "back from the fast relay");
        self.reentry.after(back.forwarded);
        *lock(self.shared.session) = back.relay.session;
        *batch = back.relay.batch;
        self.last_plain = back.relay.last_plain;
        self.tx_end_statements = back.relay.tx_end_statements;
        let (cr, cw) = tokio::net::TcpStream::from_std(back.client)?.into_split();
        let (sr, sw) = tokio::net::TcpStream::from_std(back.server)?.into_split();
        self.src = ReadHalf::Tcp(cr);
        self.dst = WriteHalf::Tcp(sw);
        self.buf.extend_from_slice(&back.client_buf);
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
        self.dst.send_all(&back.to_server).await?;
        Ok(())
    }
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
