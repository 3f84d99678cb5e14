//! The fast relay: plain traffic relayed on a dedicated thread with a bare mio poll, below
//! the async runtime.
//!
//! Most of a session's life is statements that need nothing from the gateway but a look at
//! their first key word. The async relay (two pumps, a task, wakers) spends several times
//! the instructions of the bytes' own system calls on each of them (measured with callgrind:
//! `bench/relay-instructions.sh`). So when a session's client pump has nothing pending (no
//! request in flight, no captured batch, no steps deferred to COMMIT; see
//! [`super::ClientPump`]), it lends both sockets to a [`FastRelay`] thread, which applies the
//! same rules frame by frame ([`rules`]) and gives the session back — bytes unconsumed — at
//! the first frame the gateway must see (DDL, savepoints, Terminate), at a client message that
//! does not arrive whole (so the message timeout applies), or when a side closes. TLS sessions
//! stay on the async relay.

pub mod flow;
pub mod rules;
mod worker;

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use ddlgate_wire::Splitter;
use tokio::sync::oneshot;

pub use rules::PlainRelay;
use worker::Msg;

/// Why a session came back from the fast relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// A frame the async relay must handle (DDL, block bookkeeping, Terminate, a malformed or
    /// oversized message), left unconsumed at the front of the returned bytes.
    NeedsGateway,
    /// A client message arrived in part; the async relay waits for the rest under its timeout.
    PartialMessage,
    /// A socket closed or failed; the async relay finds out again and ends the session.
    Closed,
    /// The fast relay is stopping.
    Exit,
}

/// A session lent to the fast relay.
pub struct Handoff {
    /// The client's socket (non-blocking).
    pub client: std::net::TcpStream,
    /// The server's socket (non-blocking).
    pub server: std::net::TcpStream,
    /// Server bytes already read, not yet judged (the start of a message).
    pub server_buf: Vec<u8>,
    /// The rules' state.
    pub relay: PlainRelay,
    /// Largest client message.
    pub max_client_message: usize,
    /// Where the session's relayed bytes and messages are counted.
    pub traffic: std::sync::Arc<crate::traffic::Traffic>,
}

/// A session given back.
pub struct Returned {
    /// The client's socket.
    pub client: std::net::TcpStream,
    /// The server's socket.
    pub server: std::net::TcpStream,
    /// Client bytes judged, not yet written to the server: they go first.
    pub to_server: Vec<u8>,
    /// Client bytes not judged.
    pub client_buf: Vec<u8>,
    /// Server bytes judged, not yet written to the client: they go first.
    pub to_client: Vec<u8>,
    /// Server bytes not judged.
    pub server_buf: Vec<u8>,
    /// Where the server stream is (possibly inside a streamed message).
    pub splitter: Splitter,
    /// The rules' state.
    pub relay: PlainRelay,
    /// Why it came back.
    pub why: Why,
    /// Client messages the fast relay forwarded.
    pub forwarded: u64,
}

struct Worker {
    tx: mpsc::Sender<Msg>,
    waker: Arc<mio::Waker>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn send(&self, msg: Msg) -> Result<(), Msg> {
        self.tx.send(msg).map_err(|e| e.0)?;
        // Fails only when the poll is gone, and then the thread has stopped.
        let _ = self.waker.wake();
        Ok(())
    }
}

/// The fast relay's threads.
pub struct FastRelay {
    workers: Vec<Worker>,
    next_worker: AtomicUsize,
    /// Sessions lent so far (also the next lease's id).
    lent: AtomicU64,
    returned: AtomicU64,
    forwarded: AtomicU64,
}

/// What the fast relay has done since the gateway started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastRelayStats {
    /// Times a session was lent to it.
    pub lent: u64,
    /// Times a session came back to the async relay.
    pub returned: u64,
    /// Client messages it forwarded.
    pub forwarded: u64,
}

impl FastRelay {
    /// Starts `threads` relay threads (at least one).
    pub fn start(threads: usize) -> io::Result<Self> {
        // What a client is told when the gateway closes a session the fast relay holds
        // (shutdown), as the server pump would tell it.
        let mut farewell = bytes::BytesMut::new();
        if let Some(notice) = crate::ProxyError::ShuttingDown.client_notice() {
            notice.encode_error(&mut farewell);
        }
        let workers = (0..threads.max(1))
            .map(|i| {
                let farewell = farewell.to_vec();
                let poll = mio::Poll::new()?;
                let waker = Arc::new(mio::Waker::new(poll.registry(), worker::WAKER)?);
                let (tx, rx) = mpsc::channel();
                let thread = std::thread::Builder::new()
                    .name(format!("ddlgate-fast-{i}"))
                    .spawn(move || worker::run(poll, rx, farewell))?;
                Ok(Worker {
                    tx,
                    waker,
                    thread: Some(thread),
                })
            })
            .collect::<io::Result<_>>()?;
        Ok(Self {
            workers,
            next_worker: AtomicUsize::new(0),
            lent: AtomicU64::new(0),
            returned: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> FastRelayStats {
        FastRelayStats {
            lent: self.lent.load(Ordering::Relaxed),
            returned: self.returned.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
        }
    }

    /// Lends a session.
    pub fn lend(&self, handoff: Handoff) -> Lease<'_> {
        let n = self.next_worker.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        let worker = &self.workers[n];
        let id = self.lent.fetch_add(1, Ordering::Relaxed);
        let (reply, rx) = oneshot::channel();
        // A stopped worker drops the request, and with it the reply sender: the lease then
        // ends without the sockets.
        let _ = worker.send(Msg::Adopt(id, Box::new(handoff), reply));
        Lease {
            relay: self,
            worker,
            id,
            rx: Some(rx),
        }
    }
}

impl Drop for FastRelay {
    fn drop(&mut self) {
        for w in &self.workers {
            let _ = w.send(Msg::Exit);
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A session held by the fast relay. Dropping it before [`Self::returned`] completes tells
/// the relay to close the session, telling the client that the gateway is shutting down.
pub struct Lease<'a> {
    relay: &'a FastRelay,
    worker: &'a Worker,
    id: u64,
    rx: Option<oneshot::Receiver<Box<Returned>>>,
}

impl Lease<'_> {
    /// Waits for the session to come back; `None` when the relay dropped it (a failed
    /// registration, or the relay stopping before it was adopted).
    pub async fn returned(&mut self) -> Option<Box<Returned>> {
        let rx = self.rx.as_mut()?;
        let back = rx.await.ok();
        self.rx = None;
        if let Some(back) = &back {
            self.relay.returned.fetch_add(1, Ordering::Relaxed);
            self.relay
                .forwarded
                .fetch_add(back.forwarded, Ordering::Relaxed);
        }
        back
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            // It may have come back just now: then dropping it closes the sockets unspoken-to.
            if rx.try_recv().is_err() {
                let _ = self.worker.send(Msg::Recall(self.id));
            }
        }
    }
}
