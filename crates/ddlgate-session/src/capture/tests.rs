//! Capture tests: client frames are built with pgwire's frontend encoders, responses are split
//! with ddlgate-wire's [`Splitter`] and read with its decoders (ReadyForQuery, ErrorResponse) or
//! pgwire's backend decoder (everything else), so no expectation is a hand-written byte string.

use bytes::{Bytes, BytesMut};
use ddlgate_wire::decode;
use ddlgate_wire::encode::{Notice, Severity};
use ddlgate_wire::{BeTag, SplitStep, Splitter, SqlState, TagSet, TransactionStatus};
use pgwire::messages::extendedquery as fe;
use pgwire::messages::response::ErrorResponse;
use pgwire::messages::simplequery::Query;
use pgwire::messages::{DecodeContext, Message, PgWireBackendMessage, ProtocolVersion};

use super::*;
use crate::{Observation, PreparedRewrites};

const ALTER: &str = "alter table t add column c int";
const INDEX: &str = "create index i on t (c)";
const IDLE: TransactionStatus = TransactionStatus::Idle;
const IN_BLOCK: TransactionStatus = TransactionStatus::InBlock;
const FAILED: TransactionStatus = TransactionStatus::Failed;

// ---- client frames ----

fn enc(message: impl Message) -> Vec<u8> {
    let mut b = BytesMut::new();
    message.encode(&mut b).expect("encodes");
    b.to_vec()
}

/// pgwire writes `None` as the empty (unnamed) name.
fn name(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn parse(statement: &str, sql: &str) -> Vec<u8> {
    parse_typed(statement, sql, &[])
}

fn parse_typed(statement: &str, sql: &str, types: &[u32]) -> Vec<u8> {
    enc(fe::Parse::new(
        name(statement),
        sql.to_owned(),
        types.to_vec(),
    ))
}

fn bind(portal: &str, statement: &str) -> Vec<u8> {
    bind_params(portal, statement, 0)
}

fn bind_params(portal: &str, statement: &str, n: usize) -> Vec<u8> {
    let params = (0..n).map(|i| Some(Bytes::from(i.to_string()))).collect();
    enc(fe::Bind::new(
        name(portal),
        name(statement),
        vec![],
        params,
        vec![1],
    ))
}

fn describe_statement(statement: &str) -> Vec<u8> {
    enc(fe::Describe::new(b'S', name(statement)))
}

fn describe_portal(portal: &str) -> Vec<u8> {
    enc(fe::Describe::new(b'P', name(portal)))
}

fn execute(portal: &str) -> Vec<u8> {
    enc(fe::Execute::new(name(portal), 0))
}

fn close_statement(statement: &str) -> Vec<u8> {
    enc(fe::Close::new(b'S', name(statement)))
}

fn close_portal(portal: &str) -> Vec<u8> {
    enc(fe::Close::new(b'P', name(portal)))
}

fn flush() -> Vec<u8> {
    enc(fe::Flush::new())
}

fn sync() -> Vec<u8> {
    enc(fe::Sync::new())
}

fn query(sql: &str) -> Vec<u8> {
    enc(Query::new(sql.to_owned()))
}

// ---- responses ----

/// A decoded server message.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Resp {
    ParseComplete,
    BindComplete,
    ParameterDescription(Vec<u32>),
    NoData,
    CommandComplete(String),
    EmptyQuery,
    CloseComplete,
    Error(Option<SqlState>, String),
    Ready(TransactionStatus),
}

use Resp::{
    BindComplete, CloseComplete, CommandComplete, EmptyQuery, NoData, ParseComplete, Ready,
};

fn param_desc(types: &[u32]) -> Resp {
    Resp::ParameterDescription(types.to_vec())
}

fn tag(t: &str) -> Resp {
    CommandComplete(t.to_owned())
}

fn error(code: SqlState, message: &str) -> Resp {
    Resp::Error(Some(code), message.to_owned())
}

/// Splits a byte stream into whole frames with the wire crate's splitter.
fn frames(bytes: &[u8]) -> Vec<&[u8]> {
    let every = (0..=255u8).fold(TagSet::empty(), TagSet::with);
    let mut splitter = Splitter::new(every, 1 << 20, 1 << 20);
    let mut rest = bytes;
    let mut out = Vec::new();
    loop {
        match splitter.step(rest).expect("valid framing") {
            SplitStep::Frame(h) => {
                out.push(&rest[..h.total_len]);
                rest = &rest[h.total_len..];
            }
            SplitStep::NeedMore { frame_len } => {
                assert!(
                    rest.is_empty() && frame_len.is_none(),
                    "trailing partial frame: {rest:?}"
                );
                return out;
            }
            SplitStep::Stream { .. } => panic!("every frame is inspected"),
        }
    }
}

fn decode_one(frame: &[u8]) -> Resp {
    match BeTag::from_byte(frame[0]) {
        BeTag::ReadyForQuery => Resp::Ready(decode::ready_status(frame).expect("ReadyForQuery")),
        BeTag::ErrorResponse => {
            let f = decode::error_fields(frame).expect("ErrorResponse");
            assert_eq!(f.severity, b"ERROR");
            Resp::Error(f.code, String::from_utf8_lossy(f.message).into_owned())
        }
        _ => {
            let ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
            let mut buf = BytesMut::from(frame);
            let message = PgWireBackendMessage::decode(&mut buf, &ctx)
                .expect("decodes")
                .expect("whole frame");
            assert!(buf.is_empty(), "frame longer than its message");
            match message {
                PgWireBackendMessage::ParseComplete(_) => ParseComplete,
                PgWireBackendMessage::BindComplete(_) => BindComplete,
                PgWireBackendMessage::ParameterDescription(p) => {
                    Resp::ParameterDescription(p.types)
                }
                PgWireBackendMessage::NoData(_) => NoData,
                PgWireBackendMessage::CommandComplete(c) => CommandComplete(c.tag),
                PgWireBackendMessage::EmptyQueryResponse(_) => EmptyQuery,
                PgWireBackendMessage::CloseComplete(_) => CloseComplete,
                other => panic!("unexpected response {other:?}"),
            }
        }
    }
}

fn decode_all(bytes: &[u8]) -> Vec<Resp> {
    frames(bytes).into_iter().map(decode_one).collect()
}

// ---- driving ----

/// Starts a capture with the first frame and pushes the rest, returning the states.
fn capture(batch: &[Vec<u8>]) -> (Capture, Vec<CaptureState>) {
    let (first, rest) = batch.split_first().expect("a batch");
    let mut c = Capture::start(first).expect("starts");
    let states = rest.iter().map(|f| c.push(f).expect("captured")).collect();
    (c, states)
}

fn success(command_tag: &str) -> Outcome {
    Outcome::Success {
        command_tag: command_tag.to_owned(),
    }
}

/// The error a server sends for a failing `ALTER TABLE … ADD COLUMN`, as relayed bytes.
fn server_error_frame() -> Bytes {
    let fields = vec![
        (b'S', "ERROR".to_owned()),
        (b'V', "ERROR".to_owned()),
        (b'C', "42701".to_owned()),
        (
            b'M',
            "column \"c\" of relation \"t\" already exists".to_owned(),
        ),
        (b'F', "tablecmds.c".to_owned()),
        (b'L', "7327".to_owned()),
        (b'R', "check_for_column_name_collision".to_owned()),
    ];
    Bytes::from(enc(ErrorResponse::new(fields)))
}

fn server_error() -> Resp {
    error(
        SqlState::Other(*b"42701"),
        "column \"c\" of relation \"t\" already exists",
    )
}

fn blocked() -> ErrorBody {
    Notice::new(
        Severity::Error,
        SqlState::FeatureNotSupported,
        "ddlgate cannot run this statement here",
    )
    .hint("run it outside the batch")
    .into()
}

fn blocked_resp() -> Resp {
    error(
        SqlState::FeatureNotSupported,
        "ddlgate cannot run this statement here",
    )
}

fn unsupported(tag: FeTag, reason: Unsupported) -> CaptureError {
    CaptureError::Unsupported { tag, reason }
}

use CaptureState::{Collecting, Complete, FlushRequested};

// ---- drivers ----

#[test]
fn jdbc_named_parse_bind_describe_portal_execute_sync() {
    let batch = [
        parse("S_1", ALTER),
        bind("", "S_1"),
        describe_portal(""),
        execute(""),
        sync(),
    ];
    let (mut c, states) = capture(&batch);
    assert_eq!(states, [Collecting, Collecting, Collecting, Complete]);
    assert_eq!(
        c.messages(),
        [
            CapturedMessage::Parse,
            CapturedMessage::Bind {
                portal: Bytes::new()
            },
            CapturedMessage::Describe(Target::Portal),
            CapturedMessage::Execute {
                portal: Bytes::new(),
                limit: RowLimit::Unlimited
            },
            CapturedMessage::Sync,
        ]
    );
    assert_eq!(
        (c.statement().statement(), c.statement().sql()),
        (&b"S_1"[..], ALTER.as_bytes())
    );
    assert_eq!(c.execution(), Execution::Pending);
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(c.execution(), Execution::Settled);
    let out = c.respond(IDLE).expect("responds");
    assert_eq!(
        decode_all(&out),
        [
            ParseComplete,
            BindComplete,
            NoData,
            tag("ALTER TABLE"),
            Ready(IDLE)
        ]
    );
    assert_eq!(c.statement_fate(), Ok(StatementFate::Prepared));
}

#[test]
fn psycopg3_unnamed_statement_in_a_transaction_block() {
    // libpq's PQsendQueryParams, after psycopg's implicit BEGIN.
    let batch = [
        parse("", INDEX),
        bind("", ""),
        describe_portal(""),
        execute(""),
        sync(),
    ];
    let (mut c, _) = capture(&batch);
    c.record_outcome(success("CREATE INDEX")).expect("recorded");
    let out = c.respond(IN_BLOCK).expect("responds");
    assert_eq!(
        decode_all(&out),
        [
            ParseComplete,
            BindComplete,
            NoData,
            tag("CREATE INDEX"),
            Ready(IN_BLOCK)
        ]
    );
}

/// Prepare in one batch, bind in the next: the second batch is recognised through the table
/// and captured with `resume`.
fn prepare_then_execute(statement: &str, second: &[Vec<u8>]) -> (Vec<Resp>, Vec<Resp>) {
    let mut table: PreparedRewrites<&str> = PreparedRewrites::new();
    let first = [
        parse(statement, ALTER),
        describe_statement(statement),
        sync(),
    ];
    assert_eq!(table.observe(&first[0]), Ok(Observation::Proceed));
    let (mut c, states) = capture(&first);
    assert_eq!(states, [Collecting, Complete]);
    assert_eq!(c.execution(), Execution::NotRequested);
    let prepared = decode_all(&c.respond(IDLE).expect("responds"));
    table.settle(&c, "plan").expect("settled");

    let (rewrite, plan) = table.batch_start(&second[0]).expect("recognised");
    assert_eq!((rewrite.sql(), *plan), (ALTER.as_bytes(), "plan"));
    let mut c = Capture::resume(&second[0], rewrite).expect("resumes");
    for f in &second[1..] {
        c.push(f).expect("captured");
    }
    assert_eq!(c.execution(), Execution::Pending);
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    let executed = decode_all(&c.respond(IDLE).expect("responds"));
    table.settle(&c, "plan").expect("settled");
    assert!(
        table.get(statement.as_bytes()).is_some(),
        "still prepared for the next execution"
    );
    (prepared, executed)
}

#[test]
fn pgx_prepares_then_binds_with_portal_describe() {
    let stmt = "stmtcache_0f3a9c";
    let (prepared, executed) = prepare_then_execute(
        stmt,
        &[bind("", stmt), describe_portal(""), execute(""), sync()],
    );
    assert_eq!(
        prepared,
        [ParseComplete, param_desc(&[]), NoData, Ready(IDLE)]
    );
    assert_eq!(
        executed,
        [BindComplete, NoData, tag("ALTER TABLE"), Ready(IDLE)]
    );
}

#[test]
fn asyncpg_prepares_then_bind_execute() {
    let stmt = "__asyncpg_stmt_1__";
    let (prepared, executed) = prepare_then_execute(stmt, &[bind("", stmt), execute(""), sync()]);
    assert_eq!(
        prepared,
        [ParseComplete, param_desc(&[]), NoData, Ready(IDLE)]
    );
    assert_eq!(executed, [BindComplete, tag("ALTER TABLE"), Ready(IDLE)]);
}

#[test]
fn tokio_postgres_execute_then_statement_drop() {
    let (prepared, executed) = prepare_then_execute("s0", &[bind("", "s0"), execute(""), sync()]);
    assert_eq!(
        prepared,
        [ParseComplete, param_desc(&[]), NoData, Ready(IDLE)]
    );
    assert_eq!(executed, [BindComplete, tag("ALTER TABLE"), Ready(IDLE)]);

    // Dropping the Statement sends Close/Sync, which is forwarded: the server answers
    // CloseComplete for an unknown name too, and the table forgets it.
    let mut table: PreparedRewrites<()> = PreparedRewrites::new();
    let (mut c, _) = capture(&[parse("s0", ALTER), describe_statement("s0"), sync()]);
    c.respond(IDLE).expect("responds");
    table.settle(&c, ()).expect("settled");
    assert_eq!(
        table.observe(&close_statement("s0")),
        Ok(Observation::Proceed)
    );
    assert!(table.is_empty());
    assert!(table.batch_start(&bind("", "s0")).is_none());
}

#[test]
fn resumed_batch_failure_keeps_the_statement() {
    let mut table: PreparedRewrites<u8> = PreparedRewrites::new();
    let (mut c, _) = capture(&[parse("s1", ALTER), describe_statement("s1"), sync()]);
    c.respond(IDLE).expect("responds");
    table.settle(&c, 7).expect("settled");
    let second = [bind("", "s1"), execute(""), close_statement("s1"), sync()];
    let (rewrite, _) = table.batch_start(&second[0]).expect("recognised");
    let mut c = Capture::resume(&second[0], rewrite).expect("resumes");
    c.push(&second[1]).expect("captured");
    c.record_outcome(Outcome::Failed(
        ErrorBody::relayed(server_error_frame()).expect("error frame"),
    ))
    .expect("recorded");
    assert_eq!(c.push(&second[2]), Ok(Collecting));
    assert_eq!(c.push(&second[3]), Ok(Complete));
    let out = c.respond(IDLE).expect("responds");
    assert_eq!(
        decode_all(&out),
        [BindComplete, server_error(), Ready(IDLE)]
    );
    // The Close came after the error, so the server ignored it.
    assert_eq!(c.statement_fate(), Ok(StatementFate::Prepared));
    table.settle(&c, 7).expect("settled");
    assert_eq!(table.get(b"s1").map(|(_, p)| *p), Some(7));
}

// ---- pipelining ----

/// Splits a client byte stream into frames (as the proxy does) for pipelining tests.
fn client_frames(stream: &[u8]) -> Vec<Vec<u8>> {
    frames(stream).into_iter().map(<[u8]>::to_vec).collect()
}

#[test]
fn pipelined_batches_end_the_capture_at_its_sync() {
    let stream: Vec<u8> = [
        parse("", ALTER),
        bind("", ""),
        execute(""),
        sync(),
        parse("", "select 1"),
        sync(),
    ]
    .concat();
    let frames = client_frames(&stream);
    let mut c = Capture::start(&frames[0]).expect("starts");
    let mut used = 1;
    while c.push(&frames[used]).expect("captured") != Complete {
        used += 1;
    }
    used += 1;
    assert_eq!(used, 4, "the capture ends at the first Sync");
    assert_eq!(c.push(&frames[used]), Err(CaptureError::Finished));
    assert_eq!(
        frames[used][0], b'P',
        "the next batch is the proxy's to forward"
    );
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [ParseComplete, BindComplete, tag("ALTER TABLE"), Ready(IDLE)]
    );
}

#[test]
fn pipelined_prepare_and_execute_batches_answer_in_order() {
    let stream: Vec<u8> = [
        parse("p", ALTER),
        describe_statement("p"),
        sync(),
        bind("", "p"),
        describe_portal(""),
        execute(""),
        sync(),
    ]
    .concat();
    let frames = client_frames(&stream);
    let mut table: PreparedRewrites<()> = PreparedRewrites::new();
    let mut out = BytesMut::new();
    let mut next = 0;
    let mut batches = 0;
    while next < frames.len() {
        let mut c = match table.batch_start(&frames[next]) {
            Some((rewrite, ())) => Capture::resume(&frames[next], rewrite).expect("resumes"),
            None => Capture::start(&frames[next]).expect("starts"),
        };
        next += 1;
        while c.state() != Complete {
            c.push(&frames[next]).expect("captured");
            next += 1;
        }
        if c.execution() == Execution::Pending {
            c.record_outcome(success("ALTER TABLE")).expect("recorded");
        }
        out.extend_from_slice(&c.respond(IDLE).expect("responds"));
        table.settle(&c, ()).expect("settled");
        batches += 1;
    }
    assert_eq!(batches, 2);
    assert_eq!(
        decode_all(&out),
        [
            ParseComplete,
            param_desc(&[]),
            NoData,
            Ready(IDLE),
            BindComplete,
            NoData,
            tag("ALTER TABLE"),
            Ready(IDLE)
        ]
    );
}

// ---- describe, flush ----

#[test]
fn statement_describe_before_execute_reports_declared_types() {
    let batch = [
        parse_typed("", ALTER, &[23, 25]),
        describe_statement(""),
        bind_params("", "", 2),
        execute(""),
        sync(),
    ];
    let (mut c, _) = capture(&batch);
    assert_eq!(c.statement().param_types(), [23, 25]);
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [
            ParseComplete,
            param_desc(&[23, 25]),
            NoData,
            BindComplete,
            tag("ALTER TABLE"),
            Ready(IDLE)
        ]
    );
}

#[test]
fn describe_of_the_portal_after_execute_is_answered() {
    let batch = [
        parse("", ALTER),
        bind("cur", ""),
        execute("cur"),
        describe_portal("cur"),
        close_portal("cur"),
        sync(),
    ];
    let (mut c, _) = capture(&batch);
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [
            ParseComplete,
            BindComplete,
            tag("ALTER TABLE"),
            NoData,
            CloseComplete,
            Ready(IDLE)
        ]
    );
}

#[test]
fn flush_after_execute_needs_the_plan_before_sync() {
    let (mut c, states) = capture(&[parse("", ALTER), bind("", ""), execute(""), flush()]);
    assert_eq!(states, [Collecting, Collecting, FlushRequested]);
    assert_eq!(c.execution(), Execution::Pending);
    assert_eq!(c.respond_until_flush(), Err(CaptureError::OutcomeMissing));
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    let first = c.respond_until_flush().expect("responds");
    assert_eq!(
        decode_all(&first),
        [ParseComplete, BindComplete, tag("ALTER TABLE")]
    );
    assert!(c.respond_until_flush().expect("nothing new").is_empty());
    assert_eq!(c.respond(IDLE), Err(CaptureError::NotComplete));
    assert_eq!(c.push(&sync()), Ok(Complete));
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [Ready(IDLE)]
    );
}

#[test]
fn flush_before_execute_is_answered_without_the_plan() {
    let (mut c, states) = capture(&[parse("", ALTER), describe_statement(""), flush()]);
    assert_eq!(states, [Collecting, FlushRequested]);
    assert_eq!(c.execution(), Execution::NotRequested);
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [ParseComplete, param_desc(&[]), NoData]
    );
    for f in [bind("", ""), execute(""), sync()] {
        c.push(&f).expect("captured");
    }
    assert_eq!(c.execution(), Execution::Pending);
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [BindComplete, tag("ALTER TABLE"), Ready(IDLE)]
    );
}

#[test]
fn every_flush_answers_what_came_before_it() {
    let mut c = Capture::start(&parse("", ALTER)).expect("starts");
    assert_eq!(c.push(&flush()), Ok(FlushRequested));
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [ParseComplete]
    );
    c.push(&bind("", "")).expect("captured");
    // Without a new Flush nothing is due yet.
    assert!(c.respond_until_flush().expect("responds").is_empty());
    assert_eq!(c.push(&flush()), Ok(FlushRequested));
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [BindComplete]
    );
    c.push(&execute("")).expect("captured");
    assert_eq!(c.push(&flush()), Ok(FlushRequested));
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [tag("ALTER TABLE")]
    );
    assert_eq!(c.push(&sync()), Ok(Complete));
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [Ready(IDLE)]
    );
}

// ---- failures ----

#[test]
fn failed_plan_is_reported_at_execute_and_the_rest_discarded() {
    let frame = server_error_frame();
    let batch = [
        parse("s", ALTER),
        bind("", "s"),
        describe_portal(""),
        execute(""),
        close_portal(""),
        close_statement("s"),
        sync(),
    ];
    let (mut c, _) = capture(&batch);
    c.record_outcome(Outcome::Failed(
        ErrorBody::relayed(frame.clone()).expect("error frame"),
    ))
    .expect("recorded");
    let out = c.respond(FAILED).expect("responds");
    assert_eq!(
        decode_all(&out),
        [
            ParseComplete,
            BindComplete,
            NoData,
            server_error(),
            Ready(FAILED)
        ]
    );
    // The server's frame is relayed byte for byte.
    assert_eq!(frames(&out)[3], &frame[..]);
    // The Close of the statement was discarded: the client still holds it.
    assert_eq!(c.statement_fate(), Ok(StatementFate::Prepared));
}

#[test]
fn failure_answered_at_a_flush_discards_everything_until_sync() {
    let (mut c, _) = capture(&[parse("", ALTER), bind("", ""), execute(""), flush()]);
    let lock = Notice::new(
        Severity::Error,
        SqlState::LockNotAvailable,
        "canceling statement due to lock timeout",
    );
    c.record_outcome(Outcome::Failed(lock.into()))
        .expect("recorded");
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [
            ParseComplete,
            BindComplete,
            error(
                SqlState::LockNotAvailable,
                "canceling statement due to lock timeout"
            )
        ]
    );
    // After the error the server reads nothing but Sync, so even messages the capture could
    // not answer are fine now.
    for f in [bind("", "other"), query("select 1"), execute(""), flush()] {
        c.push(&f).expect("discarded");
    }
    assert!(c.respond_until_flush().expect("nothing").is_empty());
    assert_eq!(c.push(&sync()), Ok(Complete));
    assert_eq!(
        decode_all(&c.respond(IN_BLOCK).expect("responds")),
        [Ready(IN_BLOCK)]
    );
}

#[test]
fn refused_batch_fails_at_its_first_message() {
    let (mut c, _) = capture(&[parse("", ALTER), bind("", "")]);
    assert_eq!(
        c.push(&bind("", "other")),
        Err(unsupported(FeTag::Bind, Unsupported::OtherStatement)),
        "another statement needs the real server"
    );
    c.refuse(blocked()).expect("refused");
    assert_eq!(c.execution(), Execution::Settled);
    // The error can go out at once; the rest is discarded.
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [blocked_resp()]
    );
    assert_eq!(c.push(&execute("")), Ok(Collecting));
    assert_eq!(c.push(&sync()), Ok(Complete));
    assert_eq!(
        c.messages()[2..],
        [
            CapturedMessage::Discarded(FeTag::Execute),
            CapturedMessage::Sync
        ]
    );
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [Ready(IDLE)]
    );
    // The unnamed Parse failed, which drops the previous unnamed statement.
    assert_eq!(c.statement_fate(), Ok(StatementFate::Dropped));
}

#[test]
fn refusal_after_an_answered_flush_fails_the_next_message() {
    let (mut c, _) = capture(&[parse("s", ALTER), flush()]);
    assert_eq!(
        decode_all(&c.respond_until_flush().expect("responds")),
        [ParseComplete]
    );
    c.push(&bind("", "s")).expect("captured");
    c.push(&execute("")).expect("captured");
    c.push(&sync()).expect("captured");
    c.refuse(blocked()).expect("refused");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [blocked_resp(), Ready(IDLE)]
    );
    assert_eq!(
        c.statement_fate(),
        Ok(StatementFate::Prepared),
        "ParseComplete was sent"
    );
}

#[test]
fn duplicate_statement_name_is_refused_like_the_server() {
    let mut table: PreparedRewrites<&str> = PreparedRewrites::new();
    let (mut c, _) = capture(&[parse("s1", ALTER), describe_statement("s1"), sync()]);
    c.respond(IDLE).expect("responds");
    table.settle(&c, "first").expect("settled");

    let clash = parse("s1", INDEX);
    assert_eq!(table.observe(&clash), Ok(Observation::DuplicateStatement));
    let mut c = Capture::start(&clash).expect("starts");
    let exists = Notice::new(
        Severity::Error,
        SqlState::Other(*b"42P05"),
        "prepared statement \"s1\" already exists",
    );
    c.refuse(exists.into()).expect("refused");
    c.push(&describe_statement("s1")).expect("discarded");
    c.push(&sync()).expect("captured");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [
            error(
                SqlState::Other(*b"42P05"),
                "prepared statement \"s1\" already exists"
            ),
            Ready(IDLE)
        ]
    );
    assert_eq!(c.statement_fate(), Ok(StatementFate::Unchanged));
    table.settle(&c, "second").expect("settled");
    let (rewrite, plan) = table.get(b"s1").expect("still held");
    assert_eq!((rewrite.sql(), *plan), (ALTER.as_bytes(), "first"));
}

// ---- close, empty query ----

#[test]
fn close_of_the_statement_frees_the_name() {
    let mut table: PreparedRewrites<()> = PreparedRewrites::new();
    let (mut c, _) = capture(&[parse("s1", ALTER), describe_statement("s1"), sync()]);
    c.respond(IDLE).expect("responds");
    table.settle(&c, ()).expect("settled");

    let batch = [bind("", "s1"), execute(""), close_statement("s1"), sync()];
    let (rewrite, ()) = table.batch_start(&batch[0]).expect("recognised");
    let mut c = Capture::resume(&batch[0], rewrite).expect("resumes");
    for f in &batch[1..] {
        c.push(f).expect("captured");
    }
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [BindComplete, tag("ALTER TABLE"), CloseComplete, Ready(IDLE)]
    );
    assert_eq!(c.statement_fate(), Ok(StatementFate::Dropped));
    table.settle(&c, ()).expect("settled");
    assert!(table.is_empty());
}

#[test]
fn messages_after_a_close_cannot_use_the_statement_or_portal() {
    let (mut c, _) = capture(&[parse("s", ALTER), close_statement("s")]);
    assert_eq!(
        c.push(&bind("", "s")),
        Err(unsupported(FeTag::Bind, Unsupported::StatementClosed))
    );
    assert_eq!(
        c.push(&describe_statement("s")),
        Err(unsupported(FeTag::Describe, Unsupported::StatementClosed))
    );
    assert_eq!(
        c.push(&close_statement("s")),
        Ok(Collecting),
        "closing twice is no error"
    );

    let (mut c, _) = capture(&[parse("", ALTER), bind("", ""), close_portal("")]);
    assert_eq!(
        c.push(&execute("")),
        Err(unsupported(FeTag::Execute, Unsupported::UnknownPortal))
    );
    assert_eq!(c.push(&sync()), Ok(Complete));
    assert_eq!(c.execution(), Execution::NotRequested);
    assert_eq!(
        decode_all(&c.respond(IDLE).expect("responds")),
        [ParseComplete, BindComplete, CloseComplete, Ready(IDLE)]
    );
}

#[test]
fn empty_query_executes_to_empty_query_response() {
    for sql in ["", "  ;\n"] {
        let (mut c, _) = capture(&[
            parse("", sql),
            bind("", ""),
            describe_portal(""),
            execute(""),
            sync(),
        ]);
        assert_eq!(c.execution(), Execution::NotRequested);
        assert_eq!(
            c.record_outcome(success("ALTER TABLE")),
            Err(CaptureError::NothingToExecute)
        );
        assert_eq!(
            decode_all(&c.respond(IDLE).expect("responds")),
            [ParseComplete, BindComplete, NoData, EmptyQuery, Ready(IDLE)]
        );
    }
}

// ---- unsupported and malformed ----

#[test]
fn unsupported_mixes_leave_the_capture_unchanged() {
    let bound = || vec![parse("s", ALTER), bind("", "s")];
    let cases: Vec<(Vec<Vec<u8>>, Vec<u8>, Unsupported)> = vec![
        (
            vec![parse("s", ALTER)],
            parse("t", "select 1"),
            Unsupported::AnotherParse,
        ),
        (
            vec![parse("s", ALTER)],
            parse("s", ALTER),
            Unsupported::AnotherParse,
        ),
        (
            vec![parse("s", ALTER)],
            bind("", "other"),
            Unsupported::OtherStatement,
        ),
        (
            vec![parse("s", ALTER)],
            bind("", ""),
            Unsupported::OtherStatement,
        ),
        (
            vec![parse("s", ALTER)],
            describe_statement("other"),
            Unsupported::OtherStatement,
        ),
        (
            vec![parse("s", ALTER)],
            describe_portal(""),
            Unsupported::UnknownPortal,
        ),
        (
            vec![parse("s", ALTER)],
            execute(""),
            Unsupported::UnknownPortal,
        ),
        (
            vec![parse("s", ALTER)],
            close_statement("other"),
            Unsupported::OtherStatement,
        ),
        (
            vec![parse("s", ALTER)],
            close_portal(""),
            Unsupported::UnknownPortal,
        ),
        (
            vec![parse("s", ALTER)],
            bind_params("", "s", 1),
            Unsupported::ParameterCount {
                declared: 0,
                supplied: 1,
            },
        ),
        (
            vec![parse_typed("s", ALTER, &[23])],
            bind("", "s"),
            Unsupported::ParameterCount {
                declared: 1,
                supplied: 0,
            },
        ),
        (bound(), bind("p2", "s"), Unsupported::RepeatedBind),
        (bound(), execute("other"), Unsupported::UnknownPortal),
        (
            bound(),
            describe_portal("other"),
            Unsupported::UnknownPortal,
        ),
        (
            vec![parse("s", ALTER), bind("", "s"), execute("")],
            execute(""),
            Unsupported::RepeatedExecute,
        ),
        (bound(), query("select 1"), Unsupported::UnexpectedMessage),
        (
            bound(),
            enc(pgwire::messages::copy::CopyDone::new()),
            Unsupported::UnexpectedMessage,
        ),
    ];
    for (before, offending, reason) in cases {
        let (mut c, _) = capture(&before);
        let snapshot = (c.messages().to_vec(), c.state(), c.execution());
        let tag = FeTag::from_byte(offending[0]);
        assert_eq!(
            c.push(&offending),
            Err(unsupported(tag, reason)),
            "{reason:?}"
        );
        assert_eq!(
            (c.messages().to_vec(), c.state(), c.execution()),
            snapshot,
            "{reason:?} changed the capture"
        );
    }
}

#[test]
fn batch_starts_are_checked() {
    assert_eq!(
        Capture::start(&bind("", "")).map(|_| ()),
        Err(unsupported(FeTag::Bind, Unsupported::NotABatchStart))
    );
    assert_eq!(
        Capture::start(&parse_typed("", ALTER, &[25, 0])).map(|_| ()),
        Err(unsupported(
            FeTag::Parse,
            Unsupported::UndeterminedParameterType { position: 2 }
        ))
    );
    assert!(
        Capture::start(&parse_typed("", "", &[0])).is_ok(),
        "an empty query is never analysed"
    );

    let prepared = PreparedRewrite::new(b"s", ALTER.as_bytes(), Vec::new());
    for (frame, tag, reason) in [
        (execute(""), FeTag::Execute, Unsupported::NotABatchStart),
        (sync(), FeTag::Sync, Unsupported::NotABatchStart),
        (
            describe_portal(""),
            FeTag::Describe,
            Unsupported::UnknownPortal,
        ),
        (bind("", "other"), FeTag::Bind, Unsupported::OtherStatement),
    ] {
        assert_eq!(
            Capture::resume(&frame, &prepared).map(|_| ()),
            Err(unsupported(tag, reason))
        );
    }
    let c = Capture::resume(&describe_statement("s"), &prepared).expect("resumes");
    assert_eq!(c.messages(), [CapturedMessage::Describe(Target::Statement)]);
}

#[test]
fn malformed_frames_are_reported() {
    let malformed = |message| Err(CaptureError::Malformed(DecodeError { message }));
    let p = parse("s", ALTER);
    assert_eq!(
        Capture::start(&p[..p.len() - 1]).map(|_| ()),
        malformed("Parse")
    );
    assert_eq!(Capture::start(&[]).map(|_| ()), malformed("frame"));

    let (mut c, _) = capture(&[parse("s", ALTER)]);
    let b = bind("", "s");
    assert_eq!(c.push(&b[..b.len() - 4]).map(|_| ()), malformed("Bind"));
    let mut d = describe_statement("s");
    d[5] = b'X';
    assert_eq!(c.push(&d).map(|_| ()), malformed("Describe"));
    c.push(&b).expect("captured");
    let e = execute("");
    assert_eq!(c.push(&e[..e.len() - 1]).map(|_| ()), malformed("Execute"));
    assert_eq!(c.messages().len(), 2);
}

#[test]
fn execute_row_limit_is_recorded() {
    let (c, _) = capture(&[
        parse("", ALTER),
        bind("", ""),
        enc(fe::Execute::new(None, 50)),
    ]);
    assert_eq!(
        c.messages()[2],
        CapturedMessage::Execute {
            portal: Bytes::new(),
            limit: RowLimit::Rows(50)
        }
    );
}

// ---- caller contract ----

#[test]
fn outcome_and_response_contract() {
    let (mut c, _) = capture(&[parse("", ALTER), bind("", ""), execute(""), sync()]);
    assert_eq!(c.statement_fate(), Err(CaptureError::NotComplete));
    assert_eq!(c.respond(IDLE), Err(CaptureError::OutcomeMissing));
    for bad in ["", "ALTER\0TABLE", "X".repeat(64).as_str()] {
        assert_eq!(
            c.record_outcome(success(bad)),
            Err(CaptureError::InvalidCommandTag)
        );
    }
    c.record_outcome(success("ALTER TABLE")).expect("recorded");
    assert_eq!(
        c.record_outcome(success("ALTER TABLE")),
        Err(CaptureError::AlreadySettled)
    );
    assert_eq!(c.refuse(blocked()), Err(CaptureError::AlreadySettled));
    assert_eq!(c.push(&sync()), Err(CaptureError::Finished));
    c.respond(IDLE).expect("responds");
    assert_eq!(c.respond(IDLE), Err(CaptureError::Finished));
    assert_eq!(c.refuse(blocked()), Err(CaptureError::Finished));

    let (mut c, _) = capture(&[parse("", ALTER), describe_statement(""), sync()]);
    assert_eq!(
        c.record_outcome(success("ALTER TABLE")),
        Err(CaptureError::NothingToExecute)
    );
}

#[test]
fn relayed_errors_must_be_one_whole_error_response() {
    let frame = server_error_frame();
    assert!(ErrorBody::relayed(frame.clone()).is_ok());
    let mut notice = frame.to_vec();
    notice[0] = b'N';
    let mut trailing = frame.to_vec();
    trailing.push(0);
    for bad in [
        Bytes::from(notice),
        frame.slice(..frame.len() - 1),
        Bytes::from(trailing),
        Bytes::new(),
    ] {
        assert_eq!(
            ErrorBody::relayed(bad),
            Err(CaptureError::NotAnErrorResponse)
        );
    }
}

// ---- the prepared-statement table ----

#[test]
fn prepared_rewrites_follow_the_server_lifetimes() {
    let mut table: PreparedRewrites<u32> = PreparedRewrites::new();
    for (statement, payload) in [("", 1), ("s1", 2)] {
        let (mut c, _) = capture(&[parse(statement, ALTER), sync()]);
        c.respond(IDLE).expect("responds");
        table.settle(&c, payload).expect("settled");
    }
    assert_eq!(table.len(), 2);

    // Batch starts: a Bind or a statement Describe of a held name.
    assert!(table.batch_start(&bind("", "")).is_some());
    assert!(table.batch_start(&describe_statement("s1")).is_some());
    assert!(table.batch_start(&describe_portal("")).is_none());
    assert!(table.batch_start(&execute("")).is_none());
    assert!(table.batch_start(&bind("", "s2")).is_none());
    assert!(table.batch_start(&[]).is_none());

    // A forwarded Parse of another name, or a Bind, changes nothing.
    assert_eq!(
        table.observe(&parse("s2", "select 1")),
        Ok(Observation::Proceed)
    );
    assert_eq!(table.observe(&bind("", "s1")), Ok(Observation::Proceed));
    assert_eq!(table.len(), 2);
    // A Parse of a held name clashes and changes nothing.
    assert_eq!(
        table.observe(&parse("s1", "select 1")),
        Ok(Observation::DuplicateStatement)
    );
    assert_eq!(table.len(), 2);
    // A simple Query destroys the unnamed statement.
    assert_eq!(table.observe(&query("select 1")), Ok(Observation::Proceed));
    assert!(table.get(b"").is_none());
    // So does a Parse of the unnamed statement.
    let (mut c, _) = capture(&[parse("", ALTER), sync()]);
    c.respond(IDLE).expect("responds");
    table.settle(&c, 3).expect("settled");
    assert_eq!(
        table.observe(&parse("", "select 1")),
        Ok(Observation::Proceed)
    );
    assert!(table.get(b"").is_none());
    // Closing a portal does not touch statements; closing the statement does.
    assert_eq!(table.observe(&close_portal("s1")), Ok(Observation::Proceed));
    assert_eq!(table.get(b"s1").map(|(_, p)| *p), Some(2));
    assert_eq!(
        table.observe(&close_statement("s1")),
        Ok(Observation::Proceed)
    );
    assert!(table.is_empty());

    assert!(table.observe(&[]).is_err());
    assert!(table.observe(&parse("x", "y")[..8]).is_err());

    table.settle(&c, 4).expect("settled");
    assert_eq!(table.remove(b""), Some(4));
    table.settle(&c, 5).expect("settled");
    table.clear();
    assert!(table.is_empty());
}

#[test]
fn settle_needs_an_answered_batch() {
    let mut table: PreparedRewrites<()> = PreparedRewrites::new();
    let (c, _) = capture(&[parse("s", ALTER), sync()]);
    assert_eq!(table.settle(&c, ()), Err(CaptureError::NotComplete));
    assert!(table.is_empty());
}

#[test]
fn inspect_set_covers_every_extended_query_message() {
    for tag in [
        FeTag::Parse,
        FeTag::Bind,
        FeTag::Describe,
        FeTag::Execute,
        FeTag::Close,
        FeTag::Flush,
        FeTag::Sync,
        FeTag::Query,
    ] {
        assert!(CAPTURE_INSPECT.contains(tag.byte()), "{tag:?}");
    }
    assert!(
        !CAPTURE_INSPECT.contains(FeTag::CopyData.byte()),
        "CopyData must stream"
    );
}

#[test]
fn readers_reject_what_the_server_rejects() {
    let malformed = |message| Err(DecodeError { message });
    // Trailing bytes.
    for (frame, message) in [
        (parse("s", ALTER), "Parse"),
        (bind("", "s"), "Bind"),
        (execute(""), "Execute"),
    ] {
        let mut long = frame.clone();
        long.push(0);
        let check = match message {
            "Parse" => read::parse(&long).map(|_| ()),
            "Bind" => read::bind(&long).map(|_| ()),
            _ => read::execute(&long).map(|_| ()),
        };
        assert_eq!(check, malformed(message));
    }
    let mut d = describe_statement("s");
    d.push(0);
    assert_eq!(
        read::target(&d, "Describe").map(|_| ()),
        malformed("Describe")
    );
    // NULL parameters are fine, other negative lengths are not.
    let with_null = enc(fe::Bind::new(
        None,
        Some("s".into()),
        vec![0],
        vec![None, Some(Bytes::from("x"))],
        vec![],
    ));
    assert_eq!(read::bind(&with_null).map(|b| b.params), Ok(2));
    let mut negative = with_null.clone();
    // Header 5, portal 1, statement 2, one format code 2 + 2, parameter count 2.
    let at = 5 + 1 + 2 + 4 + 2;
    negative[at..at + 4].copy_from_slice(&(-2i32).to_be_bytes());
    assert_eq!(read::bind(&negative).map(|_| ()), malformed("Bind"));
}

#[test]
fn resumed_batch_in_a_failed_transaction_is_refused_with_25p02() {
    let prepared = PreparedRewrite::new(b"s", ALTER.as_bytes(), Vec::new());
    let batch = [bind("", "s"), execute(""), sync()];
    let mut c = Capture::resume(&batch[0], &prepared).expect("resumes");
    let aborted = Notice::new(
        Severity::Error,
        SqlState::InFailedSqlTransaction,
        "current transaction is aborted, commands ignored until end of transaction block",
    );
    c.refuse(aborted.into()).expect("refused");
    for f in &batch[1..] {
        c.push(f).expect("discarded");
    }
    assert_eq!(
        decode_all(&c.respond(FAILED).expect("responds")),
        [
            error(
                SqlState::InFailedSqlTransaction,
                "current transaction is aborted, commands ignored until end of transaction block"
            ),
            Ready(FAILED)
        ]
    );
    // Prepared statements outlive transactions.
    assert_eq!(c.statement_fate(), Ok(StatementFate::Prepared));
}
