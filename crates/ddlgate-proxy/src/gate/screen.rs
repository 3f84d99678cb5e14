//! The per-frame look both relays take at every whole client frame: forward it, drop it,
//! forward it once the block's bookkeeping has followed it, or hand it to the gate. Pure: the
//! same function for the async relay and the fast relay, so both apply the same rules.

use bytes::Bytes;
use ddlgate_session::{Batch, BatchMessage, Scope};
use ddlgate_wire::decode::{self, DecodeError};
use ddlgate_wire::{FeTag, TransactionStatus};

use super::attention::Attention;
use super::block;
use super::state::{Discard, GateState};

/// What to do with one whole client frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Forward it; then [`GateState::advance`] with this.
    Forward(Option<BatchMessage>),
    /// Forward it once every earlier request has been answered and [`GateState::follow`] has
    /// followed this transaction-control text; then [`GateState::advance`].
    Follow(String, Option<BatchMessage>),
    /// Drop it: the server would ignore it (the rest of a batch that failed).
    Drop,
    /// The gate takes the frame ([`GateState::look`]).
    Take,
}

impl GateState {
    /// Looks at one whole client frame (header included). The batch it may open or close is
    /// moved on by [`Self::advance`] once the relay forwards the frame.
    ///
    /// Calling it again for a frame after a non-`Forward` answer is harmless: what it records
    /// before answering is the same the second time (the fast relay hands such frames back).
    pub fn screen(&mut self, frame: &[u8]) -> Result<Screen, DecodeError> {
        let tag = FeTag::from_byte(frame[0]);
        if self.discard == Discard::UntilSync {
            if !matches!(tag, FeTag::Sync | FeTag::Terminate) {
                return Ok(Screen::Drop);
            }
            self.discard = Discard::No;
        }
        if self.capturing.is_some() || self.may_start_capture(tag) {
            return Ok(Screen::Take);
        }
        if !self.prepared.is_empty() && matches!(tag, FeTag::Query | FeTag::Parse | FeTag::Close) {
            self.prepared.observe(frame)?;
        }
        match tag {
            FeTag::Query | FeTag::Parse => self.screen_statement(frame, tag),
            FeTag::Close if !self.block_statements.is_empty() => {
                let (target, name) = ddlgate_session::message_target(frame, "Close")?;
                if target == ddlgate_session::Target::Statement {
                    self.block_statements.remove(name);
                }
                Ok(Screen::Forward(Some(BatchMessage::Close)))
            }
            FeTag::Bind if !self.block_statements.is_empty() => {
                let (_, statement) = decode::bind_names(frame)?;
                let msg = batch_message(self.batch, frame)?;
                Ok(match self.block_statements.get(statement) {
                    // A named statement runs at each Bind of it, not at its Parse.
                    Some(sql) => Screen::Follow(sql.clone(), msg),
                    None => Screen::Forward(msg),
                })
            }
            _ => Ok(Screen::Forward(batch_message(self.batch, frame)?)),
        }
    }

    /// At a batch start: a Bind or Describe of a statement the gateway prepared itself, or a
    /// Bind of a named COMMIT while steps wait for it, may start a capture.
    fn may_start_capture(&self, tag: FeTag) -> bool {
        self.batch == Batch::Clean
            && ((matches!(tag, FeTag::Bind | FeTag::Describe) && !self.prepared.is_empty())
                || (tag == FeTag::Bind
                    && self.tx.has_deferred()
                    && !self.tx_end_statements.is_empty()))
    }

    fn screen_statement(&mut self, frame: &[u8], tag: FeTag) -> Result<Screen, DecodeError> {
        let (statement, text, msg) = match tag {
            FeTag::Query => {
                let text = decode::query_text(frame)?;
                let msg = self
                    .batch
                    .is_open()
                    .then_some(BatchMessage::ParseTransactionControl);
                (&b""[..], text, msg)
            }
            _ => {
                let p = decode::parse_msg(frame)?;
                if !p.statement.is_empty() {
                    block::note_named(&mut self.tx_end_statements, p.statement, p.query);
                }
                let msg = parse_message(self.batch, p.statement, p.query);
                (p.statement, p.query, Some(msg))
            }
        };
        let attention = self.last_plain.attention(text);
        let changes_block =
            attention == Attention::TransactionControl && block::may_change_block(text);
        if !statement.is_empty() && (changes_block || !self.block_statements.is_empty()) {
            if changes_block {
                let sql = String::from_utf8_lossy(text).into_owned();
                self.block_statements
                    .insert(Bytes::copy_from_slice(statement), sql);
            } else {
                self.block_statements.remove(statement);
            }
        }
        if attention == Attention::Ddl {
            return Ok(Screen::Take);
        }
        // A text that another standard_conforming_strings or client_encoding would read
        // differently is decided by the gate with the settings the server will use.
        if memchr::memchr(b'\\', text).is_some() && ddlgate_ddl::client_text::ambiguous(text) {
            return Ok(Screen::Take);
        }
        if attention == Attention::TransactionControl && (self.tx.has_deferred() || changes_block) {
            let sql = String::from_utf8_lossy(text);
            if self.tx.has_deferred() && block::ends_transaction(&sql) {
                // The gateway runs the deferred steps at this COMMIT.
                return Ok(Screen::Take);
            }
            if statement.is_empty() {
                return Ok(Screen::Follow(sql.into_owned(), msg));
            }
        }
        Ok(Screen::Forward(msg))
    }

    /// Moves the batch tracker past a forwarded message. `status` is read only when a batch
    /// starts.
    pub fn advance(
        &mut self,
        msg: Option<BatchMessage>,
        status: impl FnOnce() -> TransactionStatus,
    ) {
        if let Some(msg) = msg {
            self.batch = advance(self.batch, msg, status);
        }
    }

    /// Moves the batch tracker past a forwarded frame the gate handled itself.
    pub(super) fn advance_past(
        &mut self,
        frame: &[u8],
        status: impl FnOnce() -> TransactionStatus,
    ) -> Result<(), DecodeError> {
        let msg = batch_message(self.batch, frame)?;
        self.advance(msg, status);
        Ok(())
    }
}

/// What a Parse means to the batch tracker. Only a batch's first statement or one inside a
/// block can change its scope, so only those are classified.
fn parse_message(batch: Batch, name: &[u8], query: &[u8]) -> BatchMessage {
    match batch {
        Batch::Clean | Batch::Open(Scope::Block) => block::batch_parse(name, query),
        Batch::Open(_) => BatchMessage::Parse,
    }
}

/// What forwarding `frame` (whole, header included) means to the tracker; `None` for the
/// messages that leave it alone (CopyData, FunctionCall, …).
fn batch_message(batch: Batch, frame: &[u8]) -> Result<Option<BatchMessage>, DecodeError> {
    Ok(Some(match FeTag::from_byte(frame[0]) {
        FeTag::Parse => {
            let p = decode::parse_msg(frame)?;
            parse_message(batch, p.statement, p.query)
        }
        FeTag::Bind => match batch {
            Batch::Open(Scope::BeginParsed) => match decode::bind_names(frame)? {
                (b"", b"") => BatchMessage::BindUnnamed,
                _ => BatchMessage::Bind,
            },
            _ => BatchMessage::Bind,
        },
        FeTag::Execute => match batch {
            Batch::Open(Scope::BeginBound) if decode::execute_portal(frame)?.is_empty() => {
                BatchMessage::ExecuteUnnamed
            }
            _ => BatchMessage::Execute,
        },
        FeTag::Describe | FeTag::Flush => BatchMessage::NoEffect,
        FeTag::Close => BatchMessage::Close,
        FeTag::Sync => BatchMessage::Sync,
        // A simple query inside a batch may end a block.
        FeTag::Query if batch.is_open() => BatchMessage::ParseTransactionControl,
        _ => return Ok(None),
    }))
}

/// The batch after `msg`. `status` is read only when a batch starts.
fn advance(batch: Batch, msg: BatchMessage, status: impl FnOnce() -> TransactionStatus) -> Batch {
    let in_block = batch == Batch::Clean && status() == TransactionStatus::InBlock;
    batch.next(msg, in_block)
}
