//! The steady-state relay: two pumps, one per direction, each reading whatever bytes are
//! available, splitting them into frames by header only, showing the session the few frames it
//! tracks, and writing the original bytes on in one call. Large uninspected frames (DataRow,
//! CopyData) are streamed in pieces. The pumps never wait for each other, so a client may
//! pipeline as deep as it likes.
//!
//! Cancel safety: both reads (`read_buf`) are cancel safe. Writes are not; a pump records in
//! [`Boundary`] whether its last write ended between frames, so the caller knows whether a
//! message of its own can still be appended to the client stream.

use std::sync::Mutex;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use ddlgate_session::{ClientEvent, Session, INSPECT_CLIENT, INSPECT_SERVER};
use ddlgate_wire::{SplitStep, Splitter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::stream::{ReadHalf, WriteHalf};
use crate::ProxyError;

/// Below this, an uninspected frame is forwarded whole rather than streamed.
const STREAM_THRESHOLD: usize = 64 * 1024;
/// Read buffer refill size.
const READ_CHUNK: usize = 16 * 1024;
/// Upstream frames the gateway must decode are small; anything else is streamed.
const MAX_SERVER_FRAME: usize = i32::MAX as usize;

/// Whether the bytes written so far to a stream end between two messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Between messages: the gateway may write a message of its own.
    AtBoundary,
    /// Inside a message (or a write was interrupted).
    MidFrame,
}

/// How a pump ended without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// The source closed its side.
    Eof,
    /// The client sent Terminate (forwarded).
    Terminated,
}

/// Per-session relay settings.
#[derive(Clone, Copy, Debug)]
pub struct RelayLimits {
    /// Largest client message.
    pub max_client_message: usize,
    /// How long a client may leave a message half-sent.
    pub message_timeout: Duration,
}

/// Client → server.
pub async fn client_to_server(
    src: &mut ReadHalf,
    dst: &mut WriteHalf,
    mut buf: BytesMut,
    session: &Mutex<Session>,
    limits: RelayLimits,
) -> Result<PumpEnd, ProxyError> {
    let mut splitter = Splitter::new(INSPECT_CLIENT, STREAM_THRESHOLD, limits.max_client_message);
    loop {
        let mut pos = 0;
        let mut end = None;
        loop {
            match splitter.step(&buf[pos..])? {
                SplitStep::Frame(h) => {
                    if INSPECT_CLIENT.contains(h.tag) {
                        let frame = &buf[pos..pos + h.total_len];
                        let event = lock(session).on_client_frame(frame);
                        match event {
                            ClientEvent::Malformed(e) => return Err(e.into()),
                            ClientEvent::Terminate => end = Some(PumpEnd::Terminated),
                            ClientEvent::Statement { protocol, sql, .. } => {
                                tracing::trace!(?protocol, bytes = sql.len(), "statement");
                            }
                            ClientEvent::Sync | ClientEvent::Other => {}
                        }
                    }
                    pos += h.total_len;
                    if end.is_some() {
                        break;
                    }
                }
                SplitStep::Stream { len } => pos += len,
                SplitStep::NeedMore { frame_len } => {
                    if let Some(len) = frame_len {
                        buf.reserve(len.saturating_sub(buf.len() - pos));
                    }
                    break;
                }
            }
        }
        if pos > 0 {
            dst.write_all(&buf[..pos]).await?;
            dst.flush().await?;
            buf.advance(pos);
        }
        if let Some(end) = end {
            return Ok(end);
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let partial = !buf.is_empty() || splitter.is_streaming();
        let n = if partial {
            tokio::time::timeout(limits.message_timeout, src.read_buf(&mut buf)).await.map_err(|_| ProxyError::MessageTimeout)??
        } else {
            src.read_buf(&mut buf).await?
        };
        if n == 0 {
            return Ok(PumpEnd::Eof);
        }
    }
}

/// Server → client.
pub async fn server_to_client(
    src: &mut ReadHalf,
    dst: &mut WriteHalf,
    mut buf: BytesMut,
    session: &Mutex<Session>,
    boundary: &mut Boundary,
) -> Result<PumpEnd, ProxyError> {
    let mut splitter = Splitter::new(INSPECT_SERVER, STREAM_THRESHOLD, MAX_SERVER_FRAME);
    loop {
        let mut pos = 0;
        loop {
            match splitter.step(&buf[pos..])? {
                SplitStep::Frame(h) => {
                    if INSPECT_SERVER.contains(h.tag) {
                        lock(session).on_server_frame(&buf[pos..pos + h.total_len])?;
                    }
                    pos += h.total_len;
                }
                SplitStep::Stream { len } => pos += len,
                SplitStep::NeedMore { frame_len } => {
                    if let Some(len) = frame_len {
                        buf.reserve(len.saturating_sub(buf.len() - pos));
                    }
                    break;
                }
            }
        }
        if pos > 0 {
            *boundary = Boundary::MidFrame;
            dst.write_all(&buf[..pos]).await?;
            dst.flush().await?;
            buf.advance(pos);
            if !splitter.is_streaming() {
                *boundary = Boundary::AtBoundary;
            }
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        if src.read_buf(&mut buf).await? == 0 {
            return Ok(PumpEnd::Eof);
        }
    }
}

/// Locks the session state. The lock is never held across an await, so poisoning can only
/// come from a panic in the session code itself; the state is still usable then.
fn lock(session: &Mutex<Session>) -> std::sync::MutexGuard<'_, Session> {
    session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
