//! Frame splitting: the 5-byte header `(type byte, Int32 length)` of every message after
//! startup ([Message Formats](https://www.postgresql.org/docs/current/protocol-message-formats.html)).
//!
//! The splitter never copies or decodes a body. It answers one question per call: how many
//! leading bytes of the buffer form a frame (or a piece of a large frame) that may be
//! forwarded now. Frames whose type byte is in the caller's [`TagSet`] are always reported
//! whole, so they can be decoded; other frames larger than the streaming threshold are handed
//! out in pieces as they arrive, so a 1 GB `DataRow` or `CopyData` never has to be buffered.

/// A set of type bytes, as a 256-bit bitmap (constant-time lookup).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagSet([u64; 4]);

impl TagSet {
    /// The empty set.
    pub const fn empty() -> Self {
        Self([0; 4])
    }

    /// This set plus `byte`.
    pub const fn with(mut self, byte: u8) -> Self {
        self.0[(byte >> 6) as usize] |= 1u64 << (byte & 63);
        self
    }

    /// Whether `byte` is in the set.
    #[inline]
    pub const fn contains(&self, byte: u8) -> bool {
        self.0[(byte >> 6) as usize] & (1u64 << (byte & 63)) != 0
    }
}

/// Type byte and total size (type byte + length field + body) of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The message type byte.
    pub tag: u8,
    /// `1 + length`, i.e. the number of bytes the whole frame occupies.
    pub total_len: usize,
}

impl FrameHeader {
    /// Reads a header from the first five bytes, if present. Validates the length field.
    #[inline]
    pub fn read(buf: &[u8], max_frame: usize) -> Result<Option<Self>, FrameError> {
        let Some(head) = buf.get(..5) else {
            return Ok(None);
        };
        let tag = head[0];
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len < 4 {
            return Err(FrameError::BadLength { tag, len });
        }
        let total_len = len + 1;
        if total_len > max_frame {
            return Err(FrameError::TooLarge {
                tag,
                len: total_len,
                max: max_frame,
            });
        }
        Ok(Some(Self { tag, total_len }))
    }
}

/// What the next bytes of the buffer are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitStep {
    /// A whole frame starts the buffer.
    Frame(FrameHeader),
    /// `len` leading bytes belong to a large, uninspected frame and may be forwarded now.
    Stream {
        /// Bytes that may be forwarded.
        len: usize,
    },
    /// More bytes are needed; `frame_len` is the size of the pending frame when its header is
    /// already known, so the caller can reserve buffer space once.
    NeedMore {
        /// Total size of the frame being assembled, when known.
        frame_len: Option<usize>,
    },
}

/// Malformed framing. The connection cannot be resynchronised after either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length field is below 4, which no valid message has.
    #[error("invalid message length {len} for message type {tag:#04x}")]
    BadLength {
        /// Type byte.
        tag: u8,
        /// Length field as received.
        len: usize,
    },
    /// The frame exceeds the configured cap.
    #[error("message of type {tag:#04x} is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Type byte.
        tag: u8,
        /// Total frame size announced.
        len: usize,
        /// Configured cap.
        max: usize,
    },
}

/// Incremental splitter for one direction of a connection.
#[derive(Clone, Debug)]
pub struct Splitter {
    inspect: TagSet,
    stream_threshold: usize,
    max_frame: usize,
    streaming_left: usize,
}

impl Splitter {
    /// A splitter that reports frames in `inspect` whole, streams other frames larger than
    /// `stream_threshold` bytes, and rejects frames larger than `max_frame` bytes.
    pub fn new(inspect: TagSet, stream_threshold: usize, max_frame: usize) -> Self {
        Self {
            inspect,
            stream_threshold: stream_threshold.max(5),
            max_frame,
            streaming_left: 0,
        }
    }

    /// Whether a streamed frame is in progress (the next bytes are its continuation).
    pub fn is_streaming(&self) -> bool {
        self.streaming_left > 0
    }

    /// Looks at the start of `buf` (bytes not yet consumed) and says what it holds. The caller
    /// consumes the bytes of a `Frame` (`total_len`) or a `Stream` (`len`) before calling again.
    #[inline]
    pub fn step(&mut self, buf: &[u8]) -> Result<SplitStep, FrameError> {
        if self.streaming_left > 0 {
            let len = self.streaming_left.min(buf.len());
            if len == 0 {
                return Ok(SplitStep::NeedMore { frame_len: None });
            }
            self.streaming_left -= len;
            return Ok(SplitStep::Stream { len });
        }
        let Some(header) = FrameHeader::read(buf, self.max_frame)? else {
            return Ok(SplitStep::NeedMore { frame_len: None });
        };
        if buf.len() >= header.total_len {
            return Ok(SplitStep::Frame(header));
        }
        if header.total_len > self.stream_threshold && !self.inspect.contains(header.tag) {
            self.streaming_left = header.total_len - buf.len();
            return Ok(SplitStep::Stream { len: buf.len() });
        }
        Ok(SplitStep::NeedMore {
            frame_len: Some(header.total_len),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::frame;
    use proptest::prelude::*;

    /// Feeds `stream` in the given chunk sizes, returning whole inspected frames and the
    /// concatenation of everything handed out.
    fn run(
        stream: &[u8],
        chunks: &[usize],
        inspect: TagSet,
        threshold: usize,
    ) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut sp = Splitter::new(inspect, threshold, 1 << 20);
        let mut buf: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut frames = Vec::new();
        let mut out = Vec::new();
        let mut chunk_iter = chunks.iter().cycle();
        loop {
            loop {
                match sp.step(&buf).expect("valid stream") {
                    SplitStep::Frame(h) => {
                        if inspect.contains(h.tag) {
                            frames.push(buf[..h.total_len].to_vec());
                        }
                        out.extend_from_slice(&buf[..h.total_len]);
                        buf.drain(..h.total_len);
                    }
                    SplitStep::Stream { len } => {
                        out.extend_from_slice(&buf[..len]);
                        buf.drain(..len);
                    }
                    SplitStep::NeedMore { .. } => break,
                }
            }
            if pos >= stream.len() {
                break;
            }
            let n = (*chunk_iter.next().unwrap_or(&1))
                .max(1)
                .min(stream.len() - pos);
            buf.extend_from_slice(&stream[pos..pos + n]);
            pos += n;
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        (frames, out)
    }

    #[test]
    fn rejects_short_length() {
        let mut sp = Splitter::new(TagSet::empty(), 64, 1024);
        assert_eq!(
            sp.step(b"Q\0\0\0\x03"),
            Err(FrameError::BadLength { tag: b'Q', len: 3 })
        );
    }

    #[test]
    fn rejects_oversized_frame() {
        let mut sp = Splitter::new(TagSet::empty(), 64, 1024);
        let err = sp.step(&frame(b'Q', &[0; 2000])[..5]).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLarge {
                tag: b'Q',
                len: 2005,
                max: 1024
            }
        ));
    }

    #[test]
    fn needs_more_reports_frame_length() {
        let mut sp = Splitter::new(TagSet::empty().with(b'Q'), 64, 1024);
        let f = frame(b'Q', &[b'x'; 100]);
        assert_eq!(
            sp.step(&f[..3]),
            Ok(SplitStep::NeedMore { frame_len: None })
        );
        assert_eq!(
            sp.step(&f[..10]),
            Ok(SplitStep::NeedMore {
                frame_len: Some(105)
            })
        );
        assert_eq!(
            sp.step(&f),
            Ok(SplitStep::Frame(FrameHeader {
                tag: b'Q',
                total_len: 105
            }))
        );
    }

    #[test]
    fn streams_large_uninspected_frames() {
        let mut sp = Splitter::new(TagSet::empty(), 16, 1 << 20);
        let f = frame(b'D', &[7; 100]);
        assert_eq!(sp.step(&f[..40]), Ok(SplitStep::Stream { len: 40 }));
        assert!(sp.is_streaming());
        assert_eq!(sp.step(&f[40..50]), Ok(SplitStep::Stream { len: 10 }));
        assert_eq!(sp.step(&f[50..]), Ok(SplitStep::Stream { len: 55 }));
        assert!(!sp.is_streaming());
    }

    #[test]
    fn tag_set_membership() {
        let s = TagSet::empty().with(b'Q').with(0).with(255);
        assert!(s.contains(b'Q') && s.contains(0) && s.contains(255));
        assert!(!s.contains(b'P'));
    }

    fn arb_frames() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
        prop::collection::vec(
            (
                prop::sample::select(vec![b'Q', b'P', b'D', b'd', b'Z', b'S']),
                prop::collection::vec(any::<u8>(), 0..300),
            ),
            0..40,
        )
    }

    proptest! {
        /// Arbitrary chunking of a valid stream yields the same inspected frames, and the
        /// bytes handed out are exactly the input, in order.
        #[test]
        fn chunking_does_not_change_frames(frames in arb_frames(), chunks in prop::collection::vec(1usize..200, 1..20), threshold in 5usize..400) {
            let inspect = TagSet::empty().with(b'Q').with(b'P').with(b'Z');
            let stream: Vec<u8> = frames.iter().flat_map(|(t, b)| frame(*t, b)).collect();
            let expected: Vec<Vec<u8>> = frames.iter().filter(|(t, _)| inspect.contains(*t)).map(|(t, b)| frame(*t, b)).collect();
            let (got, out) = run(&stream, &chunks, inspect, threshold);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(out, stream);
        }

        /// Arbitrary bytes never panic the splitter.
        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut sp = Splitter::new(TagSet::empty().with(b'Q'), 32, 4096);
            let mut rest: &[u8] = &bytes;
            while let Ok(step) = sp.step(rest) {
                match step {
                    SplitStep::Frame(h) => rest = &rest[h.total_len..],
                    SplitStep::Stream { len } => rest = &rest[len..],
                    SplitStep::NeedMore { .. } => break,
                }
            }
        }
    }
}
