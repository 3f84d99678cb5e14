//! Read buffers held by a session only while bytes wait in them.
//!
//! An idle session holds no buffer: when a pump's read must wait and its buffer is empty, the
//! buffer goes back to its thread's pool, and the next read that has bytes to deliver takes one
//! again (taking and giving back is a push and a pop, no allocation). So memory grows with the
//! sessions that are moving data, not with the sessions that are connected — the way PgBouncer
//! keeps idle clients at about 1 KiB each. Each thread keeps a bounded number of spare buffers;
//! buffers that grew for a large message are freed rather than kept.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::AsyncRead;

/// Read buffer refill size.
pub const READ_CHUNK: usize = 16 * 1024;
/// How far into its allocation an emptied read buffer may have moved before it starts again
/// at the front.
const REWIND_AFTER: usize = 2 * 1024;
/// Spare buffers kept per thread (each [`READ_CHUNK`] bytes, or a little more): enough for
/// the bursts of a few sessions at once; a miss costs one allocation.
const KEEP: usize = 8;
/// Buffers larger than this (grown for a large message) are freed, not kept.
const KEEP_AT_MOST: usize = 4 * READ_CHUNK;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    static SPARE_FLOWS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Makes room in a pump's read buffer for the next read. A buffer given back (no allocation)
/// takes one from the pool. The buffer's start moves forward as frames are consumed; once
/// everything read has been forwarded it starts again at the front of its allocation
/// (`reserve` reclaims the consumed space when nothing is left to copy), so a session's small
/// request/response traffic keeps to the same few cache lines.
pub fn make_room(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() == 0 {
        *buf = take();
        return;
    }
    let spare = buf.capacity() - buf.len();
    if (buf.is_empty() && spare < READ_CHUNK - REWIND_AFTER) || spare < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
}

/// A buffer from this thread's pool, or a new one.
fn take() -> BytesMut {
    let spare = SPARE.with(|s| s.borrow_mut().pop());
    spare.unwrap_or_else(|| BytesMut::with_capacity(READ_CHUNK))
}

/// Gives an empty buffer back to this thread's pool (or frees it); a buffer holding bytes is
/// kept.
pub fn give_back(buf: &mut BytesMut) {
    if !buf.is_empty() || buf.capacity() == 0 {
        return;
    }
    let mut buf = std::mem::take(buf);
    // Back to the front of its allocation (no copy: it is empty); only a buffer of the
    // pool's size, used by nothing else, is kept.
    if buf.try_reclaim(READ_CHUNK) && buf.capacity() <= KEEP_AT_MOST {
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < KEEP {
                s.push(buf);
            }
        });
    }
}

/// Reads into `buf` like `tokio_util::io::poll_read_buf`, holding a buffer only while the read
/// delivers bytes: an empty buffer is given back while the read waits.
pub fn poll_read_lean<R: AsyncRead + Unpin>(
    src: &mut R,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    make_room(buf);
    let polled = tokio_util::io::poll_read_buf(Pin::new(src), cx, buf);
    if polled.is_pending() {
        give_back(buf);
    }
    polled
}

/// [`poll_read_lean`] as a future.
pub async fn read_lean<R: AsyncRead + Unpin>(src: &mut R, buf: &mut BytesMut) -> io::Result<usize> {
    std::future::poll_fn(|cx| poll_read_lean(src, cx, buf)).await
}

/// A zero-filled flow buffer of `len` bytes for the fast relay, from this thread's pool when
/// `len` is the pool's size.
pub fn take_flow(len: usize) -> Vec<u8> {
    let spare = SPARE_FLOWS.with(|s| {
        let mut s = s.borrow_mut();
        match s.last() {
            Some(b) if b.len() == len => s.pop(),
            _ => None,
        }
    });
    spare.unwrap_or_else(|| vec![0; len])
}

/// Gives a flow buffer of `len` bytes back to this thread's pool (others are freed).
pub fn give_flow(buf: Vec<u8>, len: usize) {
    if buf.len() == len {
        SPARE_FLOWS.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < KEEP {
                s.push(buf);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Buf;

    #[test]
    fn an_emptied_buffer_starts_again_at_the_front() {
        let mut buf = BytesMut::new();
        make_room(&mut buf);
        let front = buf.as_ptr();
        // Small reads that are forwarded whole: the start stays near the front.
        for _ in 0..100 {
            buf.extend_from_slice(&[7; 300]);
            buf.advance(300);
            make_room(&mut buf);
            assert!(buf.as_ptr() as usize - front as usize <= REWIND_AFTER + 300);
        }
        // Bytes still waiting are never moved away from under their frame.
        buf.extend_from_slice(&[1; 3000]);
        buf.advance(2990);
        let waiting = buf.as_ptr();
        make_room(&mut buf);
        assert_eq!(buf.as_ptr(), waiting);
        assert_eq!(&buf[..], &[1; 10]);
        buf.advance(10);
        make_room(&mut buf);
        assert_eq!(buf.as_ptr(), front);
        assert!(buf.capacity() >= READ_CHUNK);
    }

    #[test]
    fn a_given_back_buffer_is_reused_and_a_buffer_with_bytes_is_kept() {
        let mut buf = BytesMut::new();
        make_room(&mut buf);
        buf.extend_from_slice(b"half a frame");
        give_back(&mut buf);
        assert_eq!(&buf[..], b"half a frame", "bytes waiting: kept");
        let allocation = buf.as_ptr();
        buf.advance(buf.len());
        give_back(&mut buf);
        assert_eq!(
            buf.capacity(),
            0,
            "empty: given back, the session holds nothing"
        );
        make_room(&mut buf);
        assert_eq!(
            buf.as_ptr(),
            allocation,
            "the same allocation, from the front"
        );
        assert!(buf.capacity() >= READ_CHUNK);
    }

    #[test]
    fn a_buffer_grown_for_a_large_message_is_freed_not_kept() {
        SPARE.with(|s| s.borrow_mut().clear());
        let mut buf = BytesMut::with_capacity(KEEP_AT_MOST * 2);
        give_back(&mut buf);
        assert_eq!(SPARE.with(|s| s.borrow().len()), 0);
        for _ in 0..KEEP + 5 {
            let mut b = BytesMut::with_capacity(READ_CHUNK);
            give_back(&mut b);
        }
        assert_eq!(SPARE.with(|s| s.borrow().len()), KEEP, "bounded");
    }

    #[tokio::test]
    async fn a_waiting_read_holds_no_buffer_and_delivers_when_bytes_come() {
        use tokio::io::AsyncWriteExt;
        let (mut a, mut b) = tokio::io::duplex(64);
        let mut buf = BytesMut::new();
        let waiting = std::future::poll_fn(|cx| {
            Poll::Ready(poll_read_lean(&mut b, cx, &mut buf).is_pending())
        })
        .await;
        assert!(waiting);
        assert_eq!(buf.capacity(), 0, "nothing held while waiting");
        a.write_all(b"hello").await.unwrap();
        let n = read_lean(&mut b, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
    }
}
