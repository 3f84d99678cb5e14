use std::sync::atomic::Ordering;
use std::task::Poll;

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use ddlgate_session::INSPECT_SERVER;
use ddlgate_wire::{FrameHeader, SplitStep, Splitter};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

use super::{lock, Count, Ctl, CtlReceiver, Lent, Paused, PumpEnd, Shared, STREAM_THRESHOLD};
use crate::stream::{ReadHalf, WriteHalf};
use crate::traffic::Direction;
use crate::ProxyError;

/// The gateway decodes only small server messages; anything else is streamed.
pub(super) const MAX_SERVER_FRAME: usize = i32::MAX as usize;

/// Server → client.
pub struct ServerPump<'a> {
    /// Server read half (lent away while paused).
    pub src: ReadHalf,
    /// Client write half (lent away while paused).
    pub dst: WriteHalf,
    /// Read-ahead.
    pub buf: BytesMut,
    /// Shared state.
    pub shared: Shared<'a>,
    /// Requests from the client pump.
    pub ctl: CtlReceiver<'a>,
}

impl ServerPump<'_> {
    /// Runs until the server closes, the session is closed, or an error.
    pub async fn run(&mut self) -> Result<PumpEnd, ProxyError> {
        let mut splitter = Splitter::new(INSPECT_SERVER, STREAM_THRESHOLD, MAX_SERVER_FRAME);
        let mut pending: VecDeque<Ctl> = VecDeque::new();
        loop {
            self.relay_buffered(&mut splitter).await?;
            // Requests are served only between messages.
            if !splitter.is_streaming() {
                while let Some(ctl) = pending.pop_front() {
                    if pending.is_empty() {
                        // A quiet (or lent) session keeps no queue.
                        pending = VecDeque::new();
                    }
                    // Boxed: rare next to reads, and a quiet session should not carry them
                    // (a lent session waits in `pause`).
                    let served = match ctl {
                        Ctl::Pause(reply) => Box::pin(self.pause(reply, &mut splitter)).await?,
                        ctl => Box::pin(self.serve(ctl)).await?,
                    };
                    if let Some(end) = served {
                        return Ok(end);
                    }
                }
            }
            // Complete frames left over after a pause: process them before reading.
            if pending.is_empty() && !splitter.is_streaming() {
                if let Some(h) = FrameHeader::read(&self.buf, MAX_SERVER_FRAME)? {
                    if self.buf.len() >= h.total_len {
                        continue;
                    }
                }
            }
            if self.read_or_requests(&mut pending).await? == Some(0) {
                return Ok(PumpEnd::Eof);
            }
        }
    }

    /// Relays the buffered server bytes, showing the session the frames it tracks, in one
    /// write; wakes a client pump waiting for a ReadyForQuery.
    async fn relay_buffered(&mut self, splitter: &mut Splitter) -> Result<(), ProxyError> {
        let mut pos = 0;
        let mut saw_ready = false;
        let mut count = Count::default();
        loop {
            let streaming = splitter.is_streaming();
            match splitter.step(&self.buf[pos..])? {
                SplitStep::Frame(h) => {
                    count.frame(h.total_len);
                    if INSPECT_SERVER.contains(h.tag) {
                        let frame = &self.buf[pos..pos + h.total_len];
                        // A client pump may wait for a ReadyForQuery or for a COPY to start.
                        saw_ready |= matches!(frame[0], b'Z' | b'G' | b'W');
                        lock(self.shared.session).on_server_frame(frame)?;
                    }
                    let frame = &self.buf[pos..pos + h.total_len];
                    if let Some(clean) = ddlgate_wire::raised::strip_raise_context(frame) {
                        // The gateway's own refusal: without what its DO block added.
                        self.dst.send_all(&self.buf[..pos]).await?;
                        self.dst.send_all(&clean).await?;
                        self.buf.advance(pos + h.total_len);
                        pos = 0;
                        continue;
                    }
                    pos += h.total_len;
                }
                SplitStep::Stream { len } => {
                    count.stream(len, streaming);
                    pos += len;
                }
                SplitStep::NeedMore { frame_len } => {
                    if let Some(len) = frame_len {
                        self.buf.reserve(len.saturating_sub(self.buf.len() - pos));
                    }
                    break;
                }
            }
        }
        if pos > 0 {
            self.dst.send_all(&self.buf[..pos]).await?;
            self.buf.advance(pos);
        }
        count.add_to(self.shared.traffic, Direction::ToClient);
        if saw_ready {
            self.shared.ready.ready();
        }
        Ok(())
    }

    /// Serves one request from the client pump other than a pause, at a message boundary.
    async fn serve(&mut self, ctl: Ctl) -> Result<Option<PumpEnd>, ProxyError> {
        match ctl {
            Ctl::Inject(bytes) => {
                self.dst.send_all(&bytes).await?;
                Ok(None)
            }
            Ctl::Fatal(notice) => {
                let mut b = BytesMut::new();
                notice.encode_error(&mut b);
                let _ = self.dst.write_all(&b).await;
                let _ = self.dst.flush().await;
                let _ = self.dst.shutdown().await;
                Ok(Some(PumpEnd::Closed))
            }
            // Served by `pause` (see `run`); never sent here.
            Ctl::Pause(_) => Ok(None),
        }
    }

    /// Lends the upstream reader and the client writer to the client pump until they come
    /// back (see [`super::takeover`]).
    async fn pause(
        &mut self,
        reply: oneshot::Sender<Paused>,
        splitter: &mut Splitter,
    ) -> Result<Option<PumpEnd>, ProxyError> {
        let (resume, back) = oneshot::channel();
        let lent = Lent {
            server_r: std::mem::replace(&mut self.src, ReadHalf::Empty),
            server_buf: std::mem::take(&mut self.buf),
            client_w: std::mem::replace(&mut self.dst, WriteHalf::Sink),
            carried: None,
        };
        if let Err(Paused { lent, .. }) = reply.send(Paused { lent, resume }) {
            self.src = lent.server_r;
            self.buf = lent.server_buf;
            self.dst = lent.client_w;
            return Ok(None);
        }
        let Ok(returned) = back.await else {
            // The borrower failed and dropped the connection halves.
            return Ok(Some(PumpEnd::Closed));
        };
        self.src = returned.server_r;
        self.buf = returned.server_buf;
        self.dst = returned.client_w;
        if let Some(carried) = returned.carried {
            *splitter = carried.splitter;
            self.dst.send_all(&carried.to_client).await?;
        }
        // Whatever the gateway consumed, the in-flight count may now be 0.
        self.shared.ready.ready();
        Ok(None)
    }

    /// Waits for the server's bytes or the client pump's requests (see [`super::drive`] for
    /// how a request reaches a waiting pump). `None`: requests to serve.
    async fn read_or_requests(
        &mut self,
        pending: &mut VecDeque<Ctl>,
    ) -> Result<Option<usize>, ProxyError> {
        let (shared, ctl, src, buf) = (&self.shared, &mut self.ctl, &mut self.src, &mut self.buf);
        let read = std::future::poll_fn(|cx| {
            if shared.ctl_pending.swap(false, Ordering::AcqRel) {
                ctl.drain_into(pending);
                if !pending.is_empty() {
                    return Poll::Ready(Ok(None));
                }
            }
            super::buffers::poll_read_lean(&mut *src, cx, buf).map(|r| r.map(Some))
        })
        .await?;
        Ok(read)
    }
}
