//! The steady-state relay: two pumps, one per direction, each reading whatever bytes are
//! available, splitting them into frames by header only, showing the session the few frames
//! it tracks, and writing the original bytes on in one call. Large uninspected frames
//! (DataRow, CopyData) are streamed in pieces. The pumps never wait for each other, so a
//! client may pipeline as deep as it likes.
//!
//! The relay moves bytes only. It shows every whole client frame to the gate
//! ([`crate::gate::GateState::screen`]); when the gate takes a frame and needs the connection,
//! the client pump waits until every earlier request has been answered and asks the server
//! pump to hand over the upstream reader and the client writer at a message boundary
//! ([`Ctl::Pause`], wrapped in a [`Takeover`] guard that gives them back when dropped). The
//! gate reads the catalog, runs plans and answers the client itself; then the relay goes on.
//! Quiet sessions are lent to the fast relay ([`fast`]), which applies the same screen.
//!
//! Cancel safety: reads (`read_buf`) are cancel safe; writes are not, which is why the server
//! pump only ever gives up the client writer between messages.

mod buffers;
mod client;
pub mod drive;
mod fast;
mod lend;
mod server;
mod takeover;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ddlgate_session::Session;
use ddlgate_wire::encode::Notice;
use tokio::sync::{oneshot, Notify};

use crate::stream::{ReadHalf, WriteHalf};
pub use crate::sync::lock;
use crate::traffic::{Direction, Traffic};

pub use client::{ClientPump, RelayLimits};
pub use fast::{FastRelay, FastRelayStats};
pub use server::ServerPump;

/// How a pump ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// The source closed its side.
    Eof,
    /// The client sent Terminate (forwarded).
    Terminated,
    /// The gateway closed the session with a message to the client.
    Closed,
}

/// The server pump's halves, lent to the client pump.
pub struct Lent {
    /// Server read half.
    pub server_r: ReadHalf,
    /// Bytes read ahead from the server.
    pub server_buf: BytesMut,
    /// Client write half.
    pub client_w: WriteHalf,
    /// Where the fast relay left the server stream, when the halves come back from it.
    pub carried: Option<Carried>,
}

/// The server stream as the fast relay left it.
pub struct Carried {
    /// Bytes judged and not yet written to the client: they go first.
    pub to_client: Vec<u8>,
    /// The splitter's position (possibly inside a streamed message).
    pub splitter: ddlgate_wire::Splitter,
}

/// A paused server pump: its halves, and where to send them back.
pub struct Paused {
    /// The halves.
    pub lent: Lent,
    /// Returns them (dropping it ends the server pump).
    pub resume: oneshot::Sender<Lent>,
}

/// Requests from the client pump (and the session) to the server pump.
pub enum Ctl {
    /// Write these bytes to the client at the next message boundary (notices).
    Inject(BytesMut),
    /// Hand over the upstream reader and the client writer at the next message boundary.
    Pause(oneshot::Sender<Paused>),
    /// Write this FATAL error at the next boundary and end the session.
    Fatal(Notice),
}

/// Requests to the server pump, in order. Unlike a channel it allocates nothing until a
/// request is made, so an idle session pays nothing for it.
#[derive(Default)]
pub struct CtlQueue {
    queue: Mutex<VecDeque<Ctl>>,
    closed: AtomicBool,
}

impl CtlQueue {
    /// Queues a request. Fails when the server pump has ended.
    fn send(&self, ctl: Ctl) -> Result<(), Ctl> {
        let mut queue = crate::sync::lock_any(&self.queue);
        if self.closed.load(Ordering::Acquire) {
            return Err(ctl);
        }
        queue.push_back(ctl);
        Ok(())
    }

    /// The server pump's end of the queue.
    pub fn receiver(&self) -> CtlReceiver<'_> {
        CtlReceiver(self)
    }
}

/// The server pump's end of a [`CtlQueue`]; the queue refuses requests once it is dropped.
pub struct CtlReceiver<'a>(&'a CtlQueue);

impl CtlReceiver<'_> {
    /// Moves the queued requests to `out` (the queue keeps no allocation).
    pub fn drain_into(&self, out: &mut VecDeque<Ctl>) {
        let mut queue = crate::sync::lock_any(&self.0.queue);
        if out.is_empty() {
            std::mem::swap(out, &mut *queue);
        } else {
            out.extend(std::mem::take(&mut *queue));
        }
    }
}

impl Drop for CtlReceiver<'_> {
    fn drop(&mut self) {
        let mut queue = crate::sync::lock_any(&self.0.queue);
        self.0.closed.store(true, Ordering::Release);
        queue.clear();
    }
}

/// State both pumps share.
pub struct Shared<'a> {
    /// Session state.
    pub session: &'a Mutex<Session>,
    /// Signalled on the ReadyForQuery reports the server pump relays.
    pub ready: &'a ReadySignal,
    /// Requests to the server pump.
    pub ctl: &'a CtlQueue,
    /// What the session relayed.
    pub traffic: &'a Arc<Traffic>,
    /// Raised with every request, so that the server pump (polled by [`drive::first`] only
    /// when woken) looks at its requests.
    pub ctl_pending: &'a AtomicBool,
}

impl Shared<'_> {
    /// Hands a request to the server pump. Fails when the server pump has ended.
    pub fn request(&self, ctl: Ctl) -> Result<(), Ctl> {
        self.ctl.send(ctl)?;
        self.ctl_pending.store(true, Ordering::Release);
        Ok(())
    }
}

/// Bytes and messages a pump passed on in one batch, added to the session's counts at once.
#[derive(Default)]
pub struct Count {
    bytes: u64,
    messages: u64,
}

impl Count {
    /// A whole frame of `len` bytes.
    pub fn frame(&mut self, len: usize) {
        self.bytes += len as u64;
        self.messages += 1;
    }

    /// `len` bytes of a streamed message (`streaming`: not its first piece).
    pub fn stream(&mut self, len: usize, streaming: bool) {
        self.bytes += len as u64;
        self.messages += u64::from(!streaming);
    }

    /// Adds the batch to `traffic`.
    pub fn add_to(&self, traffic: &Traffic, direction: Direction) {
        traffic.add(direction, self.bytes, self.messages);
    }
}

/// Wakes the client pump on a relayed ReadyForQuery while it waits for earlier requests to be
/// answered. Such waits are rare (before DDL and some transaction-control statements), so a
/// ReadyForQuery costs a notification only while one is in progress.
#[derive(Default)]
pub struct ReadySignal {
    notify: Notify,
    waiting: AtomicBool,
}

impl ReadySignal {
    /// The server pump relayed a ReadyForQuery (or got the connection back from the gateway).
    pub fn ready(&self) {
        if self.waiting.load(Ordering::SeqCst) {
            self.notify.notify_waiters();
        }
    }

    /// Waits until `done` holds, checking it first and again after each [`Self::ready`].
    /// `done` must read state that the server pump updates before it calls `ready`.
    pub async fn wait_until(&self, done: impl Fn() -> bool) {
        /// Clears the flag however the wait ends (also when the future is dropped).
        struct Waiting<'a>(&'a AtomicBool);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::SeqCst);
            }
        }
        // Raised before the check: a `ready` after the check then sees it and notifies.
        self.waiting.store(true, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done() {
                return;
            }
            notified.await;
        }
    }
}

/// Below this, an uninspected frame is forwarded whole rather than streamed (either way).
pub const STREAM_THRESHOLD: usize = 64 * 1024;

/// How long the server pump may take to deliver a final message.
pub const FINAL_MESSAGE_GRACE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_for_ready_is_woken_and_only_a_wait_raises_the_flag() {
        use std::sync::atomic::AtomicU32;
        let signal = ReadySignal::default();
        let in_flight = AtomicU32::new(2);
        // Nobody waits: `ready` notifies nobody and leaves no flag behind.
        signal.ready();
        assert!(!signal.waiting.load(Ordering::SeqCst));
        let wait = signal.wait_until(|| in_flight.load(Ordering::SeqCst) == 0);
        let answer = async {
            for _ in 0..2 {
                tokio::task::yield_now().await;
                assert!(signal.waiting.load(Ordering::SeqCst), "the wait raised it");
                in_flight.fetch_sub(1, Ordering::SeqCst);
                signal.ready();
            }
        };
        tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(wait, answer) })
            .await
            .expect("the waiter was woken by the last ready()");
        assert!(
            !signal.waiting.load(Ordering::SeqCst),
            "cleared after the wait"
        );
        // A wait dropped half-way clears the flag too.
        in_flight.store(1, Ordering::SeqCst);
        let wait = signal.wait_until(|| in_flight.load(Ordering::SeqCst) == 0);
        let dropped = tokio::time::timeout(Duration::from_millis(10), wait).await;
        assert!(dropped.is_err());
        assert!(!signal.waiting.load(Ordering::SeqCst));
    }
}
