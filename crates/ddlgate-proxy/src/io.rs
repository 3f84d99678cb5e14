//! Buffered reads for the sequential phases (startup, authentication), where the gateway
//! reads one whole message at a time. Bytes read past the message stay in the buffer and are
//! handed to the relay, so nothing a fast client pipelines is lost.

use bytes::{Bytes, BytesMut};
use ddlgate_wire::{startup, FrameHeader};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::ProxyError;

/// A read buffer attached to one side of a connection.
#[derive(Default)]
pub struct FrameReader {
    buf: BytesMut,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self {
            // Start-up messages are small; the relay takes a full-size buffer from its pool.
            buf: BytesMut::with_capacity(1024),
        }
    }

    async fn fill<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
        want: usize,
    ) -> Result<(), ProxyError> {
        while self.buf.len() < want {
            self.buf.reserve(want - self.buf.len());
            if s.read_buf(&mut self.buf).await? == 0 {
                return Err(ProxyError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
        Ok(())
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads one length-prefixed startup packet (no type byte).
    pub async fn read_startup<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
    ) -> Result<Bytes, ProxyError> {
        self.fill(s, 4).await?;
        let len = loop {
            match startup::packet_len(&self.buf)? {
                Some(len) => break len,
                None => self.fill(s, 4).await?,
            }
        };
        self.fill(s, len).await?;
        Ok(self.buf.split_to(len).freeze())
    }

    /// Reads one typed message of at most `max` bytes.
    pub async fn read_frame<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
        max: usize,
    ) -> Result<Bytes, ProxyError> {
        self.fill(s, 5).await?;
        let header = FrameHeader::read(&self.buf, max)?
            .ok_or(ProxyError::Io(std::io::ErrorKind::UnexpectedEof.into()))?;
        self.fill(s, header.total_len).await?;
        Ok(self.buf.split_to(header.total_len).freeze())
    }

    /// Gives up the buffer (with whatever was read ahead).
    pub fn into_inner(self) -> BytesMut {
        self.buf
    }
}
