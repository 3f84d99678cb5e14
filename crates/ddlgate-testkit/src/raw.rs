//! A byte-level Postgres client for tests that need exact control of the wire: malformed
//! input, non-UTF-8 text, protocol versions, pipelining by hand.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One backend message as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawMsg {
    /// Type byte.
    pub tag: u8,
    /// Body (without type byte and length).
    pub body: Vec<u8>,
}

impl RawMsg {
    /// The `C` (SQLSTATE) field of an ErrorResponse/NoticeResponse.
    pub fn sqlstate(&self) -> Option<String> {
        self.field(b'C')
    }

    /// A field of an ErrorResponse/NoticeResponse by its code byte.
    pub fn field(&self, code: u8) -> Option<String> {
        let mut rest = &self.body[..];
        while let Some((&c, r)) = rest.split_first() {
            if c == 0 {
                break;
            }
            let nul = r.iter().position(|&b| b == 0)?;
            if c == code {
                return Some(String::from_utf8_lossy(&r[..nul]).into_owned());
            }
            rest = &r[nul + 1..];
        }
        None
    }
}

/// A raw connection.
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// Builds a StartupMessage for protocol `3.minor` with the given parameters.
pub fn startup_packet(minor: u16, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(((3u32) << 16) | u32::from(minor)).to_be_bytes());
    for (k, v) in params {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Builds a typed frontend message.
pub fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    ddlgate_wire::encode::frame(tag, body)
}

/// A Query message.
pub fn query(sql: &[u8]) -> Vec<u8> {
    ddlgate_wire::encode::query(sql)
}

/// A Parse message (no parameter types).
pub fn parse(statement: &str, sql: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for s in [statement, sql] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(&0u16.to_be_bytes());
    msg(b'P', &body)
}

/// A Bind message without parameters, text results.
pub fn bind(portal: &str, statement: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for s in [portal, statement] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    msg(b'B', &body)
}

/// A Describe of a portal.
pub fn describe_portal(portal: &str) -> Vec<u8> {
    let mut body = vec![b'P'];
    body.extend_from_slice(portal.as_bytes());
    body.push(0);
    msg(b'D', &body)
}

/// An Execute of a portal, all rows.
pub fn execute(portal: &str) -> Vec<u8> {
    let mut body = portal.as_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&0u32.to_be_bytes());
    msg(b'E', &body)
}

/// A Sync message.
pub fn sync() -> Vec<u8> {
    msg(b'S', b"")
}

/// Parse, Bind, Describe and Execute of `sql` as the unnamed statement and portal.
pub fn unnamed(sql: &str) -> Vec<u8> {
    [
        parse("", sql),
        bind("", ""),
        describe_portal(""),
        execute(""),
    ]
    .concat()
}

impl RawClient {
    /// Opens a TCP connection.
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and logs in as a trusted `user` (no password), returning after ReadyForQuery.
    pub async fn login(addr: SocketAddr, user: &str, db: &str, extra: &[(&str, &str)]) -> Self {
        let mut c = Self::connect(addr).await;
        let mut params = vec![("user", user), ("database", db)];
        params.extend_from_slice(extra);
        c.send(&startup_packet(0, &params)).await;
        let msgs = c.read_until(b'Z').await;
        assert!(
            msgs.iter()
                .any(|m| m.tag == b'R' && m.body[..4] == [0, 0, 0, 0]),
            "no AuthenticationOk: {msgs:?}"
        );
        c
    }

    /// Sends bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Reads one message; `None` on EOF (or reset), panics after 20 s.
    pub async fn read_msg(&mut self) -> Option<RawMsg> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if self.buf.len() > len {
                    let body = self.buf[5..=len].to_vec();
                    let tag = self.buf[0];
                    self.buf.drain(..=len);
                    return Some(RawMsg { tag, body });
                }
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(Duration::from_secs(20), self.stream.read(&mut chunk))
                .await
                .expect("read timed out")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads messages up to and including the first with `tag`.
    pub async fn read_until(&mut self, tag: u8) -> Vec<RawMsg> {
        let mut out = Vec::new();
        loop {
            let m = self
                .read_msg()
                .await
                .unwrap_or_else(|| panic!("EOF before {:?}; got {out:?}", tag as char));
            let done = m.tag == tag;
            out.push(m);
            if done {
                return out;
            }
        }
    }

    /// Reads until EOF, returning what came.
    pub async fn read_to_eof(&mut self) -> Vec<RawMsg> {
        let mut out = Vec::new();
        while let Some(m) = self.read_msg().await {
            out.push(m);
        }
        out
    }

    /// Reads a single byte (SSL/GSS negotiation answers).
    pub async fn read_byte(&mut self) -> u8 {
        tokio::time::timeout(Duration::from_secs(20), self.stream.read_u8())
            .await
            .expect("timed out")
            .expect("byte")
    }
}
