use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use ddlgate_session::{Batch, BatchMessage, INSPECT_CLIENT};
use ddlgate_wire::{decode, FeTag, SplitStep, Splitter, TagSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::batch_track;
use super::captured::{Capturing, Planned};
use super::intercept::{Attention, Gate, Intercepted};
use super::{lock, PumpEnd, Shared};
use crate::stream::{ReadHalf, WriteHalf};
use crate::ProxyError;
use ddlgate_session::PreparedRewrites;

/// Below this, an uninspected frame is forwarded whole rather than streamed.
pub(super) const STREAM_THRESHOLD: usize = 64 * 1024;

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

/// Whether the client's messages reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discard {
    /// Forward as usual.
    No,
    /// The server already failed this batch (while the gateway ended it early): drop the
    /// client's messages up to its `Sync`, as the server would have ignored them.
    UntilSync,
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
    /// DDL enforcement.
    pub gate: Gate<'a>,
    /// The extended-protocol batch being captured, if any.
    pub capturing: Option<Box<Capturing>>,
    /// Statements the gateway prepared itself (never seen by the server).
    pub prepared: PreparedRewrites<Planned>,
    /// The client's open transaction block: created relations, steps deferred to COMMIT.
    pub tx_work: super::TxWork,
    /// Named statements the client prepared on the server that end a transaction block
    /// (name → text), so a later Bind of one can be captured when steps wait for COMMIT.
    pub tx_end_statements: std::collections::HashMap<Bytes, String>,
    /// Named statements the client prepared whose execution changes the block's bookkeeping
    /// (savepoint commands, chained ends), name → text: followed at each Bind of them.
    pub block_statements: std::collections::HashMap<Bytes, String>,
    /// Whether client messages are being dropped up to the next `Sync`.
    pub discard: Discard,
    /// The last statement text found to need no attention: applications repeat their
    /// statements, and the answer depends on the text alone.
    pub last_plain: super::plain::LastPlain,
    /// Where quiet stretches of the session are relayed, when enabled.
    pub fast: Option<&'a super::FastRelay>,
    /// When the session may next be lent to [`Self::fast`].
    pub reentry: super::Reentry,
}

impl ClientPump<'_> {
    /// The batch state after forwarding `frame` (whole, header included).
    fn next_batch(&self, batch: Batch, frame: &[u8]) -> Result<Batch, ProxyError> {
        Ok(match batch_track::message(batch, frame)? {
            Some(msg) => self.advance_batch(batch, msg),
            None => batch,
        })
    }

    /// Sends the frames accepted so far (`buf[..pos]`) and, when requests are still
    /// unanswered, waits for their answers, so that the session's transaction status is the
    /// server's before a transaction-control statement is followed. (PostgreSQL flushes an
    /// ErrorResponse before its ReadyForQuery, so a client may send its next message before
    /// the block's failed status has reached the gateway.) Only these rare statements wait.
    async fn settle(&mut self, pos: &mut usize) -> Result<(), ProxyError> {
        if lock(self.shared.session).in_flight() == 0 {
            return Ok(());
        }
        self.dst.send_all(&self.buf[..*pos]).await?;
        self.buf.advance(*pos);
        *pos = 0;
        self.wait_idle().await;
        Ok(())
    }

    /// Follows the transaction-control statements of `sql`, about to be forwarded, once the
    /// session's status is current (see [`Self::settle`]).
    async fn follow_transaction_control(
        &mut self,
        pos: &mut usize,
        sql: &str,
    ) -> Result<(), ProxyError> {
        self.settle(pos).await?;
        let at = {
            let session = lock(self.shared.session);
            super::deferred::SentAt {
                idle_points: session.idle_points(),
                status: session.transaction_status(),
            }
        };
        super::deferred::note_transaction_controls(&self.gate, &mut self.tx_work, at, sql);
        Ok(())
    }

    fn advance_batch(&self, batch: Batch, msg: BatchMessage) -> Batch {
        batch_track::advance(batch, msg, || {
            lock(self.shared.session).transaction_status()
        })
    }

    /// Runs until the client leaves or an error.
    pub async fn run(mut self) -> Result<PumpEnd, ProxyError> {
        let mut splitter = Splitter::new(
            CLIENT_TAGS,
            STREAM_THRESHOLD,
            self.limits.max_client_message,
        );
        let mut batch = Batch::Clean;
        loop {
            let mut pos = 0;
            let mut end = None;
            loop {
                match splitter.step(&self.buf[pos..])? {
                    SplitStep::Frame(h) => {
                        let tag = FeTag::from_byte(h.tag);
                        if self.discard == Discard::UntilSync {
                            if tag == FeTag::Sync || tag == FeTag::Terminate {
                                self.discard = Discard::No;
                            } else {
                                self.dst.write_all(&self.buf[..pos]).await?;
                                self.buf.advance(pos + h.total_len);
                                pos = 0;
                                continue;
                            }
                        }
                        let at_batch_start = batch == Batch::Clean
                            && ((matches!(tag, FeTag::Bind | FeTag::Describe)
                                && !self.prepared.is_empty())
                                || (tag == FeTag::Bind
                                    && self.tx_work.has_deferred()
                                    && !self.tx_end_statements.is_empty()));
                        if self.capturing.is_some() || at_batch_start {
                            self.dst.write_all(&self.buf[..pos]).await?;
                            self.buf.advance(pos);
                            let frame: Bytes = self.buf.split_to(h.total_len).freeze();
                            pos = 0;
                            if self.capturing.is_some() {
                                self.capture_frame(&frame).await?;
                                if self.capturing.is_none() {
                                    batch = Batch::Clean;
                                }
                                continue;
                            }
                            if self.resume_capture(&frame)? {
                                continue;
                            }
                            // Not ours after all: forward it.
                            self.dst.write_all(&frame).await?;
                            batch = self.next_batch(batch, &frame)?;
                            continue;
                        }
                        if !self.prepared.is_empty()
                            && matches!(tag, FeTag::Query | FeTag::Parse | FeTag::Close)
                        {
                            self.prepared.observe(&self.buf[pos..pos + h.total_len])?;
                        }
                        if tag == FeTag::Close && !self.block_statements.is_empty() {
                            let frame = &self.buf[pos..pos + h.total_len];
                            let (target, name) = ddlgate_session::message_target(frame, "Close")?;
                            if target == ddlgate_session::Target::Statement {
                                self.block_statements.remove(name);
                            }
                        }
                        if tag == FeTag::Bind && !self.block_statements.is_empty() {
                            let frame = &self.buf[pos..pos + h.total_len];
                            let (_, statement) = decode::bind_names(frame)?;
                            if let Some(sql) = self.block_statements.get(statement).cloned() {
                                self.follow_transaction_control(&mut pos, &sql).await?;
                            }
                        }
                        let mut parsed = None;
                        if matches!(tag, FeTag::Query | FeTag::Parse) {
                            let frame = &self.buf[pos..pos + h.total_len];
                            let mut statement: &[u8] = b"";
                            let text = match tag {
                                FeTag::Query => decode::query_text(frame)?,
                                _ => {
                                    let p = decode::parse_msg(frame)?;
                                    statement = p.statement;
                                    if !p.statement.is_empty() {
                                        super::txwork::note_named(
                                            &mut self.tx_end_statements,
                                            p.statement,
                                            p.query,
                                        );
                                    }
                                    parsed = Some(batch_track::parse_message(
                                        batch,
                                        p.statement,
                                        p.query,
                                    ));
                                    p.query
                                }
                            };
                            let attention = self.last_plain.attention(text);
                            let mut ends_deferred_block = false;
                            let changes_block = attention == Attention::TransactionControl
                                && super::txwork::may_change_block(text);
                            if !statement.is_empty()
                                && (changes_block || !self.block_statements.is_empty())
                            {
                                // A named statement runs at each Bind of it, not at its Parse.
                                if changes_block {
                                    self.block_statements.insert(
                                        Bytes::copy_from_slice(statement),
                                        String::from_utf8_lossy(text).into_owned(),
                                    );
                                } else {
                                    self.block_statements.remove(statement);
                                }
                            }
                            if attention == Attention::TransactionControl
                                && (self.tx_work.has_deferred() || changes_block)
                            {
                                let sql = String::from_utf8_lossy(text);
                                ends_deferred_block = self.tx_work.has_deferred()
                                    && super::txwork::ends_transaction(&sql);
                                if !ends_deferred_block && statement.is_empty() {
                                    let sql = sql.into_owned();
                                    self.follow_transaction_control(&mut pos, &sql).await?;
                                }
                            }
                            if attention == Attention::Ddl || ends_deferred_block {
                                self.dst.write_all(&self.buf[..pos]).await?;
                                self.buf.advance(pos);
                                let frame: Bytes = self.buf.split_to(h.total_len).freeze();
                                pos = 0;
                                match self.intercept(frame.clone(), tag, &mut batch).await? {
                                    Intercepted::Forwarded if tag == FeTag::Parse => {
                                        batch = self.next_batch(batch, &frame)?;
                                    }
                                    Intercepted::Forwarded | Intercepted::Answered => {}
                                    Intercepted::Capture(planned) => {
                                        self.start_capture(&frame, *planned)?
                                    }
                                    Intercepted::Discarded => self.discard = Discard::UntilSync,
                                }
                                continue;
                            }
                        }
                        let frame = &self.buf[pos..pos + h.total_len];
                        // A Parse changes no session state; a Query's text was decoded (and
                        // its frame checked) above, so it is not read a second time.
                        match tag {
                            FeTag::Query | FeTag::Sync => {
                                lock(self.shared.session).on_request_sent()
                            }
                            FeTag::Terminate => end = Some(PumpEnd::Terminated),
                            _ => {}
                        }
                        batch = match parsed {
                            Some(msg) => self.advance_batch(batch, msg),
                            None => self.next_batch(batch, frame)?,
                        };
                        pos += h.total_len;
                        if end.is_some() {
                            break;
                        }
                    }
                    SplitStep::Stream { len } => pos += len,
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
            if let Some(end) = end {
                return Ok(end);
            }
            super::make_room(&mut self.buf);
            // Complete frames may already be buffered (read while the gateway owned the
            // connection): process them before reading more.
            if !splitter.is_streaming() {
                if let Some(h) =
                    ddlgate_wire::FrameHeader::read(&self.buf, self.limits.max_client_message)?
                {
                    if self.buf.len() >= h.total_len {
                        continue;
                    }
                }
            }
            let partial = !self.buf.is_empty() || splitter.is_streaming();
            if !partial && self.may_lend() && self.reentry.due() {
                match self.idle_or_read().await? {
                    Some(0) => return Ok(PumpEnd::Eof),
                    Some(_) => {}
                    None => self.lend(&mut batch).await?,
                }
                continue;
            }
            let n = if partial {
                tokio::time::timeout(
                    self.limits.message_timeout,
                    self.src.read_buf(&mut self.buf),
                )
                .await
                .map_err(|_| ProxyError::MessageTimeout)??
            } else {
                self.src.read_buf(&mut self.buf).await?
            };
            if n == 0 {
                return Ok(PumpEnd::Eof);
            }
        }
    }
}
