//! A socket that may or may not be wrapped in TLS, and its split into halves for the relay.
//! Plain TCP splits without a lock (`into_split`) and writes through [`WriteHalf::send_all`],
//! which tries the socket directly before falling back to the future-based path; TLS streams
//! use `tokio::io::split`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// A session's connection while the relay lends it to the gate: all four stream halves, and
/// the bytes read ahead on each side.
pub struct Halves<'a> {
    /// Client read half (the gate watches it for a disconnect or a cancel).
    pub client_r: &'a mut ReadHalf,
    /// Bytes the client sent ahead (kept for the relay).
    pub client_buf: &'a mut BytesMut,
    /// Server write half.
    pub server_w: &'a mut WriteHalf,
    /// Server read half.
    pub server_r: &'a mut ReadHalf,
    /// Bytes read ahead from the server.
    pub server_buf: &'a mut BytesMut,
    /// Client write half.
    pub client_w: &'a mut WriteHalf,
}

/// Read half used by the relay.
pub enum ReadHalf {
    /// Plain TCP.
    Tcp(OwnedReadHalf),
    /// A TLS stream's read half.
    Tls(tokio::io::ReadHalf<Stream>),
    /// Nothing (at end of file): the placeholder while the real half is lent away.
    Empty,
}

/// Write half used by the relay.
pub enum WriteHalf {
    /// Plain TCP.
    Tcp(OwnedWriteHalf),
    /// A TLS stream's write half.
    Tls(tokio::io::WriteHalf<Stream>),
    /// Discards what it is given: the placeholder while the real half is lent away.
    Sink,
}

impl WriteHalf {
    /// Writes all of `buf` and flushes. On plain TCP the bytes go to the socket at once when
    /// it has room (the common case: one `send` per call, no future polled); otherwise, and
    /// for what is left, this waits for the socket like `write_all`.
    pub async fn send_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        if let Self::Tcp(w) = self {
            while !buf.is_empty() {
                match w.try_write(buf) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => buf = &buf[n..],
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if buf.is_empty() {
                return Ok(());
            }
        }
        self.write_all(buf).await?;
        self.flush().await
    }
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            Self::Tls(r) => Pin::new(r).poll_read(cx, buf),
            Self::Empty => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            Self::Tls(w) => Pin::new(w).poll_write(cx, buf),
            Self::Sink => Poll::Ready(Ok(buf.len())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(w) => Pin::new(w).poll_flush(cx),
            Self::Tls(w) => Pin::new(w).poll_flush(cx),
            Self::Sink => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            Self::Tls(w) => Pin::new(w).poll_shutdown(cx),
            Self::Sink => Poll::Ready(Ok(())),
        }
    }
}

/// A client- or server-facing connection.
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS terminated by the gateway (client side).
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS started by the gateway (upstream side).
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }

    /// Splits into independently usable halves.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Self::Plain(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            other => {
                let (r, w) = tokio::io::split(other);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Plain($s) => $e,
            Stream::ServerTls($s) => $e,
            Stream::ClientTls($s) => $e,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => Pin::new(s).poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// More than the socket buffers hold: `send_all` must fall back to waiting for the
    /// socket and still deliver every byte, in order.
    #[tokio::test]
    async fn send_all_delivers_more_than_the_socket_buffers_hold() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (_r, mut w) = Stream::Plain(client.unwrap()).into_split();
        let mut peer = server.unwrap().0;
        let data: Vec<u8> = (0..8 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let reader = async {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).await.unwrap();
            got
        };
        let writer = async {
            w.send_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        };
        let (got, ()) = tokio::join!(reader, writer);
        assert!(got == data, "bytes differ");
    }
}
