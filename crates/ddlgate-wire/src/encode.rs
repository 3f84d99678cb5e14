//! Encoders for the messages the gateway synthesises. Error and notice bodies go through
//! `pgwire`'s message types; everything the gateway forwards is never re-encoded.

use bytes::{BufMut, BytesMut};
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{BindComplete, CloseComplete, ParseComplete};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse};
use pgwire::messages::response::{
    ErrorResponse, NoticeResponse, ReadyForQuery, TransactionStatus as PgTx,
};
use pgwire::messages::Message;

use crate::tags::TransactionStatus;
use crate::SqlState;

/// Severity of an error or notice ([Error and Notice Message Fields](https://www.postgresql.org/docs/current/protocol-error-fields.html)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Aborts the current statement.
    Error,
    /// Aborts the session.
    Fatal,
    /// A warning notice.
    Warning,
    /// An informational notice.
    Notice,
    /// A low-priority notice.
    Info,
}

impl Severity {
    /// The non-localized severity word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Fatal => "FATAL",
            Self::Warning => "WARNING",
            Self::Notice => "NOTICE",
            Self::Info => "INFO",
        }
    }
}

/// An ErrorResponse or NoticeResponse built by the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Severity.
    pub severity: Severity,
    /// SQLSTATE.
    pub code: SqlState,
    /// Primary message.
    pub message: String,
    /// Optional `D` detail.
    pub detail: Option<String>,
    /// Optional `H` hint.
    pub hint: Option<String>,
    /// The objects an integrity error is about (`s`, `t`, `c`, `n`); boxed, as most notices
    /// have none.
    pub objects: Option<Box<ErrorObjects>>,
}

/// The schema, table, column and constraint fields of an error
/// (<https://www.postgresql.org/docs/current/protocol-error-fields.html>).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorObjects {
    /// `s`: schema name.
    pub schema: Option<String>,
    /// `t`: table name.
    pub table: Option<String>,
    /// `c`: column name.
    pub column: Option<String>,
    /// `n`: constraint name.
    pub constraint: Option<String>,
}

impl Notice {
    /// A notice with no detail or hint.
    pub fn new(severity: Severity, code: SqlState, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            objects: None,
        }
    }

    /// Adds the objects the error is about.
    pub fn objects(mut self, objects: ErrorObjects) -> Self {
        self.objects = Some(Box::new(objects));
        self
    }

    /// Adds a detail line.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    fn fields(&self) -> Vec<(u8, String)> {
        let mut f = vec![
            (b'S', self.severity.as_str().to_owned()),
            (b'V', self.severity.as_str().to_owned()),
            (b'C', self.code.code().to_owned()),
            (b'M', self.message.clone()),
        ];
        if let Some(d) = &self.detail {
            f.push((b'D', d.clone()));
        }
        if let Some(h) = &self.hint {
            f.push((b'H', h.clone()));
        }
        if let Some(o) = &self.objects {
            for (code, value) in [
                (b's', &o.schema),
                (b't', &o.table),
                (b'c', &o.column),
                (b'n', &o.constraint),
            ] {
                if let Some(v) = value {
                    f.push((code, v.clone()));
                }
            }
        }
        f
    }

    /// Appends this as an ErrorResponse.
    pub fn encode_error(&self, buf: &mut BytesMut) {
        // Encoding into a BytesMut only fails past pgwire's size limit (i32::MAX).
        let _ = ErrorResponse::new(self.fields()).encode(buf);
    }

    /// Appends this as a NoticeResponse.
    pub fn encode_notice(&self, buf: &mut BytesMut) {
        let _ = NoticeResponse::new(self.fields()).encode(buf);
    }
}

/// A whole frame: type byte, length, body. For messages pgwire has no type for, and tests.
pub fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 5);
    v.push(tag);
    v.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A simple Query message carrying `sql` byte for byte (it may be in any client encoding, so
/// it is not passed through `String`).
pub fn query(sql: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(sql.len() + 1);
    body.extend_from_slice(sql);
    body.push(0);
    frame(b'Q', &body)
}

/// An ErrorResponse/NoticeResponse frame without its `P` (cursor position) field: for an
/// error raised by SQL the gateway ran, whose positions do not point into the client's text.
/// Returns the frame unchanged if it is malformed.
pub fn without_position(frame: &[u8]) -> Vec<u8> {
    let Some(body) = frame.get(5..) else {
        return frame.to_vec();
    };
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some((&code, r)) = rest.split_first() {
        if code == 0 {
            out.push(0);
            return self::frame(frame[0], &out);
        }
        let Some(nul) = r.iter().position(|&b| b == 0) else {
            return frame.to_vec();
        };
        if code != b'P' {
            out.push(code);
            out.extend_from_slice(&r[..=nul]);
        }
        rest = &r[nul + 1..];
    }
    frame.to_vec()
}

/// Appends a ReadyForQuery.
pub fn ready_for_query(status: TransactionStatus, buf: &mut BytesMut) {
    let status = match status {
        TransactionStatus::Idle => PgTx::Idle,
        TransactionStatus::InBlock => PgTx::Transaction,
        TransactionStatus::Failed => PgTx::Error,
    };
    let _ = ReadyForQuery::new(status).encode(buf);
}

/// Appends a BackendKeyData with a secret of any length (4 bytes for protocol 3.0).
pub fn backend_key_data(pid: u32, secret: &[u8], buf: &mut BytesMut) {
    buf.put_u8(b'K');
    buf.put_u32((8 + secret.len()) as u32);
    buf.put_u32(pid);
    buf.put_slice(secret);
}

/// Appends an AuthenticationSASL request offering `mechanisms`.
pub fn authentication_sasl<'a>(mechanisms: impl IntoIterator<Item = &'a [u8]>, buf: &mut BytesMut) {
    let mut body = BytesMut::new();
    body.put_u32(10);
    for m in mechanisms {
        body.put_slice(m);
        body.put_u8(0);
    }
    body.put_u8(0);
    buf.put_u8(b'R');
    buf.put_u32((body.len() + 4) as u32);
    buf.put_slice(&body);
}

/// Appends `message`, or nothing at all if pgwire refuses it (over its size limit): pgwire
/// writes the type byte before checking the length, and a stray byte would desynchronise the
/// client.
fn encode_whole(message: &impl Message, buf: &mut BytesMut) {
    let start = buf.len();
    if message.encode(buf).is_err() {
        buf.truncate(start);
    }
}

/// Appends a ParseComplete (`1`), the answer to a `Parse`.
pub fn parse_complete(buf: &mut BytesMut) {
    encode_whole(&ParseComplete::new(), buf);
}

/// Appends a BindComplete (`2`), the answer to a `Bind`.
pub fn bind_complete(buf: &mut BytesMut) {
    encode_whole(&BindComplete::new(), buf);
}

/// Appends a CloseComplete (`3`), the answer to a `Close`.
pub fn close_complete(buf: &mut BytesMut) {
    encode_whole(&CloseComplete::new(), buf);
}

/// Appends a NoData (`n`): the statement or portal described returns no rows.
pub fn no_data(buf: &mut BytesMut) {
    encode_whole(&NoData::new(), buf);
}

/// Appends a ParameterDescription (`t`) listing parameter type OIDs. A `Parse` declares at most
/// 65,535 of them, which always fits.
pub fn parameter_description(types: &[u32], buf: &mut BytesMut) {
    encode_whole(&ParameterDescription::new(types.to_vec()), buf);
}

/// Appends a CommandComplete (`C`) with a command tag such as `ALTER TABLE`. The tag must not
/// contain NUL; PostgreSQL's tags are under 64 bytes, and a tag over pgwire's backend limit
/// (30,000 bytes) is not written at all.
pub fn command_complete(tag: &str, buf: &mut BytesMut) {
    encode_whole(&CommandComplete::new(tag.to_owned()), buf);
}

/// Appends an EmptyQueryResponse (`I`), the answer to executing an empty query string.
pub fn empty_query_response(buf: &mut BytesMut) {
    encode_whole(&EmptyQueryResponse::new(), buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    #[test]
    fn position_is_removed() {
        let f = frame(b'E', b"SERROR\0C42601\0Msyntax\0P12\0\0");
        assert_eq!(
            without_position(&f),
            frame(b'E', b"SERROR\0C42601\0Msyntax\0\0")
        );
        assert_eq!(without_position(b"E\0\0"), b"E\0\0".to_vec());
    }

    #[test]
    fn ready_for_query_bytes() {
        let mut b = BytesMut::new();
        ready_for_query(TransactionStatus::Failed, &mut b);
        assert_eq!(b.as_ref(), b"Z\0\0\0\x05E");
    }

    #[test]
    fn notice_carries_hint_and_detail() {
        let mut b = BytesMut::new();
        Notice::new(Severity::Warning, SqlState::Warning, "m")
            .detail("d")
            .hint("h")
            .encode_notice(&mut b);
        assert_eq!(b[0], b'N');
        let s = String::from_utf8_lossy(&b);
        assert!(s.contains("Dd\0") && s.contains("Hh\0") && s.contains("C01000\0"));
    }

    #[test]
    fn sasl_and_key_round_trip() {
        let mut b = BytesMut::new();
        authentication_sasl([&b"SCRAM-SHA-256"[..]], &mut b);
        assert_eq!(
            decode::auth_request(&b),
            Ok(decode::AuthRequest::Sasl(vec![&b"SCRAM-SHA-256"[..]]))
        );
        let mut b = BytesMut::new();
        backend_key_data(77, &[1, 2, 3, 4], &mut b);
        assert_eq!(decode::backend_key(&b), Ok((77, &[1u8, 2, 3, 4][..])));
    }

    #[test]
    fn extended_query_responses_decode_with_pgwire() {
        use pgwire::messages::{DecodeContext, PgWireBackendMessage, ProtocolVersion};
        let mut b = BytesMut::new();
        parse_complete(&mut b);
        bind_complete(&mut b);
        parameter_description(&[23, 25], &mut b);
        no_data(&mut b);
        command_complete("ALTER TABLE", &mut b);
        empty_query_response(&mut b);
        close_complete(&mut b);
        let tags: Vec<u8> = {
            let mut rest: &[u8] = &b;
            let mut tags = Vec::new();
            while let Ok(Some(h)) = crate::FrameHeader::read(rest, usize::MAX) {
                tags.push(h.tag);
                rest = &rest[h.total_len..];
            }
            assert!(rest.is_empty());
            tags
        };
        assert_eq!(tags, b"12tnCI3");
        let ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        let mut decoded = Vec::new();
        while let Some(m) = PgWireBackendMessage::decode(&mut b, &ctx).expect("decodes") {
            decoded.push(m);
        }
        assert_eq!(decoded.len(), 7);
        assert!(
            matches!(&decoded[2], PgWireBackendMessage::ParameterDescription(p) if p.types == [23, 25])
        );
        assert!(
            matches!(&decoded[4], PgWireBackendMessage::CommandComplete(c) if c.tag == "ALTER TABLE")
        );
    }

    #[test]
    fn oversized_command_tag_writes_nothing() {
        let mut b = BytesMut::new();
        parse_complete(&mut b);
        command_complete(&"X".repeat(40_000), &mut b);
        assert_eq!(b.as_ref(), b"1\0\0\0\x04");
    }
}
