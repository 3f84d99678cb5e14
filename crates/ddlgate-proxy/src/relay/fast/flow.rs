//! One direction's bytes in the fast relay, in a single buffer:
//! `[sent..done)` judged and waiting to be written, `[done..end)` read and not yet judged
//! (the start of a frame still arriving). Bytes are written exactly as read. The buffer is
//! taken from the thread's pool when bytes arrive and given back once they have all gone out,
//! so a quiet session holds none ([`crate::relay::buffers`]).

use std::io::{self, Read, Write};

use crate::relay::buffers::{give_flow, take_flow};

/// See the module docs.
#[derive(Debug)]
pub struct Flow {
    /// Empty (no allocation) while nothing waits.
    buf: Vec<u8>,
    /// The size of a buffer taken from the pool.
    chunk: usize,
    sent: usize,
    done: usize,
    end: usize,
    /// The destination would block: nothing more is read until it drains.
    pub blocked: bool,
    /// Bytes judged (to be written) since the flow began.
    pub judged: u64,
}

/// What one read brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filled {
    /// Bytes arrived; `drained` when they did not fill the space offered, so the socket has
    /// nothing more for now (edge-triggered readiness fires again on new bytes).
    Bytes {
        /// Whether the socket was drained.
        drained: bool,
    },
    /// Nothing to read now.
    WouldBlock,
    /// The peer closed its side, or the socket failed.
    Closed,
}

impl Flow {
    /// An empty flow reading `chunk` bytes at a time, holding `unjudged` (bytes read ahead
    /// by the async relay) to begin with.
    pub fn new(chunk: usize, unjudged: &[u8]) -> Self {
        let mut buf = Vec::new();
        if !unjudged.is_empty() {
            buf = if unjudged.len() + chunk / 2 <= chunk {
                take_flow(chunk)
            } else {
                vec![0; unjudged.len() + chunk / 2]
            };
            buf[..unjudged.len()].copy_from_slice(unjudged);
        }
        Self {
            buf,
            chunk,
            sent: 0,
            done: 0,
            end: unjudged.len(),
            blocked: false,
            judged: 0,
        }
    }

    /// Reads once from `src` into the free space, making room first.
    pub fn fill(&mut self, src: &mut impl Read) -> Filled {
        if self.buf.is_empty() {
            self.buf = take_flow(self.chunk);
        }
        if self.end == self.buf.len() {
            self.make_room(self.buf.len() / 2);
        }
        let space = self.buf.len() - self.end;
        match src.read(&mut self.buf[self.end..]) {
            Ok(0) => Filled::Closed,
            Ok(n) => {
                self.end += n;
                Filled::Bytes { drained: n < space }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.give_back_if_empty();
                Filled::WouldBlock
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Filled::Bytes { drained: false },
            Err(_) => Filled::Closed,
        }
    }

    /// Gives the buffer back to the pool when nothing waits in it.
    fn give_back_if_empty(&mut self) {
        if self.end == 0 && !self.buf.is_empty() {
            give_flow(std::mem::take(&mut self.buf), self.chunk);
        }
    }

    /// The bytes read and not yet judged.
    pub fn unjudged(&self) -> &[u8] {
        &self.buf[self.done..self.end]
    }

    /// Marks the first `n` unjudged bytes as judged: they will be written.
    pub fn accept(&mut self, n: usize) {
        debug_assert!(self.done + n <= self.end);
        self.done += n;
        self.judged += n as u64;
    }

    /// Makes sure a frame of `len` bytes starting at the first unjudged byte fits.
    pub fn reserve(&mut self, len: usize) {
        if self.buf.is_empty() {
            self.buf = take_flow(self.chunk);
        }
        if self.buf.len() - self.done < len {
            self.make_room(len.saturating_sub(self.buf.len() - self.done));
        }
    }

    /// Whether judged bytes wait to be written.
    #[cfg(test)]
    fn has_unsent(&self) -> bool {
        self.sent < self.done
    }

    /// Writes the judged bytes to `dst`. `Ok` when all went or the socket would block
    /// ([`Self::blocked`] says which); `Err` when the socket failed.
    pub fn flush(&mut self, dst: &mut impl Write) -> io::Result<()> {
        while self.sent < self.done {
            match dst.write(&self.buf[self.sent..self.done]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.blocked = false;
        if self.sent == self.end {
            // Everything read went out: the buffer goes back to the pool.
            (self.sent, self.done, self.end) = (0, 0, 0);
            self.give_back_if_empty();
        }
        Ok(())
    }

    /// The judged bytes not yet written, and the unjudged ones.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u8>) {
        let parts = (
            self.buf[self.sent..self.done].to_vec(),
            self.buf[self.done..self.end].to_vec(),
        );
        give_flow(self.buf, self.chunk);
        parts
    }

    /// Whether the flow holds a buffer (it does only while bytes wait in it).
    #[cfg(test)]
    fn holds_buffer(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Frees space at the end: moves the live bytes to the front, and grows by at least
    /// `more` when that is not enough.
    fn make_room(&mut self, more: usize) {
        if self.sent > 0 {
            self.buf.copy_within(self.sent..self.end, 0);
            self.end -= self.sent;
            self.done -= self.sent;
            self.sent = 0;
        }
        if self.buf.len() - self.end < more.max(1) {
            let len = self.buf.len() + more.max(self.buf.len());
            self.buf.resize(len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that takes at most `room` bytes, then would block.
    struct Tight {
        got: Vec<u8>,
        room: usize,
    }

    impl Write for Tight {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = b.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn judged_bytes_go_out_in_order_across_blocked_writes_and_refills() {
        let input: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        let mut src = io::Cursor::new(input.clone());
        let mut flow = Flow::new(64, b"");
        let mut dst = Tight {
            got: Vec::new(),
            room: 0,
        };
        loop {
            match flow.fill(&mut src) {
                Filled::Closed => break,
                Filled::WouldBlock => unreachable!(),
                Filled::Bytes { .. } => {}
            }
            // Judge all but the last 3 bytes (a frame still arriving).
            let n = flow.unjudged().len().saturating_sub(3);
            flow.accept(n);
            flow.flush(&mut dst).expect("flush");
            assert!(flow.blocked || !flow.has_unsent());
            dst.room += 50;
        }
        let n = flow.unjudged().len();
        flow.accept(n);
        dst.room = usize::MAX;
        flow.flush(&mut dst).expect("flush");
        assert!(dst.got == input, "bytes differ");
        assert!(!flow.holds_buffer(), "all out: the buffer went back");
        // Bytes arrive again: a buffer is taken again.
        let mut src = io::Cursor::new(vec![1u8; 10]);
        assert!(matches!(flow.fill(&mut src), Filled::Bytes { .. }));
        assert!(flow.holds_buffer());
        assert_eq!(flow.unjudged(), &[1u8; 10]);
    }

    #[test]
    fn a_large_frame_gets_room_and_the_parts_come_back() {
        let mut flow = Flow::new(16, b"abc");
        flow.reserve(100);
        let mut src = io::Cursor::new(vec![7u8; 97]);
        while flow.unjudged().len() < 100 {
            assert!(matches!(flow.fill(&mut src), Filled::Bytes { .. }));
        }
        flow.accept(50);
        let (unsent, unjudged) = flow.into_parts();
        assert_eq!(unsent.len(), 50);
        assert_eq!(&unsent[..3], b"abc");
        assert_eq!(unjudged, vec![7u8; 50]);
    }
}
