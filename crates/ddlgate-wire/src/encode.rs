//! Encoders for the messages the gateway synthesises. Error and notice bodies go through
//! `pgwire`'s message types; everything the gateway forwards is never re-encoded.

use bytes::{BufMut, BytesMut};
use pgwire::messages::response::{ErrorResponse, NoticeResponse, ReadyForQuery, TransactionStatus as PgTx};
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
}

impl Notice {
    /// A notice with no detail or hint.
    pub fn new(severity: Severity, code: SqlState, message: impl Into<String>) -> Self {
        Self { severity, code, message: message.into(), detail: None, hint: None }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    #[test]
    fn ready_for_query_bytes() {
        let mut b = BytesMut::new();
        ready_for_query(TransactionStatus::Failed, &mut b);
        assert_eq!(b.as_ref(), b"Z\0\0\0\x05E");
    }

    #[test]
    fn notice_carries_hint_and_detail() {
        let mut b = BytesMut::new();
        Notice::new(Severity::Warning, SqlState::Warning, "m").detail("d").hint("h").encode_notice(&mut b);
        assert_eq!(b[0], b'N');
        let s = String::from_utf8_lossy(&b);
        assert!(s.contains("Dd\0") && s.contains("Hh\0") && s.contains("C01000\0"));
    }

    #[test]
    fn sasl_and_key_round_trip() {
        let mut b = BytesMut::new();
        authentication_sasl([&b"SCRAM-SHA-256"[..]], &mut b);
        assert_eq!(decode::auth_request(&b), Ok(decode::AuthRequest::Sasl(vec![&b"SCRAM-SHA-256"[..]])));
        let mut b = BytesMut::new();
        backend_key_data(77, &[1, 2, 3, 4], &mut b);
        assert_eq!(decode::backend_key(&b), Ok((77, &[1u8, 2, 3, 4][..])));
    }
}
