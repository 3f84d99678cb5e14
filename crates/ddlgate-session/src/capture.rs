//! Capture of one extended-query batch that the gateway answers itself.
//!
//! When the gateway rewrites a DDL statement it runs the rewritten plan on the upstream
//! connection instead of forwarding the client's messages, and must then answer the client
//! exactly as the server would have
//! ([Extended Query](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY)).
//! [`Capture`] describes what is answered and how the proxy drives it; [`crate::PreparedRewrites`]
//! carries a statement prepared this way over to later batches.
//!
//! Pure and socket-free; every method is synchronous, so cancel safety is the caller's.

pub(crate) mod read;
#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};
use ddlgate_wire::decode::DecodeError;
use ddlgate_wire::encode::{self, Notice};
use ddlgate_wire::{BeTag, FeTag, FrameHeader, TagSet, TransactionStatus};

use crate::{PreparedRewrite, INSPECT_CLIENT};

pub use read::{target as message_target, RowLimit, Target};

/// Client message types the proxy must see whole while a capture is open, or while
/// [`crate::PreparedRewrites`] holds statements (a batch may start with a `Bind` of one of them,
/// and a `Close` may forget one).
pub const CAPTURE_INSPECT: TagSet = INSPECT_CLIENT
    .with(FeTag::Bind.byte())
    .with(FeTag::Describe.byte())
    .with(FeTag::Execute.byte())
    .with(FeTag::Close.byte())
    .with(FeTag::Flush.byte());

/// Longest command tag accepted; PostgreSQL's fit in 63 bytes.
const MAX_COMMAND_TAG: usize = 63;

/// Where the batch stands after the last pushed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureState {
    /// More frames belong to the batch.
    Collecting,
    /// The last frame was a `Flush`: the client may wait for the responses so far before it
    /// sends anything else. Answer with [`Capture::respond_until_flush`] (running the plan
    /// first if [`Capture::execution`] is [`Execution::Pending`]), then keep pushing.
    FlushRequested,
    /// The `Sync` arrived: run the plan if [`Capture::execution`] is [`Execution::Pending`], then
    /// answer with [`Capture::respond`]. Later frames belong to the next batch.
    Complete,
}

/// Whether the proxy has to run the plan before the captured messages can be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execution {
    /// No `Execute` captured (a prepare-only batch such as `Parse`/`Describe`/`Sync`), or the
    /// query is empty: nothing to run.
    NotRequested,
    /// An `Execute` is captured and no outcome is recorded: run the plan, then
    /// [`Capture::record_outcome`].
    Pending,
    /// An outcome is recorded, or the batch is refused.
    Settled,
}

/// The result of running the plan for the captured `Execute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The plan completed; the client gets CommandComplete with this tag (e.g. `ALTER TABLE`,
    /// `CREATE INDEX`: the tag of the statement the client sent, not of the rewritten phases).
    Success {
        /// Command tag: no NUL, at most 63 bytes.
        command_tag: String,
    },
    /// The plan failed; the client gets this error at the `Execute`.
    Failed(ErrorBody),
}

/// An ErrorResponse to give the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody(ErrorSource);

#[derive(Clone, Debug, PartialEq, Eq)]
enum ErrorSource {
    /// A whole ErrorResponse frame from the server, relayed byte for byte.
    Relayed(Bytes),
    /// An error built by the gateway.
    Synthesized(Notice),
}

impl ErrorBody {
    /// Relays a whole ErrorResponse frame (type byte and length included) as the server sent it.
    pub fn relayed(frame: Bytes) -> Result<Self, CaptureError> {
        match FrameHeader::read(&frame, usize::MAX) {
            Ok(Some(h)) if h.tag == BeTag::ErrorResponse.byte() && h.total_len == frame.len() => {
                Ok(Self(ErrorSource::Relayed(frame)))
            }
            _ => Err(CaptureError::NotAnErrorResponse),
        }
    }

    /// An error built by the gateway, sent as an ErrorResponse whatever its severity field says.
    pub fn synthesized(notice: Notice) -> Self {
        Self(ErrorSource::Synthesized(notice))
    }

    fn encode(&self, buf: &mut BytesMut) {
        match &self.0 {
            ErrorSource::Relayed(frame) => buf.extend_from_slice(frame),
            ErrorSource::Synthesized(notice) => notice.encode_error(buf),
        }
    }
}

impl From<Notice> for ErrorBody {
    fn from(notice: Notice) -> Self {
        Self::synthesized(notice)
    }
}

/// One captured client message, as far as its answer depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapturedMessage {
    /// `Parse` of the captured statement.
    Parse,
    /// `Bind` of the captured statement into `portal`.
    Bind {
        /// Portal name (empty for the unnamed portal).
        portal: Bytes,
    },
    /// `Describe` of the captured statement or of its portal.
    Describe(Target),
    /// `Execute` of the portal.
    Execute {
        /// Portal name.
        portal: Bytes,
        /// Rows asked for (irrelevant to DDL, which returns none).
        limit: RowLimit,
    },
    /// `Close` of the captured statement or of its portal.
    Close(Target),
    /// `Flush`.
    Flush,
    /// `Sync`: the end of the batch.
    Sync,
    /// A message received after [`Capture::refuse`], which the server would have ignored.
    Discarded(FeTag),
}

/// Why a message cannot be answered by the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// The first message of a capture must be a `Parse` ([`Capture::start`]) or a `Bind` or
    /// statement `Describe` ([`Capture::resume`]).
    #[error("a capture starts with Parse, Bind or Describe")]
    NotABatchStart,
    /// A second `Parse` in the batch.
    #[error("the batch parses another statement")]
    AnotherParse,
    /// The message names a statement other than the captured one.
    #[error("the message refers to another prepared statement")]
    OtherStatement,
    /// The captured statement was closed earlier in the batch.
    #[error("the statement was closed earlier in the batch")]
    StatementClosed,
    /// The message names a portal not bound from the captured statement in this batch.
    #[error("the message refers to a portal not bound in this batch")]
    UnknownPortal,
    /// A second `Bind` in the batch (the statement would run twice).
    #[error("the statement is bound twice")]
    RepeatedBind,
    /// A second `Execute` of the portal.
    #[error("the portal is executed twice")]
    RepeatedExecute,
    /// `Bind` supplies a different number of parameters than declared (the server rejects it).
    #[error("bind supplies {supplied} parameters, the statement declares {declared}")]
    ParameterCount {
        /// Declared by `Parse`.
        declared: usize,
        /// Supplied by `Bind`.
        supplied: usize,
    },
    /// `Parse` declares parameter type 0 (unspecified), which a DDL statement cannot resolve
    /// (the server rejects the `Parse`).
    #[error("parameter ${position} has no declared type")]
    UndeterminedParameterType {
        /// 1-based parameter number.
        position: usize,
    },
    /// A message type that does not belong in an extended-query batch (`Query`, `CopyData`, …).
    #[error("the message type does not belong to an extended-query batch")]
    UnexpectedMessage,
}

/// Errors of a capture. `Malformed` means the connection must be closed; `Unsupported` that
/// the proxy must refuse the batch ([`Capture::refuse`]); the others are caller mistakes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The frame does not follow its message format.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// The gateway cannot answer this message as the server would.
    #[error("cannot capture {tag:?}: {reason}")]
    Unsupported {
        /// Type of the offending message.
        tag: FeTag,
        /// Why.
        reason: Unsupported,
    },
    /// The batch is over (its `Sync` was pushed, or answered).
    #[error("the captured batch is already complete")]
    Finished,
    /// [`ErrorBody::relayed`] was given something other than one whole ErrorResponse frame.
    #[error("not a whole ErrorResponse frame")]
    NotAnErrorResponse,
    /// [`Outcome::Success`] carries an empty tag, a tag with NUL, or one over 63 bytes.
    #[error("invalid command tag")]
    InvalidCommandTag,
    /// [`Capture::record_outcome`] without a pending `Execute`.
    #[error("no captured Execute awaits an outcome")]
    NothingToExecute,
    /// An outcome was already recorded, or the batch refused.
    #[error("the batch already has an outcome")]
    AlreadySettled,
    /// Responses were asked for an `Execute` whose outcome is not recorded yet.
    #[error("the plan outcome is needed to answer the Execute")]
    OutcomeMissing,
    /// [`Capture::respond`] or [`Capture::statement_fate`] before the batch was complete and
    /// answered.
    #[error("the batch is not complete")]
    NotComplete,
}

/// Whether the query text is empty (whitespace and semicolons only) or a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QueryText {
    Empty,
    Command,
}

impl QueryText {
    /// PostgreSQL answers an empty query with EmptyQueryResponse. Comment-only text is also
    /// empty to the server but not recognised here; the analyser never rewrites it.
    fn of(sql: &[u8]) -> Self {
        if sql.iter().all(|b| b.is_ascii_whitespace() || *b == b';') {
            Self::Empty
        } else {
            Self::Command
        }
    }
}

/// The captured statement, as the messages pushed so far leave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatementState {
    Open,
    Closed,
}

/// Whether the portal bound in this batch has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortalRun {
    Ready,
    Executed,
}

/// The portal of this batch, as the messages pushed so far leave it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Portal {
    Unbound,
    Bound { name: Bytes, run: PortalRun },
    Closed { name: Bytes },
}

/// What the gateway did about the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resolution {
    Open,
    Ran(Outcome),
    Refused(ErrorBody),
}

/// How the next captured message is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// Normally.
    Answering,
    /// An error was sent: ignore everything until `Sync`.
    Discarding,
    /// ReadyForQuery was sent.
    Done,
}

/// What the answered batch did to the captured statement name, as the server would have it
/// ([`Capture::statement_fate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatementFate {
    /// The client holds the statement prepared: its `Parse` was answered with ParseComplete
    /// (or the batch resumed it), and no `Close` of it was answered.
    Prepared,
    /// The name is free: a `Close` of the statement was answered, or a refused `Parse` of the
    /// unnamed statement (the server drops the previous unnamed statement before parsing).
    Dropped,
    /// The name means what it meant before the batch: a refused `Parse` of a named statement.
    Unchanged,
}

/// One extended-query batch the gateway answers itself, collected from its first message (a
/// `Parse`, or a `Bind`/`Describe` of a statement the gateway prepared earlier, see
/// [`crate::PreparedRewrites`]) to its `Sync`. It renders the responses the server would send:
///
/// | captured     | answer                                                                  |
/// | ------------ | ----------------------------------------------------------------------- |
/// | `Parse`      | ParseComplete                                                           |
/// | `Bind`       | BindComplete                                                            |
/// | `Describe` S | ParameterDescription (the declared types), NoData                       |
/// | `Describe` P | NoData                                                                  |
/// | `Execute`    | CommandComplete (the outcome's tag), EmptyQueryResponse for an empty query, or the failed plan's ErrorResponse |
/// | `Close`      | CloseComplete                                                           |
/// | `Flush`      | nothing, but everything due so far must be sent now                     |
/// | `Sync`       | ReadyForQuery                                                           |
///
/// A DDL statement fails only when it runs, so a failed plan ([`Outcome::Failed`]) is reported
/// at the `Execute`; a batch the gateway refuses altogether ([`Capture::refuse`]) fails at its
/// first unanswered message. After the ErrorResponse the server ignores every message until
/// `Sync`, so the only further answer is ReadyForQuery.
///
/// How the proxy drives it, for each batch:
///
/// 1. At the first client frame of a batch (nothing forwarded since the last `Sync`): if it is
///    a `Parse` the analyser rewrites, [`Capture::start`]; if
///    [`crate::PreparedRewrites::batch_start`] recognises it, [`Capture::resume`]. In a failed
///    transaction, forward such a `Parse` (the server answers `25P02` itself) but still resume a
///    batch on a prepared rewrite, and [`Capture::refuse`] it with `25P02`.
/// 2. [`Capture::push`] every following frame. On [`CaptureError::Unsupported`],
///    [`Capture::refuse`] and go on pushing; on `Malformed`, close the connection.
/// 3. On [`CaptureState::FlushRequested`] and on [`CaptureState::Complete`]: once the
///    server has answered everything forwarded before the batch, run the plan if
///    [`Capture::execution`] is [`Execution::Pending`] and [`Capture::record_outcome`]; then
///    send [`Capture::respond_until_flush`] (at a `Flush`) or [`Capture::respond`] (at `Sync`).
/// 4. [`crate::PreparedRewrites::settle`] with the plan, so a later batch can bind the statement.
///
/// Only one statement, one portal and one execution per batch are captured: anything else
/// ([`CaptureError::Unsupported`]) would need the real server, so the proxy refuses the batch
/// instead.
#[derive(Clone, Debug)]
pub struct Capture {
    statement: PreparedRewrite,
    query: QueryText,
    messages: Vec<CapturedMessage>,
    state: CaptureState,
    statement_state: StatementState,
    portal: Portal,
    resolution: Resolution,
    /// Messages answered so far (a prefix of `messages`).
    answered: usize,
    reply: Reply,
    /// What the responses sent so far did to the statement name.
    fate: StatementFate,
}

impl Capture {
    /// Starts a capture at a `Parse`, which must be the first message since the last `Sync`.
    pub fn start(parse_frame: &[u8]) -> Result<Self, CaptureError> {
        let tag = frame_tag(parse_frame)?;
        if tag != FeTag::Parse {
            return Err(CaptureError::Unsupported {
                tag,
                reason: Unsupported::NotABatchStart,
            });
        }
        let parse = read::parse(parse_frame)?;
        let query = QueryText::of(parse.query);
        if query == QueryText::Command {
            if let Some(i) = parse.param_types.iter().position(|&t| t == 0) {
                let reason = Unsupported::UndeterminedParameterType { position: i + 1 };
                return Err(CaptureError::Unsupported { tag, reason });
            }
        }
        let fate = if parse.statement.is_empty() {
            StatementFate::Dropped
        } else {
            StatementFate::Unchanged
        };
        let statement = PreparedRewrite::new(parse.statement, parse.query, parse.param_types);
        let mut capture = Self::new(statement, query, fate);
        capture.messages.push(CapturedMessage::Parse);
        Ok(capture)
    }

    /// Starts a capture at the first message of a batch that uses a statement the gateway
    /// prepared in an earlier batch: a `Bind` of it or a `Describe` of it (see
    /// [`crate::PreparedRewrites::batch_start`]).
    pub fn resume(frame: &[u8], prepared: &PreparedRewrite) -> Result<Self, CaptureError> {
        let tag = frame_tag(frame)?;
        if !matches!(tag, FeTag::Bind | FeTag::Describe) {
            return Err(CaptureError::Unsupported {
                tag,
                reason: Unsupported::NotABatchStart,
            });
        }
        let mut capture = Self::new(
            prepared.clone(),
            QueryText::of(prepared.sql()),
            StatementFate::Prepared,
        );
        // No portal is bound yet, so a portal Describe is refused here.
        let message = capture.accept(tag, frame)?;
        capture.record(message);
        Ok(capture)
    }

    fn new(statement: PreparedRewrite, query: QueryText, fate: StatementFate) -> Self {
        Self {
            statement,
            query,
            messages: Vec::new(),
            state: CaptureState::Collecting,
            statement_state: StatementState::Open,
            portal: Portal::Unbound,
            resolution: Resolution::Open,
            answered: 0,
            reply: Reply::Answering,
            fate,
        }
    }

    /// The captured statement: name, SQL and declared parameter types.
    pub fn statement(&self) -> &PreparedRewrite {
        &self.statement
    }

    /// The messages captured so far, in order.
    pub fn messages(&self) -> &[CapturedMessage] {
        &self.messages
    }

    /// Where the batch stands.
    pub fn state(&self) -> CaptureState {
        self.state
    }

    /// Adds the next client frame (whole, header included) of the batch. On
    /// [`CaptureError::Unsupported`] the frame is not captured and the capture is unchanged; the
    /// proxy then refuses the batch ([`Capture::refuse`]) and keeps pushing until `Sync`.
    pub fn push(&mut self, frame: &[u8]) -> Result<CaptureState, CaptureError> {
        if self.state == CaptureState::Complete {
            return Err(CaptureError::Finished);
        }
        let tag = frame_tag(frame)?;
        let message = match self.resolution {
            // The server ignores everything after an error until Sync, so nothing needs checking.
            Resolution::Refused(_) | Resolution::Ran(Outcome::Failed(_)) => match tag {
                FeTag::Flush => CapturedMessage::Flush,
                FeTag::Sync => CapturedMessage::Sync,
                other => CapturedMessage::Discarded(other),
            },
            Resolution::Open | Resolution::Ran(Outcome::Success { .. }) => {
                self.accept(tag, frame)?
            }
        };
        Ok(self.record(message))
    }

    fn record(&mut self, message: CapturedMessage) -> CaptureState {
        self.state = match message {
            CapturedMessage::Flush => CaptureState::FlushRequested,
            CapturedMessage::Sync => CaptureState::Complete,
            _ => CaptureState::Collecting,
        };
        self.messages.push(message);
        self.state
    }

    /// Checks a frame against the batch so far and, if the gateway can answer it, updates the
    /// statement and portal and returns what to record. Changes nothing on error.
    fn accept(&mut self, tag: FeTag, frame: &[u8]) -> Result<CapturedMessage, CaptureError> {
        let unsupported = |reason| CaptureError::Unsupported { tag, reason };
        let message = match tag {
            FeTag::Parse => {
                read::parse(frame)?;
                return Err(unsupported(Unsupported::AnotherParse));
            }
            FeTag::Bind => {
                let bind = read::bind(frame)?;
                self.check_statement(bind.statement).map_err(unsupported)?;
                if self.portal != Portal::Unbound {
                    return Err(unsupported(Unsupported::RepeatedBind));
                }
                let declared = self.statement.param_types().len();
                let supplied = usize::from(bind.params);
                if supplied != declared {
                    return Err(unsupported(Unsupported::ParameterCount {
                        declared,
                        supplied,
                    }));
                }
                let portal = Bytes::copy_from_slice(bind.portal);
                self.portal = Portal::Bound {
                    name: portal.clone(),
                    run: PortalRun::Ready,
                };
                CapturedMessage::Bind { portal }
            }
            FeTag::Describe => match read::target(frame, "Describe")? {
                (Target::Statement, name) => {
                    self.check_statement(name).map_err(unsupported)?;
                    CapturedMessage::Describe(Target::Statement)
                }
                (Target::Portal, name) => match &self.portal {
                    Portal::Bound { name: bound, .. } if bound == name => {
                        CapturedMessage::Describe(Target::Portal)
                    }
                    _ => return Err(unsupported(Unsupported::UnknownPortal)),
                },
            },
            FeTag::Execute => {
                let (name, limit) = read::execute(frame)?;
                match &self.portal {
                    Portal::Bound {
                        name: bound,
                        run: PortalRun::Ready,
                    } if bound == name => {
                        let portal = bound.clone();
                        self.portal = Portal::Bound {
                            name: portal.clone(),
                            run: PortalRun::Executed,
                        };
                        CapturedMessage::Execute { portal, limit }
                    }
                    Portal::Bound {
                        name: bound,
                        run: PortalRun::Executed,
                    } if bound == name => {
                        return Err(unsupported(Unsupported::RepeatedExecute));
                    }
                    _ => return Err(unsupported(Unsupported::UnknownPortal)),
                }
            }
            FeTag::Close => match read::target(frame, "Close")? {
                (Target::Statement, name) => {
                    if name != self.statement.statement() {
                        return Err(unsupported(Unsupported::OtherStatement));
                    }
                    // Closing a closed statement is no error to the server either.
                    self.statement_state = StatementState::Closed;
                    CapturedMessage::Close(Target::Statement)
                }
                (Target::Portal, name) => match &self.portal {
                    Portal::Bound { name: bound, .. } | Portal::Closed { name: bound }
                        if bound == name =>
                    {
                        self.portal = Portal::Closed {
                            name: bound.clone(),
                        };
                        CapturedMessage::Close(Target::Portal)
                    }
                    _ => return Err(unsupported(Unsupported::UnknownPortal)),
                },
            },
            FeTag::Flush => CapturedMessage::Flush,
            FeTag::Sync => CapturedMessage::Sync,
            _ => return Err(unsupported(Unsupported::UnexpectedMessage)),
        };
        Ok(message)
    }

    fn check_statement(&self, name: &[u8]) -> Result<(), Unsupported> {
        if name != self.statement.statement() {
            Err(Unsupported::OtherStatement)
        } else if self.statement_state == StatementState::Closed {
            Err(Unsupported::StatementClosed)
        } else {
            Ok(())
        }
    }

    /// Whether the plan must run before the captured messages can all be answered.
    pub fn execution(&self) -> Execution {
        match self.resolution {
            Resolution::Ran(_) | Resolution::Refused(_) => Execution::Settled,
            Resolution::Open
                if self.query == QueryText::Command && self.has_execute(0..self.messages.len()) =>
            {
                Execution::Pending
            }
            Resolution::Open => Execution::NotRequested,
        }
    }

    fn has_execute(&self, range: std::ops::Range<usize>) -> bool {
        self.messages[range]
            .iter()
            .any(|m| matches!(m, CapturedMessage::Execute { .. }))
    }

    /// Records the outcome of the plan run for the captured `Execute`.
    pub fn record_outcome(&mut self, outcome: Outcome) -> Result<(), CaptureError> {
        match self.execution() {
            Execution::NotRequested => return Err(CaptureError::NothingToExecute),
            Execution::Settled => return Err(CaptureError::AlreadySettled),
            Execution::Pending => {}
        }
        if let Outcome::Success { command_tag } = &outcome {
            if command_tag.is_empty()
                || command_tag.len() > MAX_COMMAND_TAG
                || command_tag.contains('\0')
            {
                return Err(CaptureError::InvalidCommandTag);
            }
        }
        self.resolution = Resolution::Ran(outcome);
        Ok(())
    }

    /// Refuses the batch: its first message not yet answered fails with `error`, and every
    /// later message is ignored until `Sync`, as the server does after an error. Used to block
    /// the statement (a policy decision, an [`Unsupported`] message, a statement name clash, or
    /// an aborted transaction). The error goes out with the next response call, which may be
    /// [`Capture::respond_until_flush`] right away. Frames pushed afterwards are only recorded
    /// as discarded.
    pub fn refuse(&mut self, error: ErrorBody) -> Result<(), CaptureError> {
        if self.reply == Reply::Done {
            return Err(CaptureError::Finished);
        }
        match self.resolution {
            Resolution::Open => {
                self.resolution = Resolution::Refused(error);
                Ok(())
            }
            Resolution::Ran(_) | Resolution::Refused(_) => Err(CaptureError::AlreadySettled),
        }
    }

    /// Responses to the messages captured and not yet answered, up to the last `Flush`: what a
    /// server would have sent by now. Empty if there is nothing to answer; after
    /// [`Capture::refuse`], at least the error.
    pub fn respond_until_flush(&mut self) -> Result<BytesMut, CaptureError> {
        let upto = self.messages[self.answered..]
            .iter()
            .rposition(|m| *m == CapturedMessage::Flush)
            .map_or(self.answered, |i| self.answered + i + 1);
        let mut buf = BytesMut::new();
        self.render(upto, &mut buf)?;
        Ok(buf)
    }

    /// Responses to every captured message not yet answered, ending with ReadyForQuery carrying
    /// `status`: the transaction status the server reports after the plan (or the current one
    /// if nothing ran). The batch must be complete.
    pub fn respond(&mut self, status: TransactionStatus) -> Result<BytesMut, CaptureError> {
        match (self.state, self.reply) {
            (_, Reply::Done) => return Err(CaptureError::Finished),
            (CaptureState::Complete, _) => {}
            (CaptureState::Collecting | CaptureState::FlushRequested, _) => {
                return Err(CaptureError::NotComplete)
            }
        }
        let mut buf = BytesMut::new();
        // Every message but the final Sync.
        self.render(self.messages.len() - 1, &mut buf)?;
        encode::ready_for_query(status, &mut buf);
        self.reply = Reply::Done;
        self.answered = self.messages.len();
        Ok(buf)
    }

    /// Once the batch is answered: what it did to the statement name, for
    /// [`crate::PreparedRewrites::settle`].
    pub fn statement_fate(&self) -> Result<StatementFate, CaptureError> {
        match self.reply {
            Reply::Done => Ok(self.fate),
            Reply::Answering | Reply::Discarding => Err(CaptureError::NotComplete),
        }
    }

    /// Appends the responses to `messages[answered..upto]`, none of which is the `Sync`.
    fn render(&mut self, upto: usize, buf: &mut BytesMut) -> Result<(), CaptureError> {
        if self.resolution == Resolution::Open
            && self.query == QueryText::Command
            && self.has_execute(self.answered..upto)
        {
            return Err(CaptureError::OutcomeMissing);
        }
        if let (Resolution::Refused(error), Reply::Answering) = (&self.resolution, self.reply) {
            error.encode(buf);
            self.reply = Reply::Discarding;
        }
        for message in &self.messages[self.answered..upto] {
            if self.reply != Reply::Answering {
                continue;
            }
            match message {
                CapturedMessage::Parse => {
                    encode::parse_complete(buf);
                    self.fate = StatementFate::Prepared;
                }
                CapturedMessage::Bind { .. } => encode::bind_complete(buf),
                CapturedMessage::Describe(Target::Statement) => {
                    encode::parameter_description(self.statement.param_types(), buf);
                    encode::no_data(buf);
                }
                CapturedMessage::Describe(Target::Portal) => encode::no_data(buf),
                CapturedMessage::Execute { .. } => match (self.query, &self.resolution) {
                    (QueryText::Empty, _) => encode::empty_query_response(buf),
                    (QueryText::Command, Resolution::Ran(Outcome::Success { command_tag })) => {
                        encode::command_complete(command_tag, buf);
                    }
                    (
                        QueryText::Command,
                        Resolution::Ran(Outcome::Failed(error)) | Resolution::Refused(error),
                    ) => {
                        error.encode(buf);
                        self.reply = Reply::Discarding;
                    }
                    // Checked above.
                    (QueryText::Command, Resolution::Open) => {
                        return Err(CaptureError::OutcomeMissing)
                    }
                },
                CapturedMessage::Close(Target::Statement) => {
                    encode::close_complete(buf);
                    self.fate = StatementFate::Dropped;
                }
                CapturedMessage::Close(Target::Portal) => encode::close_complete(buf),
                CapturedMessage::Flush | CapturedMessage::Sync | CapturedMessage::Discarded(_) => {}
            }
        }
        self.answered = upto;
        Ok(())
    }
}

fn frame_tag(frame: &[u8]) -> Result<FeTag, DecodeError> {
    frame
        .first()
        .map(|&b| FeTag::from_byte(b))
        .ok_or(DecodeError { message: "frame" })
}
