//! The client's side of connection start-up: TLS negotiation (SSLRequest, PostgreSQL 17
//! direct TLS), GSSENCRequest (always refused with `N`), CancelRequest, and the
//! StartupMessage ([Start-up](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP)).

use bytes::Bytes;
use ddlgate_config::ClientTlsMode;
use ddlgate_wire::startup::{self, CancelRequest, StartupMessage, StartupPacket};
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;

use crate::io::FrameReader;
use crate::stream::Stream;
use crate::{tls, ProxyError};

/// The client connection while the gateway reads it message by message.
pub struct ClientConn {
    /// The socket (plain or TLS). `None` only transiently during a TLS upgrade.
    stream: Option<Stream>,
    /// Bytes read ahead.
    pub reader: FrameReader,
}

/// What the first packets asked for.
pub enum Opening {
    /// A session: the StartupMessage and its original bytes.
    Session {
        /// Parsed message.
        message: StartupMessage,
        /// Bytes as received, forwarded when nothing needs changing.
        raw: Bytes,
    },
    /// A cancel request for another session; the connection ends after it.
    Cancel(CancelRequest),
}

/// First byte of a TLS handshake record: a client using PostgreSQL 17 direct TLS.
const TLS_HANDSHAKE_BYTE: u8 = 0x16;

impl ClientConn {
    /// A placeholder with no socket (after the socket has been handed to the relay).
    pub fn detached() -> Self {
        Self {
            stream: None,
            reader: FrameReader::default(),
        }
    }

    /// Wraps an accepted socket.
    pub fn new(tcp: tokio::net::TcpStream) -> Self {
        Self {
            stream: Some(Stream::Plain(tcp)),
            reader: FrameReader::new(),
        }
    }

    /// Reads one typed message from the client.
    pub async fn read_frame(&mut self, max: usize) -> Result<Bytes, ProxyError> {
        let stream = self
            .stream
            .as_mut()
            .ok_or(ProxyError::Io(std::io::ErrorKind::NotConnected.into()))?;
        self.reader.read_frame(stream, max).await
    }

    /// Gives up the socket and read-ahead buffer.
    pub fn into_parts(self) -> (Option<Stream>, FrameReader) {
        (self.stream, self.reader)
    }

    /// Whether the client connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.stream.as_ref().is_some_and(Stream::is_tls)
    }

    /// Writes bytes to the client.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        let s = self
            .stream
            .as_mut()
            .ok_or(ProxyError::Io(std::io::ErrorKind::NotConnected.into()))?;
        s.write_all(bytes).await?;
        s.flush().await?;
        Ok(())
    }

    async fn upgrade(&mut self, acceptor: &TlsAcceptor, direct: bool) -> Result<(), ProxyError> {
        let Some(Stream::Plain(tcp)) = self.stream.take() else {
            return Err(ProxyError::RepeatedSslRequest);
        };
        let tls = acceptor.accept(tcp).await.map_err(ProxyError::ClientTls)?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        // Direct TLS must carry ALPN `postgresql`, as PostgreSQL 17 demands.
        if direct && alpn.as_deref() != Some(tls::ALPN_POSTGRESQL) {
            return Err(ProxyError::ClientTls(std::io::Error::other(
                "direct TLS without ALPN postgresql",
            )));
        }
        self.stream = Some(Stream::ServerTls(Box::new(tls)));
        Ok(())
    }

    /// Runs the opening exchange until a StartupMessage or a CancelRequest arrives.
    pub async fn open(
        &mut self,
        tls_mode: ClientTlsMode,
        acceptor: Option<&TlsAcceptor>,
    ) -> Result<Opening, ProxyError> {
        if let (Some(acceptor), Some(Stream::Plain(tcp))) = (acceptor, self.stream.as_ref()) {
            let mut first = [0u8; 1];
            if tcp.peek(&mut first).await? == 1 && first[0] == TLS_HANDSHAKE_BYTE {
                self.upgrade(acceptor, true).await?;
            }
        }
        loop {
            let stream = self.stream.as_mut().ok_or(ProxyError::RepeatedSslRequest)?;
            let raw = self.reader.read_startup(stream).await?;
            match startup::parse(&raw)? {
                StartupPacket::SslRequest => {
                    if !self.reader.buffered().is_empty() {
                        return Err(ProxyError::DataAfterSslRequest);
                    }
                    match acceptor {
                        Some(acceptor) if !self.is_tls() => {
                            self.send(b"S").await?;
                            self.upgrade(acceptor, false).await?;
                        }
                        Some(_) => return Err(ProxyError::RepeatedSslRequest),
                        None => self.send(b"N").await?,
                    }
                }
                StartupPacket::GssEncRequest => {
                    if !self.reader.buffered().is_empty() {
                        return Err(ProxyError::DataAfterSslRequest);
                    }
                    self.send(b"N").await?;
                }
                StartupPacket::Cancel(req) => return Ok(Opening::Cancel(req)),
                StartupPacket::Startup(message) => {
                    if tls_mode == ClientTlsMode::Require && !self.is_tls() {
                        return Err(ProxyError::ClientTlsRequired);
                    }
                    if message.user().is_none_or(str::is_empty) {
                        return Err(ProxyError::NoUser);
                    }
                    return Ok(Opening::Session { message, raw });
                }
            }
        }
    }
}
