//! The client pump: client → server. Splits the client's bytes into frames by header,
//! shows each whole frame to the gate's screen, and forwards the original bytes in one write
//! per read. Frames the gate takes are handed to it, with the connection when it needs it.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use ddlgate_session::{BatchMessage, INSPECT_CLIENT};
use ddlgate_wire::{FeTag, SplitStep, Splitter, TagSet};
use tokio::io::AsyncWriteExt;

use super::fast::FastRelay;
use super::lend::{lend, Lender, Reentry};
use super::takeover::Takeover;
use super::{lock, Count, Ctl, PumpEnd, Shared, STREAM_THRESHOLD};
use crate::gate::{Gate, GateState, Look, Screen, SentAt};
use crate::stream::{ReadHalf, WriteHalf};
use crate::traffic::Direction;
use crate::ProxyError;

/// Client frames seen whole: the session's, plus every extended-protocol message, so the
/// pump knows whether an extended batch is open (and CopyData still streams).
const CLIENT_TAGS: TagSet = INSPECT_CLIENT
    .with(FeTag::Bind.byte())
    .with(FeTag::Execute.byte())
    .with(FeTag::Describe.byte())
    .with(FeTag::Close.byte())
    .with(FeTag::Flush.byte());

/// Per-session relay settings.
#[derive(Clone, Copy, Debug)]
pub struct RelayLimits {
    /// Largest client message.
    pub max_client_message: usize,
    /// How long a client may leave a message half-sent.
    pub message_timeout: Duration,
}

/// What a read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Bytes to relay (or the session came back from the fast relay).
    More,
    /// The client closed its side.
    Eof,
}

/// Client → server.
pub struct ClientPump<'a> {
    /// Client read half.
    pub src: ReadHalf,
    /// Server write half.
    pub dst: WriteHalf,
    /// Read-ahead.
    pub buf: BytesMut,
    /// Shared state.
    pub shared: Shared<'a>,
    /// Limits.
    pub limits: RelayLimits,
    /// DDL enforcement: the session's context.
    pub gate: Gate<'a>,
    /// DDL enforcement: what the gate remembers between frames.
    pub state: GateState,
    /// Where quiet stretches of the session are relayed, when enabled.
    pub fast: Option<&'a FastRelay>,
    /// When the session may next be lent to [`Self::fast`].
    pub reentry: Reentry,
}

impl ClientPump<'_> {
    /// Runs until the client leaves or an error.
    pub async fn run(&mut self) -> Result<PumpEnd, ProxyError> {
        let mut splitter = Splitter::new(
            CLIENT_TAGS,
            STREAM_THRESHOLD,
            self.limits.max_client_message,
        );
        loop {
            if let Some(end) = self.relay_buffered(&mut splitter).await? {
                return Ok(end);
            }
            // Complete frames may already be buffered (read while the gateway owned the
            // connection): process them before reading more.
            if !splitter.is_streaming() {
                let max = self.limits.max_client_message;
                if let Some(h) = ddlgate_wire::FrameHeader::read(&self.buf, max)? {
                    if self.buf.len() >= h.total_len {
                        continue;
                    }
                }
            }
            if self.read_more(&splitter).await? == Read::Eof {
                return Ok(PumpEnd::Eof);
            }
        }
    }

    /// Reads more client bytes, or lends the session to the fast relay when it is quiet (and
    /// goes on where the fast relay stopped).
    async fn read_more(&mut self, splitter: &Splitter) -> Result<Read, ProxyError> {
        let partial = !self.buf.is_empty() || splitter.is_streaming();
        let n = if partial {
            let read = super::buffers::read_lean(&mut self.src, &mut self.buf);
            tokio::time::timeout(self.limits.message_timeout, read)
                .await
                .map_err(|_| ProxyError::MessageTimeout)??
        } else if self.may_lend() && self.reentry.due() {
            match self.idle_or_read().await? {
                Some(n) => n,
                None => {
                    // Lent, the session holds no buffer of its own.
                    super::buffers::give_back(&mut self.buf);
                    self.lend().await?;
                    return Ok(Read::More);
                }
            }
        } else {
            super::buffers::read_lean(&mut self.src, &mut self.buf).await?
        };
        Ok(if n == 0 { Read::Eof } else { Read::More })
    }

    /// Runs the buffered bytes through the splitter and the gate's screen and forwards what
    /// passes, in one write. Returns how the pump ends, if it does.
    async fn relay_buffered(
        &mut self,
        splitter: &mut Splitter,
    ) -> Result<Option<PumpEnd>, ProxyError> {
        let mut pos = 0;
        let mut end = None;
        let mut count = Count::default();
        while end.is_none() {
            let streaming = splitter.is_streaming();
            match splitter.step(&self.buf[pos..])? {
                SplitStep::Frame(h) => {
                    count.frame(h.total_len);
                    end = self.frame(&mut pos, h.total_len).await?;
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
        count.add_to(self.shared.traffic, Direction::ToServer);
        Ok(end)
    }

    /// One whole frame, at `buf[pos..pos + len]`; everything before it is accepted.
    async fn frame(&mut self, pos: &mut usize, len: usize) -> Result<Option<PumpEnd>, ProxyError> {
        let tag = FeTag::from_byte(self.buf[*pos]);
        match self.state.screen(&self.buf[*pos..*pos + len])? {
            Screen::Forward(msg) => Ok(self.accept(pos, len, tag, msg)),
            Screen::Follow(sql, msg) => {
                self.settle(pos).await?;
                let at = {
                    let session = lock(self.shared.session);
                    SentAt {
                        idle_points: session.idle_points(),
                        status: session.transaction_status(),
                    }
                };
                self.state.follow(&self.gate, at, &sql);
                Ok(self.accept(pos, len, tag, msg))
            }
            Screen::Drop => {
                self.dst.write_all(&self.buf[..*pos]).await?;
                self.buf.advance(*pos + len);
                *pos = 0;
                Ok(None)
            }
            Screen::Take => {
                self.dst.write_all(&self.buf[..*pos]).await?;
                self.buf.advance(*pos);
                *pos = 0;
                let frame = self.buf.split_to(len).freeze();
                // Boxed: the gate's work is large and rare, and an idle session should not
                // carry its space.
                Box::pin(self.take(frame)).await?;
                Ok(None)
            }
        }
    }

    /// Accepts the frame at `pos` for forwarding: counts requests, moves the batch tracker.
    fn accept(
        &mut self,
        pos: &mut usize,
        len: usize,
        tag: FeTag,
        msg: Option<BatchMessage>,
    ) -> Option<PumpEnd> {
        let session = self.shared.session;
        match tag {
            FeTag::Query | FeTag::Sync => lock(session).on_request_sent(),
            FeTag::CopyDone | FeTag::CopyFail => lock(session).on_copy_end_sent(),
            _ => {}
        }
        self.state
            .advance(msg, || lock(session).transaction_status());
        *pos += len;
        (tag == FeTag::Terminate).then_some(PumpEnd::Terminated)
    }

    /// Sends the frames accepted so far (`buf[..pos]`) and, when requests are still
    /// unanswered, waits for their answers, so that the session's transaction status is the
    /// server's before a transaction-control statement is followed. (PostgreSQL flushes an
    /// ErrorResponse before its ReadyForQuery, so a client may send its next message before
    /// the block's failed status has reached the gateway.) Only these rare statements wait.
    async fn settle(&mut self, pos: &mut usize) -> Result<(), ProxyError> {
        let session = self.shared.session;
        if lock(session).in_flight() == 0 {
            return Ok(());
        }
        self.dst.send_all(&self.buf[..*pos]).await?;
        self.buf.advance(*pos);
        *pos = 0;
        self.end_copy_in().await?;
        self.shared
            .ready
            .wait_until(|| lock(session).in_flight() == 0)
            .await;
        Ok(())
    }

    /// Whether nothing would stop the fast relay from applying the same rules as this pump:
    /// plain TCP on both sides, nothing buffered, and a gate with nothing pending but its
    /// screen ([`GateState::is_quiet`]).
    fn may_lend(&self) -> bool {
        self.fast.is_some()
            && matches!(self.src, ReadHalf::Tcp(_))
            && matches!(self.dst, WriteHalf::Tcp(_))
            && self.buf.is_empty()
            && self.state.is_quiet()
    }

    /// Waits until every request sent has been answered, unless the client sends more first
    /// (`Some(bytes read)`, 0 at end of file). A session is lent only when idle, so the
    /// server pump is never asked to pause while answers are on their way.
    async fn idle_or_read(&mut self) -> Result<Option<usize>, ProxyError> {
        let session = self.shared.session;
        if lock(session).in_flight() == 0 {
            return Ok(None);
        }
        let ready = self.shared.ready;
        tokio::select! {
            biased;
            n = super::buffers::read_lean(&mut self.src, &mut self.buf) => Ok(Some(n?)),
            () = ready.wait_until(|| lock(session).in_flight() == 0) => Ok(None),
        }
    }

    /// Lends the session to the fast relay until it comes back.
    async fn lend(&mut self) -> Result<(), ProxyError> {
        let Some(fast) = self.fast else {
            return Ok(());
        };
        let lender = Lender {
            src: &mut self.src,
            dst: &mut self.dst,
            buf: &mut self.buf,
            shared: &self.shared,
            state: &mut self.state,
            reentry: &mut self.reentry,
            max_client_message: self.limits.max_client_message,
        };
        lend(fast, lender).await
    }

    /// Before the gate takes the connection for a frame: if the server is reading
    /// `COPY … FROM STDIN` data, the frame would only ever be refused as copy data, and the
    /// server would never answer what came before it. The COPY is ended with a CopyFail of
    /// the gateway's own (ignored by a server whose COPY already ended), so that the frame is
    /// then decided like any other.
    async fn end_copy_in(&mut self) -> Result<(), ProxyError> {
        let session = self.shared.session;
        let done = || {
            let s = lock(session);
            s.in_flight() == 0 || s.in_copy_in()
        };
        self.shared.ready.wait_until(done).await;
        if !lock(session).in_copy_in() {
            return Ok(());
        }
        let reason = b"ddlgate: a statement arrived during COPY FROM STDIN\0";
        self.dst
            .send_all(&ddlgate_wire::encode::frame(FeTag::CopyFail.byte(), reason))
            .await?;
        lock(session).on_copy_end_sent();
        Ok(())
    }

    /// Hands a frame to the gate, and the connection when it needs it.
    async fn take(&mut self, frame: Bytes) -> Result<(), ProxyError> {
        self.gate.refresh();
        let session = self.shared.session;
        let answered = self.state.answered_all(&lock(session));
        if self.gate.settle_approvals(answered).await {
            // Too many guard approvals held: let the server answer, then release them.
            drop(Takeover::begin(&self.shared).await?);
            self.gate.settle_approvals(true).await;
        }
        match self.state.look(&self.gate, &frame, session)? {
            Look::Kept => Ok(()),
            Look::Forward { frame, notices } => {
                for n in notices {
                    let mut b = BytesMut::new();
                    n.encode_notice(&mut b);
                    let _ = self.shared.request(Ctl::Inject(b));
                }
                self.gate.approve(&frame).await;
                lock(session).on_client_frame(&frame);
                self.dst.write_all(&frame).await?;
                self.dst.flush().await?;
                Ok(())
            }
            Look::Own(owning) => {
                self.end_copy_in().await?;
                let mut takeover = Takeover::begin(&self.shared).await?;
                let halves = takeover
                    .halves(&mut self.src, &mut self.buf, &mut self.dst)
                    .ok_or(ProxyError::ServerGone)?;
                let (gate, state) = (&self.gate, &mut self.state);
                state.run_on(gate, (owning, frame), halves, session).await
            }
        }
    }
}
