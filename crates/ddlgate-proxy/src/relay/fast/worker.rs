//! The fast relay's thread: one mio poll over the sessions lent to it, each a client socket,
//! a server socket and a [`PlainRelay`]. Edge-triggered: a readable socket is read until it
//! is drained (or its peer would block), each batch of bytes judged frame by frame and written
//! on at once. A session goes back to the async relay, bytes untouched, at the first frame the
//! rules leave to it, at a client message that does not arrive whole, or when a side closes.

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::Receiver;

use ddlgate_session::INSPECT_SERVER;
use ddlgate_wire::{FrameHeader, SplitStep, Splitter};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use tokio::sync::oneshot;

use super::super::server::MAX_SERVER_FRAME;
use super::super::STREAM_THRESHOLD;
use super::flow::{Filled, Flow};
use super::rules::{PlainRelay, Verdict};
use super::{Handoff, Returned, Why};
use crate::traffic::Direction;

/// The waker's token; session tokens are `key * 2 + side`.
pub(super) const WAKER: Token = Token(usize::MAX);
/// Read size per direction.
const CHUNK: usize = 16 * 1024;

/// Requests to a worker.
pub(super) enum Msg {
    /// Relay this session until it must go back, then answer on the sender.
    Adopt(u64, Box<Handoff>, oneshot::Sender<Box<Returned>>),
    /// The session's owner is gone (the gateway is closing it): tell the client at a message
    /// boundary, if it can take the farewell now, and close.
    Recall(u64),
    /// Stop, handing every session back.
    Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

struct Slot {
    id: u64,
    client: TcpStream,
    server: TcpStream,
    /// Client → server.
    up: Flow,
    /// Server → client.
    down: Flow,
    splitter: Splitter,
    relay: PlainRelay,
    max_client_message: usize,
    forwarded: u64,
    /// Server messages passed on.
    to_client_messages: u64,
    traffic: std::sync::Arc<crate::traffic::Traffic>,
    reply: oneshot::Sender<Box<Returned>>,
}

/// Runs until [`Msg::Exit`] or until the channel's senders are gone. `farewell` is what a
/// recalled session's client is told.
pub(super) fn run(mut poll: Poll, rx: Receiver<Msg>, farewell: Vec<u8>) {
    let mut events = Events::with_capacity(256);
    let mut slots: Slab<Slot> = Slab::new();
    let mut keys: HashMap<u64, usize> = HashMap::new();
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(error = %e, "fast relay poll failed; handing sessions back");
            break;
        }
        let mut woken = false;
        for ev in &events {
            if ev.token() == WAKER {
                woken = true;
                continue;
            }
            let (key, side) = (ev.token().0 / 2, side_of(ev.token()));
            let Some(slot) = slots.get_mut(key) else {
                continue;
            };
            let closed = ev.is_read_closed() || ev.is_error();
            let readable = ev.is_readable() || closed;
            if let Some(why) = slot.on_event(side, readable, ev.is_writable(), closed) {
                let slot = slots.remove(key);
                keys.remove(&slot.id);
                slot.hand_back(poll.registry(), why);
            }
        }
        if !woken {
            continue;
        }
        loop {
            match rx.try_recv() {
                Ok(Msg::Adopt(id, handoff, reply)) => {
                    let entry = slots.vacant_entry();
                    let key = entry.key();
                    match Slot::adopt(id, *handoff, reply, poll.registry(), key) {
                        Ok(mut slot) => {
                            // Bytes may have arrived before registration; read them now.
                            let why = slot.pump(Side::Server).or_else(|| slot.pump(Side::Client));
                            match why {
                                Some(why) => slot.hand_back(poll.registry(), why),
                                None => {
                                    entry.insert(slot);
                                    keys.insert(id, key);
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "fast relay could not adopt"),
                    }
                }
                Ok(Msg::Recall(id)) => {
                    if let Some(key) = keys.remove(&id) {
                        slots.remove(key).close_with(poll.registry(), &farewell);
                    }
                }
                Ok(Msg::Exit) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    for slot in slots.drain() {
                        slot.hand_back(poll.registry(), Why::Exit);
                    }
                    return;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
            }
        }
    }
    for slot in slots.drain() {
        slot.hand_back(poll.registry(), Why::Exit);
    }
}

fn side_of(token: Token) -> Side {
    if token.0.is_multiple_of(2) {
        Side::Client
    } else {
        Side::Server
    }
}

impl Slot {
    fn adopt(
        id: u64,
        h: Handoff,
        reply: oneshot::Sender<Box<Returned>>,
        registry: &mio::Registry,
        key: usize,
    ) -> io::Result<Self> {
        let mut client = TcpStream::from_std(h.client);
        let mut server = TcpStream::from_std(h.server);
        let both = Interest::READABLE | Interest::WRITABLE;
        registry.register(&mut client, Token(key * 2), both)?;
        if let Err(e) = registry.register(&mut server, Token(key * 2 + 1), both) {
            let _ = registry.deregister(&mut client);
            return Err(e);
        }
        Ok(Self {
            id,
            client,
            server,
            up: Flow::new(CHUNK, &[]),
            down: Flow::new(CHUNK, &h.server_buf),
            splitter: Splitter::new(INSPECT_SERVER, STREAM_THRESHOLD, MAX_SERVER_FRAME),
            relay: h.relay,
            max_client_message: h.max_client_message,
            forwarded: 0,
            to_client_messages: 0,
            traffic: h.traffic.clone(),
            reply,
        })
    }

    /// Serves one readiness event on `side`'s socket. `closed`: the peer closed (or the
    /// socket failed): what it sent is relayed, then the session goes back to the async relay,
    /// which finds the end of stream itself. (Edge-triggered, the close is reported once; a
    /// short read that drained the data would otherwise leave it unread, and the session open.)
    fn on_event(
        &mut self,
        side: Side,
        readable: bool,
        writable: bool,
        closed: bool,
    ) -> Option<Why> {
        if readable {
            if let Some(why) = self.pump(side) {
                return Some(why);
            }
            if closed {
                return Some(Why::Closed);
            }
        }
        if writable {
            // `side` can take bytes again: the flow into it may go on.
            let (into, dst, from) = match side {
                Side::Client => (&mut self.down, &mut self.client, Side::Server),
                Side::Server => (&mut self.up, &mut self.server, Side::Client),
            };
            if into.blocked {
                if into.flush(dst).is_err() {
                    return Some(Why::Closed);
                }
                if !into.blocked {
                    return self.pump(from);
                }
            }
        }
        None
    }

    /// Moves bytes from `from` to its peer until `from` is drained, the peer would block, or
    /// the session must go back.
    fn pump(&mut self, from: Side) -> Option<Why> {
        loop {
            let (flow, src, dst) = match from {
                Side::Client => (&mut self.up, &mut self.client, &mut self.server),
                Side::Server => (&mut self.down, &mut self.server, &mut self.client),
            };
            if flow.blocked {
                return None;
            }
            let drained = match flow.fill(src) {
                Filled::Closed => return Some(Why::Closed),
                Filled::WouldBlock => true,
                Filled::Bytes { drained } => {
                    let counted = (flow.judged, self.forwarded, self.to_client_messages);
                    let why = match from {
                        Side::Client => judge_client(
                            flow,
                            &mut self.relay,
                            self.max_client_message,
                            &mut self.forwarded,
                        ),
                        Side::Server => judge_server(
                            flow,
                            &mut self.splitter,
                            &mut self.relay,
                            &mut self.to_client_messages,
                        ),
                    };
                    let bytes = flow.judged - counted.0;
                    match from {
                        Side::Client => {
                            self.traffic
                                .add(Direction::ToServer, bytes, self.forwarded - counted.1)
                        }
                        Side::Server => self.traffic.add(
                            Direction::ToClient,
                            bytes,
                            self.to_client_messages - counted.2,
                        ),
                    }
                    if flow.flush(dst).is_err() {
                        return Some(Why::Closed);
                    }
                    if why.is_some() {
                        return why;
                    }
                    drained
                }
            };
            if drained {
                // A client message cut short waits in the async relay, under its timeout.
                let partial = from == Side::Client && !self.up.unjudged().is_empty();
                return partial.then_some(Why::PartialMessage);
            }
        }
    }

    /// Deregisters the sockets and sends everything back to the session's owner.
    fn hand_back(mut self, registry: &mio::Registry, why: Why) {
        let _ = registry.deregister(&mut self.client);
        let _ = registry.deregister(&mut self.server);
        let (to_server, client_buf) = self.up.into_parts();
        let (to_client, server_buf) = self.down.into_parts();
        let returned = Returned {
            client: self.client.into(),
            server: self.server.into(),
            to_server,
            client_buf,
            to_client,
            server_buf,
            splitter: self.splitter,
            relay: self.relay,
            why,
            forwarded: self.forwarded,
        };
        // A closed receiver means the owner is gone: dropping the sockets closes them.
        let _ = self.reply.send(Box::new(returned));
    }

    /// Best effort, never waiting: the judged bytes and then `farewell` to the client (only
    /// at a message boundary), then closes both sockets.
    fn close_with(mut self, registry: &mio::Registry, farewell: &[u8]) {
        let _ = registry.deregister(&mut self.client);
        let _ = registry.deregister(&mut self.server);
        if self.down.flush(&mut self.client).is_ok()
            && !self.down.blocked
            && !self.splitter.is_streaming()
        {
            use std::io::Write;
            let _ = self.client.write_all(farewell);
        }
    }
}

/// Judges the whole client frames read so far; stops at the first the rules leave to the
/// async relay.
fn judge_client(
    flow: &mut Flow,
    relay: &mut PlainRelay,
    max: usize,
    forwarded: &mut u64,
) -> Option<Why> {
    loop {
        let data = flow.unjudged();
        let h = match FrameHeader::read(data, max) {
            Ok(Some(h)) => h,
            Ok(None) => return None,
            Err(_) => return Some(Why::NeedsGateway),
        };
        // Larger client messages go to the async relay, which streams them.
        if h.total_len > STREAM_THRESHOLD {
            return Some(Why::NeedsGateway);
        }
        if data.len() < h.total_len {
            flow.reserve(h.total_len);
            return None;
        }
        match relay.client_frame(&data[..h.total_len]) {
            Verdict::Forward => {
                flow.accept(h.total_len);
                *forwarded += 1;
            }
            Verdict::HandBack => return Some(Why::NeedsGateway),
        }
    }
}

/// Judges the server bytes read so far, streaming large uninspected messages.
fn judge_server(
    flow: &mut Flow,
    splitter: &mut Splitter,
    relay: &mut PlainRelay,
    messages: &mut u64,
) -> Option<Why> {
    loop {
        let data = flow.unjudged();
        let streaming = splitter.is_streaming();
        match splitter.step(data) {
            Err(_) => return Some(Why::NeedsGateway),
            Ok(SplitStep::Frame(h)) => match relay.server_frame(&data[..h.total_len]) {
                Verdict::Forward => {
                    flow.accept(h.total_len);
                    *messages += 1;
                }
                Verdict::HandBack => return Some(Why::NeedsGateway),
            },
            Ok(SplitStep::Stream { len }) => {
                flow.accept(len);
                *messages += u64::from(!streaming);
            }
            Ok(SplitStep::NeedMore { frame_len }) => {
                if let Some(len) = frame_len {
                    flow.reserve(len);
                }
                return None;
            }
        }
    }
}
