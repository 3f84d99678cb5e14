//! Packets a client may send before the regular message flow
//! ([Start-up](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP),
//! [Canceling Requests](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS)).
//! They have no type byte: an Int32 length (including itself), then an Int32 code.

use bytes::{BufMut, Bytes, BytesMut};

/// PostgreSQL's own cap on a startup packet (`MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_PACKET_LEN: usize = 10_000;
/// Request code of SSLRequest.
pub const SSL_REQUEST_CODE: u32 = (1234 << 16) | 5679;
/// Request code of GSSENCRequest.
pub const GSSENC_REQUEST_CODE: u32 = (1234 << 16) | 5680;
/// Request code of CancelRequest.
pub const CANCEL_REQUEST_CODE: u32 = (1234 << 16) | 5678;
/// Longest cancel key allowed by protocol 3.2.
pub const MAX_CANCEL_KEY_LEN: usize = 256;

/// A protocol version as `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProtocolVersion {
    /// Major version (3 for every supported client).
    pub major: u16,
    /// Minor version (0 for PostgreSQL up to 17, 2 for 18).
    pub minor: u16,
}

impl ProtocolVersion {
    /// Protocol 3.0.
    pub const V3_0: Self = Self { major: 3, minor: 0 };

    /// The Int32 as sent on the wire.
    pub const fn code(self) -> u32 {
        ((self.major as u32) << 16) | self.minor as u32
    }
}

/// A parsed pre-startup or startup packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartupPacket {
    /// The client asks for TLS.
    SslRequest,
    /// The client asks for GSSAPI encryption.
    GssEncRequest,
    /// The client asks to cancel the query running on another connection.
    Cancel(CancelRequest),
    /// The StartupMessage proper.
    Startup(StartupMessage),
}

/// Contents of a CancelRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    /// Process id the key was issued for.
    pub pid: u32,
    /// The secret key: 4 bytes in protocol 3.0, up to 256 in 3.2.
    pub secret: Bytes,
}

/// PostgreSQL's `NAMEDATALEN`: role and database names are cut to one byte less.
pub const NAMEDATALEN: usize = 64;

/// What the `replication` startup parameter makes of a connection
/// ([streaming replication protocol](https://www.postgresql.org/docs/current/protocol-replication.html)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replication {
    /// A normal backend (no `replication`, or one the server reads as false).
    None,
    /// A physical walsender: replication commands only; SQL is refused by the server.
    Physical,
    /// A logical walsender (`replication=database`): replication commands and simple-query
    /// SQL on a database.
    Logical,
    /// A value the server refuses (the connection fails with FATAL).
    Invalid,
}

/// Decides [`Replication`] exactly as `ProcessStartupPacket` does: each `replication` value in
/// turn, the string `database` (case-sensitive) making a database walsender, anything else
/// read with `parse_bool` (the last one setting whether it is a walsender at all; `database`
/// once seen stays).
fn replication_mode(params: &[(Bytes, Bytes)]) -> Replication {
    let (mut walsender, mut database, mut invalid) = (false, false, false);
    for (_, v) in params.iter().filter(|(k, _)| k.as_ref() == b"replication") {
        if v.as_ref() == b"database" {
            walsender = true;
            database = true;
        } else {
            match parse_bool(v) {
                Some(b) => walsender = b,
                None => invalid = true,
            }
        }
    }
    match (invalid, walsender, database) {
        (true, _, _) => Replication::Invalid,
        (false, false, _) => Replication::None,
        (false, true, false) => Replication::Physical,
        (false, true, true) => Replication::Logical,
    }
}

/// PostgreSQL's `parse_bool`: `true`, `false`, `yes`, `no` and their unique prefixes, `on`,
/// `off` (at least two letters), `1`, `0`; ASCII case-insensitive; no trimming.
pub fn parse_bool(v: &[u8]) -> Option<bool> {
    let prefix_of = |word: &[u8], min: usize| {
        v.len() >= min && v.len() <= word.len() && word[..v.len()].eq_ignore_ascii_case(v)
    };
    match v.first()? {
        b't' | b'T' if prefix_of(b"true", 1) => Some(true),
        b'f' | b'F' if prefix_of(b"false", 1) => Some(false),
        b'y' | b'Y' if prefix_of(b"yes", 1) => Some(true),
        b'n' | b'N' if prefix_of(b"no", 1) => Some(false),
        b'o' | b'O' if prefix_of(b"on", 2) => Some(true),
        b'o' | b'O' if prefix_of(b"off", 2) => Some(false),
        b'1' if v.len() == 1 => Some(true),
        b'0' if v.len() == 1 => Some(false),
        _ => None,
    }
}

/// A role or database name as the server keeps it: at most `NAMEDATALEN - 1` bytes (cut at a
/// character boundary here, where the server cuts bytes).
fn truncate_name(name: &str) -> &str {
    if name.len() < NAMEDATALEN {
        return name;
    }
    let mut end = NAMEDATALEN - 1;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// A StartupMessage with its parameters in the order sent. Names and values are kept as raw
/// bytes, so a message rebuilt with one changed parameter keeps every other byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartupMessage {
    /// Protocol version requested.
    pub version: ProtocolVersion,
    /// `(name, value)` pairs in the order sent.
    pub params: Vec<(Bytes, Bytes)>,
}

impl StartupMessage {
    /// The value of parameter `name` as the server takes it: the **last** occurrence wins
    /// (PostgreSQL's `ProcessStartupPacket` overwrites on each one), if valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rfind(|(k, _)| k.as_ref() == name.as_bytes())
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// Sets a parameter: its first occurrence takes the value and every later one is removed
    /// (so that the server, which takes the last, sees this value); appended when absent.
    pub fn set(&mut self, name: &str, value: &str) {
        let value = Bytes::copy_from_slice(value.as_bytes());
        let mut seen = false;
        self.params.retain_mut(|(k, v)| {
            if k.as_ref() != name.as_bytes() {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            *v = value.clone();
            true
        });
        if !seen {
            self.params
                .push((Bytes::copy_from_slice(name.as_bytes()), value));
        }
    }

    /// The user name (required by the protocol), as the server takes it: the last `user`,
    /// truncated to `NAMEDATALEN - 1` bytes.
    pub fn user(&self) -> Option<&str> {
        self.get("user").map(truncate_name)
    }

    /// The database name as the server takes it: the last `database`, the user name when it
    /// is absent or empty, truncated to `NAMEDATALEN - 1` bytes.
    pub fn database(&self) -> Option<&str> {
        self.get("database")
            .filter(|d| !d.is_empty())
            .map(truncate_name)
            .or_else(|| self.user())
    }

    /// What kind of backend the server starts for this message (see [`Replication`]).
    pub fn replication(&self) -> Replication {
        replication_mode(&self.params)
    }

    /// Whether this is a physical replication connection: a walsender that runs replication
    /// commands only, never SQL. (A logical one, `replication=database`, runs SQL too.)
    pub fn is_replication(&self) -> bool {
        self.replication() == Replication::Physical
    }

    /// Encodes the message.
    pub fn encode(&self, buf: &mut BytesMut) {
        let len = 4
            + 4
            + self
                .params
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
            + 1;
        buf.reserve(len);
        buf.put_u32(len as u32);
        buf.put_u32(self.version.code());
        for (k, v) in &self.params {
            buf.put_slice(k);
            buf.put_u8(0);
            buf.put_slice(v);
            buf.put_u8(0);
        }
        buf.put_u8(0);
    }
}

/// A startup packet that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    /// The length field is out of range.
    #[error("invalid startup packet length {0}")]
    BadLength(usize),
    /// The request code is not one PostgreSQL knows.
    #[error("unsupported frontend protocol {major}.{minor}")]
    UnsupportedProtocol {
        /// Major version requested.
        major: u16,
        /// Minor version requested.
        minor: u16,
    },
    /// The packet body does not follow the format.
    #[error("invalid startup packet layout: {0}")]
    Malformed(&'static str),
}

/// Reads the length prefix: `Ok(None)` until four bytes are there.
pub fn packet_len(buf: &[u8]) -> Result<Option<usize>, StartupError> {
    let Some(head) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(8..=MAX_STARTUP_PACKET_LEN).contains(&len) {
        return Err(StartupError::BadLength(len));
    }
    Ok(Some(len))
}

/// Parses one whole packet (length prefix included).
pub fn parse(packet: &[u8]) -> Result<StartupPacket, StartupError> {
    let len = packet_len(packet)?.ok_or(StartupError::Malformed("truncated"))?;
    if packet.len() != len {
        return Err(StartupError::Malformed("length does not match"));
    }
    let code = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
    let body = &packet[8..];
    match code {
        SSL_REQUEST_CODE if body.is_empty() => Ok(StartupPacket::SslRequest),
        GSSENC_REQUEST_CODE if body.is_empty() => Ok(StartupPacket::GssEncRequest),
        SSL_REQUEST_CODE | GSSENC_REQUEST_CODE => {
            Err(StartupError::Malformed("unexpected payload"))
        }
        CANCEL_REQUEST_CODE => {
            if body.len() < 8 || body.len() > 4 + MAX_CANCEL_KEY_LEN {
                return Err(StartupError::Malformed("cancel key length"));
            }
            let pid = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            Ok(StartupPacket::Cancel(CancelRequest {
                pid,
                secret: Bytes::copy_from_slice(&body[4..]),
            }))
        }
        _ => {
            let version = ProtocolVersion {
                major: (code >> 16) as u16,
                minor: (code & 0xffff) as u16,
            };
            if version.major != 3 {
                return Err(StartupError::UnsupportedProtocol {
                    major: version.major,
                    minor: version.minor,
                });
            }
            Ok(StartupPacket::Startup(StartupMessage {
                version,
                params: parse_params(body)?,
            }))
        }
    }
}

fn parse_params(mut body: &[u8]) -> Result<Vec<(Bytes, Bytes)>, StartupError> {
    let mut params = Vec::new();
    loop {
        let (name, rest) = cstr(body)?;
        if name.is_empty() {
            if !rest.is_empty() {
                return Err(StartupError::Malformed("bytes after the terminator"));
            }
            return Ok(params);
        }
        let (value, rest) = cstr(rest)?;
        params.push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)));
        body = rest;
    }
}

fn cstr(buf: &[u8]) -> Result<(&[u8], &[u8]), StartupError> {
    let nul = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or(StartupError::Malformed("missing terminator"))?;
    Ok((&buf[..nul], &buf[nul + 1..]))
}

/// Encodes a CancelRequest.
pub fn encode_cancel(req: &CancelRequest, buf: &mut BytesMut) {
    buf.put_u32((12 + req.secret.len()) as u32);
    buf.put_u32(CANCEL_REQUEST_CODE);
    buf.put_u32(req.pid);
    buf.put_slice(&req.secret);
}

/// Encodes an SSLRequest.
pub fn encode_ssl_request(buf: &mut BytesMut) {
    buf.put_u32(8);
    buf.put_u32(SSL_REQUEST_CODE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn startup(params: &[(&str, &str)]) -> Vec<u8> {
        let mut b = BytesMut::new();
        message(params).encode(&mut b);
        b.to_vec()
    }

    fn message(params: &[(&str, &str)]) -> StartupMessage {
        StartupMessage {
            version: ProtocolVersion::V3_0,
            params: params
                .iter()
                .map(|(k, v)| {
                    (
                        Bytes::copy_from_slice(k.as_bytes()),
                        Bytes::copy_from_slice(v.as_bytes()),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn booleans_are_read_as_the_server_reads_them() {
        for t in ["t", "TR", "true", "True", "y", "YES", "on", "ON", "1"] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in ["f", "fal", "FALSE", "n", "no", "of", "off", "OFF", "0"] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for bad in [
            "", "o", "tru e", " true", "true ", "truex", "onx", "offf", "10", "00", "2", "database",
        ] {
            assert_eq!(parse_bool(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn the_replication_parameter_is_decided_as_the_server_decides_it() {
        let r = |params: &[(&str, &str)]| message(params).replication();
        assert_eq!(r(&[("user", "u")]), Replication::None);
        for off in ["false", "n", "no", "0", "off", "F"] {
            assert_eq!(r(&[("replication", off)]), Replication::None, "{off}");
        }
        for on in ["true", "t", "yes", "1", "on"] {
            assert_eq!(r(&[("replication", on)]), Replication::Physical, "{on}");
        }
        assert_eq!(r(&[("replication", "database")]), Replication::Logical);
        assert_eq!(r(&[("replication", "Database")]), Replication::Invalid);
        assert_eq!(r(&[("replication", "maybe")]), Replication::Invalid);
        // The last value decides whether it is a walsender at all ...
        assert_eq!(
            r(&[("replication", "true"), ("replication", "false")]),
            Replication::None
        );
        assert_eq!(
            r(&[("replication", "false"), ("replication", "1")]),
            Replication::Physical
        );
        assert_eq!(
            r(&[("replication", "database"), ("replication", "n")]),
            Replication::None
        );
        // ... and `database`, once seen, stays.
        assert_eq!(
            r(&[("replication", "database"), ("replication", "on")]),
            Replication::Logical
        );
        assert!(message(&[("replication", "yes")]).is_replication());
        assert!(!message(&[("replication", "database")]).is_replication());
    }

    #[test]
    fn the_last_occurrence_of_a_parameter_wins() {
        let m = message(&[
            ("user", "alice"),
            ("database", "app"),
            ("user", "admin"),
            ("database", ""),
        ]);
        assert_eq!(m.user(), Some("admin"));
        assert_eq!(
            m.database(),
            Some("admin"),
            "an empty database defaults to the user"
        );
        let mut renamed = message(&[("database", "a"), ("user", "u"), ("database", "b")]);
        renamed.set("database", "real");
        assert_eq!(renamed.get("database"), Some("real"));
        let names: Vec<&[u8]> = renamed.params.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(
            names,
            vec![&b"database"[..], b"user"],
            "later duplicates are removed"
        );
    }

    #[test]
    fn names_are_cut_to_namedatalen() {
        let long = format!("alice{}", "x".repeat(100));
        let m = message(&[("user", &long), ("database", &long)]);
        assert_eq!(m.user().map(str::len), Some(NAMEDATALEN - 1));
        assert_eq!(m.database(), m.user());
        let multibyte = "é".repeat(40);
        let m = message(&[("user", &multibyte)]);
        assert!(m.user().is_some_and(|u| u.len() <= NAMEDATALEN - 1));
    }

    #[test]
    fn parses_startup_and_keeps_order() {
        let raw = startup(&[
            ("user", "alice"),
            ("database", "app"),
            ("application_name", "psql"),
        ]);
        let StartupPacket::Startup(m) = parse(&raw).expect("parses") else {
            panic!("not a startup")
        };
        assert_eq!(m.user(), Some("alice"));
        assert_eq!(m.database(), Some("app"));
        let mut again = BytesMut::new();
        m.encode(&mut again);
        assert_eq!(again.as_ref(), raw.as_slice());
    }

    #[test]
    fn database_defaults_to_user_and_set_replaces() {
        let raw = startup(&[("user", "bob")]);
        let StartupPacket::Startup(mut m) = parse(&raw).expect("parses") else {
            panic!()
        };
        assert_eq!(m.database(), Some("bob"));
        m.set("database", "real");
        m.set("database", "real2");
        assert_eq!(m.database(), Some("real2"));
        assert_eq!(m.params.len(), 2);
    }

    #[test]
    fn parses_requests() {
        let mut b = BytesMut::new();
        encode_ssl_request(&mut b);
        assert_eq!(parse(&b), Ok(StartupPacket::SslRequest));
        let req = CancelRequest {
            pid: 42,
            secret: Bytes::from_static(&[1, 2, 3, 4]),
        };
        let mut b = BytesMut::new();
        encode_cancel(&req, &mut b);
        assert_eq!(parse(&b), Ok(StartupPacket::Cancel(req)));
        let long = CancelRequest {
            pid: 7,
            secret: Bytes::from(vec![9u8; 32]),
        };
        let mut b = BytesMut::new();
        encode_cancel(&long, &mut b);
        assert_eq!(parse(&b), Ok(StartupPacket::Cancel(long)));
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(packet_len(&[0, 0, 0, 4]), Err(StartupError::BadLength(4)));
        assert_eq!(
            packet_len(&[0, 1, 0, 0]),
            Err(StartupError::BadLength(65536))
        );
        let mut raw = startup(&[("user", "x")]);
        raw[4..8].copy_from_slice(&((2u32 << 16) | 0).to_be_bytes());
        assert_eq!(
            parse(&raw),
            Err(StartupError::UnsupportedProtocol { major: 2, minor: 0 })
        );
        let mut raw = startup(&[("user", "x")]);
        let n = raw.len();
        raw[n - 1] = b'z';
        assert!(parse(&raw).is_err());
    }

    #[test]
    fn protocol_3_2_is_reported() {
        let mut raw = startup(&[("user", "x")]);
        raw[4..8].copy_from_slice(&((3u32 << 16) | 2).to_be_bytes());
        let StartupPacket::Startup(m) = parse(&raw).expect("parses") else {
            panic!()
        };
        assert_eq!(m.version, ProtocolVersion { major: 3, minor: 2 });
    }

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = packet_len(&bytes);
            let _ = parse(&bytes);
        }

        #[test]
        fn arbitrary_params_round_trip(params in prop::collection::vec(("[a-z_]{1,12}", "[^\u{0}]{0,20}"), 0..8)) {
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let raw = startup(&pairs);
            prop_assume!(raw.len() <= MAX_STARTUP_PACKET_LEN);
            let StartupPacket::Startup(m) = parse(&raw).expect("parses") else { panic!() };
            prop_assert_eq!(m.params.len(), pairs.len());
        }
    }
}
