//! HTTP/2 frame boundaries as a connection's bytes go by, for the watchdog:
//! whether the connection began with HTTP/2's preface (prior knowledge,
//! h2c), and when a client's header block opens (a HEADERS frame) and
//! closes (the frame carrying END_HEADERS has arrived whole).
//!
//! HTTP/1 has one head per request, and bytes arriving on an idle
//! connection start it. HTTP/2 interleaves many streams, and a client may
//! send frames that start no request (SETTINGS, PING, WINDOW_UPDATE), so
//! the header timeout must follow header blocks instead: a block left open
//! (a HEADERS frame without END_HEADERS and then nothing, CONTINUATION
//! frames that never end, a payload that stops short) stalls every request
//! of the connection, since nothing may come between its frames (RFC 9113
//! §6.10).
//!
//! h2 parses the frames itself; this only reads each 9-byte frame header
//! and skips the payload by its length: a few comparisons per frame, at
//! most one partial frame header (9 bytes) held. It judges nothing: a
//! malformed stream of frames is h2's to refuse.

/// The client connection preface of HTTP/2 (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The length of a frame header.
const FRAME_HEADER: usize = 9;

/// Frame types that carry a header block, and the flag that ends it.
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;

/// Where a connection's bytes stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first bytes, this many of them matching the preface so far.
    Preface(usize),
    /// Not HTTP/2 (the first bytes are not its preface): nothing to follow.
    Http1,
    /// Between frames: this many bytes of the next frame header so far.
    Head(usize),
    /// Inside a payload: the bytes left, and whether the frame ends a
    /// header block.
    Payload { left: usize, ends_block: bool },
}

/// Follows one connection's incoming bytes (see the module).
#[derive(Debug, Clone)]
pub(crate) struct Frames {
    phase: Phase,
    /// The frame header being read.
    head: [u8; FRAME_HEADER],
    /// A header block is open.
    open: bool,
}

/// What one run of bytes did, as [`Frames::feed`] reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fed {
    /// The preface ended in these bytes: the connection speaks HTTP/2.
    pub(crate) preface: bool,
    /// A header block closed in these bytes.
    pub(crate) closed: bool,
    /// A header block is open at their end (if `closed` too, it opened in
    /// these bytes).
    pub(crate) open: bool,
}

impl Default for Frames {
    fn default() -> Self {
        Self {
            phase: Phase::Preface(0),
            head: [0; FRAME_HEADER],
            open: false,
        }
    }
}

impl Frames {
    /// Whether the connection's first bytes were HTTP/2's preface, whole.
    pub(crate) fn http2(&self) -> bool {
        !matches!(self.phase, Phase::Preface(_) | Phase::Http1)
    }

    /// The protocol, once the first bytes tell: HTTP/2 (`true`) or not.
    pub(crate) fn protocol(&self) -> Option<bool> {
        match self.phase {
            Phase::Preface(_) => None,
            phase => Some(phase != Phase::Http1),
        }
    }

    /// Follows `bytes`, the next ones the client sent.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Fed {
        let mut fed = Fed::default();
        while !bytes.is_empty() {
            match self.phase {
                Phase::Http1 => break,
                Phase::Preface(matched) => {
                    let want = &PREFACE[matched..];
                    let take = want.len().min(bytes.len());
                    if bytes[..take] != want[..take] {
                        self.phase = Phase::Http1;
                        break;
                    }
                    self.phase = if matched + take == PREFACE.len() {
                        fed.preface = true;
                        Phase::Head(0)
                    } else {
                        Phase::Preface(matched + take)
                    };
                    bytes = &bytes[take..];
                }
                Phase::Head(got) => {
                    let take = (FRAME_HEADER - got).min(bytes.len());
                    self.head[got..got + take].copy_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    self.phase = Phase::Head(got + take);
                    if got + take == FRAME_HEADER {
                        self.frame_header(&mut fed);
                    }
                }
                Phase::Payload { left, ends_block } => {
                    let take = left.min(bytes.len());
                    bytes = &bytes[take..];
                    self.phase = Phase::Payload {
                        left: left - take,
                        ends_block,
                    };
                    self.payload_read(&mut fed);
                }
            }
        }
        fed.open = self.open;
        fed
    }

    /// A whole frame header has been read: a HEADERS frame opens a block.
    fn frame_header(&mut self, fed: &mut Fed) {
        let [l0, l1, l2, kind, flags, ..] = self.head;
        let length = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
        if kind == HEADERS {
            self.open = true;
        }
        let ends_block = (kind == HEADERS || kind == CONTINUATION) && flags & END_HEADERS != 0;
        self.phase = Phase::Payload {
            left: length,
            ends_block,
        };
        // An empty payload is read already.
        self.payload_read(fed);
    }

    /// If the payload is all read, the frame is over (and its block with
    /// it, if it carries END_HEADERS).
    fn payload_read(&mut self, fed: &mut Fed) {
        if let Phase::Payload {
            left: 0,
            ends_block,
        } = self.phase
        {
            if ends_block && self.open {
                self.open = false;
                fed.closed = true;
            }
            self.phase = Phase::Head(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame header: payload length, type, flags, stream 1.
    fn frame(length: usize, kind: u8, flags: u8) -> Vec<u8> {
        let mut bytes = (length as u32).to_be_bytes()[1..].to_vec();
        bytes.extend_from_slice(&[kind, flags, 0, 0, 0, 1]);
        bytes
    }

    fn fed(preface: bool, closed: bool, open: bool) -> Fed {
        Fed {
            preface,
            closed,
            open,
        }
    }

    #[test]
    fn http1_is_told_apart_at_the_first_byte_that_differs() {
        for first in [&b"GET / HTTP/1.1\r\n"[..], b"POST /", b"PRI * HTTP/1.1"] {
            let mut frames = Frames::default();
            assert_eq!(frames.feed(first), Fed::default());
            assert!(!frames.http2());
            assert_eq!(frames.phase, Phase::Http1);
            // Whatever comes next is not followed.
            assert_eq!(frames.feed(&frame(0, HEADERS, 0)), Fed::default());
        }
    }

    #[test]
    fn a_header_block_opens_and_closes_across_reads_split_anywhere() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(6, 0x4, 0)); // SETTINGS: no block
        bytes.extend([0; 6]);
        bytes.extend(frame(3, HEADERS, 0x1)); // END_STREAM, no END_HEADERS
        bytes.extend([1, 2, 3]);
        bytes.extend(frame(2, CONTINUATION, END_HEADERS));
        bytes.extend([4, 5]);
        // Every split gives the same story: preface, block open, closed.
        for split in 0..bytes.len() {
            let mut frames = Frames::default();
            let first = frames.feed(&bytes[..split]);
            let second = frames.feed(&bytes[split..]);
            assert!(frames.http2(), "split {split}");
            assert!(first.preface || second.preface, "split {split}");
            assert!(second.closed || first.closed, "split {split}");
            assert!(!second.open, "split {split}");
        }
        let mut frames = Frames::default();
        // The block stays open through its CONTINUATION until the payload
        // of the one that ends it is whole.
        let opened = PREFACE.len() + 15 + 9;
        assert_eq!(frames.feed(&bytes[..opened]), fed(true, false, true));
        assert_eq!(
            frames.feed(&bytes[opened..bytes.len() - 1]),
            fed(false, false, true)
        );
        assert_eq!(
            frames.feed(&bytes[bytes.len() - 1..]),
            fed(false, true, false)
        );
    }

    #[test]
    fn a_block_that_closes_and_another_that_opens_in_one_read() {
        let mut frames = Frames::default();
        frames.feed(PREFACE);
        let mut bytes = frame(1, HEADERS, END_HEADERS);
        bytes.push(0);
        bytes.extend(frame(10, HEADERS, END_HEADERS));
        bytes.extend([0; 4]);
        assert_eq!(frames.feed(&bytes), fed(false, true, true));
        assert_eq!(frames.feed(&[0; 6]), fed(false, true, false));
    }

    #[test]
    fn other_frames_and_empty_payloads_leave_blocks_alone() {
        let mut frames = Frames::default();
        frames.feed(PREFACE);
        // PING, WINDOW_UPDATE, DATA: no block.
        for kind in [0x6, 0x8, 0x0] {
            let mut bytes = frame(8, kind, END_HEADERS);
            bytes.extend([0; 8]);
            assert_eq!(frames.feed(&bytes), Fed::default(), "type {kind}");
        }
        // A HEADERS frame with an empty payload and END_HEADERS is whole.
        assert_eq!(
            frames.feed(&frame(0, HEADERS, END_HEADERS)),
            fed(false, true, false)
        );
        // A frame header cut short opens nothing yet.
        assert_eq!(frames.feed(&frame(5, HEADERS, 0)[..8]), Fed::default());
        assert_eq!(frames.feed(&[1]), fed(false, false, true));
    }
}
