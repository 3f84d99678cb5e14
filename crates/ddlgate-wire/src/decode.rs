//! Zero-copy readers for the few message bodies the gateway must understand. Each takes the
//! whole frame (type byte and length included) as produced by the [`crate::frame`] splitter.
//!
//! These borrow from the frame instead of going through `pgwire`'s decoders, which copy into
//! owned `String`s with lossy UTF-8: the gateway reads SQL text to analyse it but must never
//! alter it, whatever the client encoding.

use crate::tags::TransactionStatus;
use crate::SqlState;

/// A frame body that does not follow its message format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {message} message")]
pub struct DecodeError {
    /// Which message was being read.
    pub message: &'static str,
}

fn err(message: &'static str) -> DecodeError {
    DecodeError { message }
}

fn body(frame: &[u8]) -> &[u8] {
    frame.get(5..).unwrap_or_default()
}

fn cstr<'a>(buf: &'a [u8], message: &'static str) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
    let nul = memchr::memchr(0, buf).ok_or(err(message))?;
    Ok((&buf[..nul], &buf[nul + 1..]))
}

fn be_u32(buf: &[u8], message: &'static str) -> Result<u32, DecodeError> {
    let b = buf.get(..4).ok_or(err(message))?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The SQL text of a Query message.
pub fn query_text(frame: &[u8]) -> Result<&[u8], DecodeError> {
    Ok(cstr(body(frame), "Query")?.0)
}

/// The parts of a Parse message the gateway reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseMsg<'a> {
    /// Prepared statement name (empty for the unnamed statement).
    pub statement: &'a [u8],
    /// The SQL text.
    pub query: &'a [u8],
}

/// Reads a Parse message.
pub fn parse_msg(frame: &[u8]) -> Result<ParseMsg<'_>, DecodeError> {
    let (statement, rest) = cstr(body(frame), "Parse")?;
    let (query, _) = cstr(rest, "Parse")?;
    Ok(ParseMsg { statement, query })
}

/// Portal and statement named by a Bind message.
pub fn bind_names(frame: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    let (portal, rest) = cstr(body(frame), "Bind")?;
    let (statement, _) = cstr(rest, "Bind")?;
    Ok((portal, statement))
}

/// Portal named by an Execute message.
pub fn execute_portal(frame: &[u8]) -> Result<&[u8], DecodeError> {
    Ok(cstr(body(frame), "Execute")?.0)
}

/// The transaction status of a ReadyForQuery message.
pub fn ready_status(frame: &[u8]) -> Result<TransactionStatus, DecodeError> {
    body(frame)
        .first()
        .and_then(|&b| TransactionStatus::from_byte(b))
        .ok_or(err("ReadyForQuery"))
}

/// An authentication request (`R` message), by its Int32 code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthRequest<'a> {
    /// 0: authentication succeeded.
    Ok,
    /// 2: Kerberos V5 (unsupported by PostgreSQL servers since 9.x).
    KerberosV5,
    /// 3: cleartext password.
    Cleartext,
    /// 5: MD5 password with a 4-byte salt.
    Md5,
    /// 7: GSSAPI.
    Gss,
    /// 8: GSSAPI or SSPI continuation data.
    GssContinue,
    /// 9: SSPI.
    Sspi,
    /// 10: SASL, with the mechanism names offered.
    Sasl(Vec<&'a [u8]>),
    /// 11: SASL challenge.
    SaslContinue,
    /// 12: SASL outcome.
    SaslFinal,
    /// Any other code.
    Other(u32),
}

impl AuthRequest<'_> {
    /// Whether the client answers this request with a `p` message.
    pub fn expects_response(&self) -> bool {
        matches!(
            self,
            Self::Cleartext
                | Self::Md5
                | Self::Gss
                | Self::GssContinue
                | Self::Sspi
                | Self::Sasl(_)
                | Self::SaslContinue
        )
    }
}

/// Reads an authentication request.
pub fn auth_request(frame: &[u8]) -> Result<AuthRequest<'_>, DecodeError> {
    let b = body(frame);
    let code = be_u32(b, "Authentication")?;
    Ok(match code {
        0 => AuthRequest::Ok,
        2 => AuthRequest::KerberosV5,
        3 => AuthRequest::Cleartext,
        5 => AuthRequest::Md5,
        7 => AuthRequest::Gss,
        8 => AuthRequest::GssContinue,
        9 => AuthRequest::Sspi,
        10 => {
            let mut rest = &b[4..];
            let mut mechs = Vec::new();
            loop {
                let (m, r) = cstr(rest, "AuthenticationSASL")?;
                if m.is_empty() {
                    break;
                }
                mechs.push(m);
                rest = r;
            }
            AuthRequest::Sasl(mechs)
        }
        11 => AuthRequest::SaslContinue,
        12 => AuthRequest::SaslFinal,
        other => AuthRequest::Other(other),
    })
}

/// Process id and secret key of a BackendKeyData message.
pub fn backend_key(frame: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let b = body(frame);
    let pid = be_u32(b, "BackendKeyData")?;
    let secret = &b[4..];
    if secret.len() < 4 || secret.len() > crate::startup::MAX_CANCEL_KEY_LEN {
        return Err(err("BackendKeyData"));
    }
    Ok((pid, secret))
}

/// Name and value of a ParameterStatus message.
pub fn parameter_status(frame: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    let (name, rest) = cstr(body(frame), "ParameterStatus")?;
    let (value, _) = cstr(rest, "ParameterStatus")?;
    Ok((name, value))
}

/// The fields of an ErrorResponse or NoticeResponse that the gateway reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorFields<'a> {
    /// `V` (non-localized) or else `S` severity.
    pub severity: &'a [u8],
    /// `C` SQLSTATE.
    pub code: Option<SqlState>,
    /// `M` primary message.
    pub message: &'a [u8],
}

/// Reads the severity, code and message of an ErrorResponse or NoticeResponse.
pub fn error_fields(frame: &[u8]) -> Result<ErrorFields<'_>, DecodeError> {
    let mut rest = body(frame);
    let mut out = ErrorFields::default();
    loop {
        let (&kind, r) = rest.split_first().ok_or(err("ErrorResponse"))?;
        if kind == 0 {
            return Ok(out);
        }
        let (value, r) = cstr(r, "ErrorResponse")?;
        match kind {
            b'V' => out.severity = value,
            b'S' if out.severity.is_empty() => out.severity = value,
            b'C' => out.code = SqlState::from_code(value),
            b'M' => out.message = value,
            _ => {}
        }
        rest = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::frame;
    use crate::encode::{Notice, Severity};
    use bytes::BytesMut;
    use proptest::prelude::*;

    #[test]
    fn reads_query_and_parse() {
        assert_eq!(
            query_text(&frame(b'Q', b"select 1\0")),
            Ok(&b"select 1"[..])
        );
        let p = frame(b'P', b"s1\0alter table t add c int\0\0\0");
        assert_eq!(
            parse_msg(&p),
            Ok(ParseMsg {
                statement: b"s1",
                query: b"alter table t add c int"
            })
        );
        assert!(query_text(&frame(b'Q', b"no terminator")).is_err());
    }

    #[test]
    fn query_text_keeps_non_utf8_bytes() {
        assert_eq!(
            query_text(&frame(b'Q', b"select '\xe9'\0")),
            Ok(&b"select '\xe9'"[..])
        );
    }

    #[test]
    fn reads_ready_and_auth() {
        assert_eq!(
            ready_status(&frame(b'Z', b"T")),
            Ok(TransactionStatus::InBlock)
        );
        assert!(ready_status(&frame(b'Z', b"")).is_err());
        let sasl = frame(b'R', b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
        assert_eq!(
            auth_request(&sasl),
            Ok(AuthRequest::Sasl(vec![
                &b"SCRAM-SHA-256-PLUS"[..],
                b"SCRAM-SHA-256"
            ]))
        );
        assert!(AuthRequest::Md5.expects_response());
        assert!(!AuthRequest::Ok.expects_response());
    }

    #[test]
    fn reads_error_fields_of_encoded_notice() {
        let mut b = BytesMut::new();
        Notice::new(
            Severity::Error,
            SqlState::LockNotAvailable,
            "could not lock",
        )
        .encode_error(&mut b);
        let f = error_fields(&b).expect("decodes");
        assert_eq!(f.severity, b"ERROR");
        assert_eq!(f.code, Some(SqlState::LockNotAvailable));
        assert_eq!(f.message, b"could not lock");
    }

    proptest! {
        #[test]
        fn decoders_never_panic(tag in any::<u8>(), body in prop::collection::vec(any::<u8>(), 0..64)) {
            let f = frame(tag, &body);
            let _ = query_text(&f);
            let _ = parse_msg(&f);
            let _ = bind_names(&f);
            let _ = execute_portal(&f);
            let _ = ready_status(&f);
            let _ = auth_request(&f);
            let _ = backend_key(&f);
            let _ = parameter_status(&f);
            let _ = error_fields(&f);
        }
    }
}
