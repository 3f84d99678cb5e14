//! What a running plan checks between steps and batches: whether the client cancelled or
//! went away, and where progress is reported.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;

use crate::stream::ReadHalf;

/// Watches the client connection without blocking: bytes it sends meanwhile are kept for the
/// relay; end of stream means the client has gone.
pub struct ClientWatch<'a> {
    /// Client read half.
    pub src: &'a mut ReadHalf,
    /// The relay's client buffer (read-ahead is appended, not lost).
    pub buf: &'a mut BytesMut,
    /// Set by the cancel map when the client sends a CancelRequest for this session: a cancel
    /// that arrives between two statements of a plan has nothing upstream to cancel, so the
    /// plan itself must stop.
    pub cancel: &'a AtomicBool,
}

/// What a running plan checks between steps and batches.
pub trait Watch {
    /// Whether the client cancelled: the plan stops and reports SQLSTATE 57014.
    fn cancelled(&self) -> bool;

    /// Whether the plan must stop at this safe point (cancelled, client gone, time is up).
    fn gone(&mut self) -> bool;

    /// Progress: `step` is the index of the step running, `rows` the rows a backfill has
    /// written so far (durable jobs record it).
    fn progress(&mut self, _step: usize, _rows: u64) {}

    /// Step `step` of the plan ended (done, skipped, failed or interrupted), as `record` says.
    fn step_ended(&mut self, _step: usize, _record: &crate::enforce::AuditStep) {}
}

impl ClientWatch<'_> {
    /// Whether the client has closed its connection (bytes it sent meanwhile are kept).
    pub fn disconnected(&mut self) -> bool {
        let fut = pin!(self.src.read_buf(self.buf));
        let mut cx = Context::from_waker(Waker::noop());
        matches!(fut.poll(&mut cx), Poll::Ready(Ok(0) | Err(_)))
    }
}

impl<W: Watch + ?Sized> Watch for &mut W {
    fn cancelled(&self) -> bool {
        (**self).cancelled()
    }

    fn gone(&mut self) -> bool {
        (**self).gone()
    }

    fn progress(&mut self, step: usize, rows: u64) {
        (**self).progress(step, rows);
    }

    fn step_ended(&mut self, step: usize, record: &crate::enforce::AuditStep) {
        (**self).step_ended(step, record);
    }
}

impl Watch for ClientWatch<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn gone(&mut self) -> bool {
        self.cancelled() || self.disconnected()
    }
}
