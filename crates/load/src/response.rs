//! Incremental HTTP/1.x response reading, bounded whatever the server sends.
//!
//! The connection loop reads into its worker's scratch buffer and hands the
//! bytes to [`ResponseReader::feed`]. A head that arrives in one read is
//! parsed in place with `httparse`; only a head split over several reads is
//! copied into the reader's own small buffer, which may grow to
//! [`MAX_HEAD`] (a longer head is a malformed response) and shrinks back
//! before the next response. The body framing (Content-Length, chunked, or
//! close-delimited) is then followed only far enough to know where the
//! response ends: body bytes are counted and never stored. So a connection
//! holds a few KiB whatever the server sends (a hostile server answering
//! with 1 MB header lines to 1,000 connections once cost a GB).

use std::mem::MaybeUninit;

use crate::body::Body;
use crate::record::ErrorKind;

/// Room kept for a head split over reads: every connection owns one and
/// runs go to 50,000 connections.
const KEEP_HEAD: usize = 4 * 1024;
/// Heads longer than this are malformed responses, never buffered further.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Headers per response the parser accepts.
const MAX_HEADERS: usize = 128;

/// Reads one response at a time; reused across responses and connections.
pub(crate) struct ResponseReader {
    /// The head so far, when it did not arrive in one read.
    head: Vec<u8>,
    state: State,
    head_request: bool,
    want_server: bool,
    /// Status code of the (final) response.
    pub status: u16,
    /// Bytes of status lines and headers, interim 1xx heads included.
    pub header_bytes: u64,
    /// Raw body bytes, chunk framing included.
    pub body_bytes: u64,
    /// Whether the server lets the connection be reused.
    pub keep_alive: bool,
    /// The Server header, captured only when asked for.
    pub server: Option<String>,
    /// Bytes came after the end of the response in the read that ended
    /// it: the server sent something no request asked for.
    pub overrun: bool,
}

enum State {
    Head,
    Body(Body),
    Done,
}

/// What the head says about the response, pulled out while the buffer is
/// borrowed by the parser.
struct Head {
    status: u16,
    len: usize,
    keep_alive: bool,
    content_length: Option<u64>,
    chunked: bool,
    server: Option<String>,
}

impl ResponseReader {
    /// An idle reader; its head buffer is allocated on first need.
    pub(crate) fn new() -> ResponseReader {
        ResponseReader {
            head: Vec::new(),
            state: State::Done,
            head_request: false,
            want_server: false,
            status: 0,
            header_bytes: 0,
            body_bytes: 0,
            keep_alive: false,
            server: None,
            overrun: false,
        }
    }

    /// Prepares for the next response. A HEAD request's response has no
    /// body; `want_server` asks for the Server header to be captured.
    pub(crate) fn begin(&mut self, head_request: bool, want_server: bool) {
        self.reset_head();
        self.state = State::Head;
        self.head_request = head_request;
        self.want_server = want_server;
        self.status = 0;
        self.header_bytes = 0;
        self.body_bytes = 0;
        self.keep_alive = false;
        self.server = None;
        self.overrun = false;
    }

    /// Empties the head buffer and gives back what a long head made it take.
    fn reset_head(&mut self) {
        self.head.clear();
        if self.head.capacity() > KEEP_HEAD {
            self.head.shrink_to(KEEP_HEAD);
        }
    }

    /// Bytes of a split head held so far.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn head_len(&self) -> usize {
        self.head.len()
    }

    /// True until the first byte of this response arrived: an EOF now means
    /// the server closed the connection without answering.
    pub(crate) fn nothing_received(&self) -> bool {
        matches!(self.state, State::Head) && self.head.is_empty() && self.header_bytes == 0
    }

    /// Takes bytes just read. Returns whether the response is complete;
    /// bytes after its end are not read, only noted in
    /// [`ResponseReader::overrun`].
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<bool, ErrorKind> {
        let result = match self.state {
            State::Head => self.feed_head(data),
            State::Body(_) => self.feed_body(data),
            State::Done => {
                self.overrun |= !data.is_empty();
                Ok(true)
            }
        };
        if result.is_err() {
            self.reset_head();
        }
        result
    }

    /// The server closed the connection: complete for a close-delimited
    /// body, otherwise the kind of failure.
    pub(crate) fn eof(&mut self) -> Result<(), ErrorKind> {
        match &self.state {
            State::Done => Ok(()),
            State::Body(Body::Close) => {
                self.state = State::Done;
                Ok(())
            }
            State::Body(Body::Length(_)) => Err(ErrorKind::Length),
            State::Head | State::Body(Body::Chunked(_)) => Err(ErrorKind::Read),
        }
    }

    fn feed_body(&mut self, data: &[u8]) -> Result<bool, ErrorKind> {
        let State::Body(body) = &mut self.state else {
            return Ok(matches!(self.state, State::Done));
        };
        let (used, done) = body.feed(data)?;
        self.body_bytes += used as u64;
        if done {
            self.state = State::Done;
            self.overrun |= used < data.len();
        }
        Ok(done)
    }

    fn feed_head(&mut self, data: &[u8]) -> Result<bool, ErrorKind> {
        let fresh = self.head.is_empty();
        if fresh {
            // The usual case: the whole head in one read, parsed in place.
            if let Some(head) = parse(data, self.want_server)? {
                let len = head.len;
                return match self.start(head)? {
                    true => self.feed_body(&data[len..]),
                    false => self.feed_head(&data[len..]),
                };
            }
            if data.is_empty() {
                return Ok(false);
            }
        }
        let take = data.len().min(MAX_HEAD - self.head.len());
        self.head.extend_from_slice(&data[..take]);
        // Only a new line can complete a head, and a fresh head was just
        // parsed in place.
        let parsed = if !fresh && data[..take].contains(&b'\n') {
            parse(&self.head, self.want_server)?
        } else {
            None
        };
        let Some(head) = parsed else {
            return if self.head.len() >= MAX_HEAD {
                Err(ErrorKind::Malformed)
            } else {
                Ok(false)
            };
        };
        let len = head.len;
        let mut buffered = std::mem::take(&mut self.head);
        let result = if self.start(head)? {
            match self.feed_body(&buffered[len..]) {
                Ok(false) => self.feed_body(&data[take..]),
                Ok(true) => {
                    self.overrun |= take < data.len();
                    Ok(true)
                }
                other => other,
            }
        } else {
            // An interim response ended inside the buffer: rare (we never
            // send Expect), so the rest may be copied.
            let rest = [&buffered[len..], &data[take..]].concat();
            self.feed_head(&rest)
        };
        if self.head.capacity() == 0 {
            buffered.clear();
            self.head = buffered;
            self.reset_head();
        }
        result
    }

    /// Applies a complete head. Returns false for an interim (1xx) head,
    /// after which another head follows; true once the body begins.
    fn start(&mut self, head: Head) -> Result<bool, ErrorKind> {
        if head.len > MAX_HEAD {
            return Err(ErrorKind::Malformed);
        }
        self.header_bytes += head.len as u64;
        if (100..200).contains(&head.status) && head.status != 101 {
            // An interim response (100 Continue): the final one follows.
            return Ok(false);
        }
        self.status = head.status;
        self.keep_alive = head.keep_alive;
        self.server = head.server;
        let no_body = self.head_request
            || (100..200).contains(&head.status)
            || head.status == 204
            || head.status == 304;
        let body = if no_body {
            Body::Length(0)
        } else if head.chunked {
            Body::chunked()
        } else if let Some(len) = head.content_length {
            Body::Length(len)
        } else {
            // Only the close marks the end, so the connection cannot
            // carry another request.
            self.keep_alive = false;
            Body::Close
        };
        if head.status == 101 {
            self.keep_alive = false;
        }
        self.state = State::Body(body);
        Ok(true)
    }
}

/// Parses a complete head out of `buf`, or `None` if more bytes are needed.
fn parse(buf: &[u8], want_server: bool) -> Result<Option<Head>, ErrorKind> {
    let mut storage = [const { MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut storage,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Malformed),
    };
    let (Some(status), Some(version)) = (response.code, response.version) else {
        return Err(ErrorKind::Malformed);
    };
    let mut head = Head {
        status,
        len,
        keep_alive: false,
        content_length: None,
        chunked: false,
        server: None,
    };
    let (mut close, mut keep) = (false, false);
    for h in response.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let len = parse_length(h.value).ok_or(ErrorKind::Malformed)?;
            if head.content_length.is_some_and(|l| l != len) {
                return Err(ErrorKind::Malformed);
            }
            head.content_length = Some(len);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Chunked must be the last coding; anything else is read to close.
            head.chunked = tokens(h.value)
                .last()
                .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") {
            for t in tokens(h.value) {
                close |= t.eq_ignore_ascii_case(b"close");
                keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if want_server && name.eq_ignore_ascii_case(b"server") {
            head.server = Some(String::from_utf8_lossy(h.value).into_owned());
        }
    }
    // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only
    // when the server says keep-alive.
    head.keep_alive = !close && (version == 1 || keep);
    Ok(Some(head))
}

/// A Content-Length value: ASCII digits, surrounding spaces allowed.
fn parse_length(value: &[u8]) -> Option<u64> {
    let v = value.trim_ascii();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The comma-separated, trimmed, non-empty tokens of a header value.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes; returns (done, reader) or the error.
    fn read(wire: &[u8], step: usize, head: bool) -> Result<(bool, ResponseReader), ErrorKind> {
        let mut r = ResponseReader::new();
        r.begin(head, true);
        for piece in wire.chunks(step) {
            if r.feed(piece)? {
                return Ok((true, r));
            }
        }
        Ok((false, r))
    }

    const CL: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn content_length_in_any_split() {
        for step in [1, 2, 7, 100] {
            let (done, r) = read(CL, step, false).unwrap();
            assert!(done, "step {step}");
            assert_eq!((r.status, r.header_bytes, r.body_bytes), (200, 53, 5));
            assert!(r.keep_alive);
            assert_eq!(r.server.as_deref(), Some("nginx"));
        }
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |wire: &[u8]| read(wire, 1000, false).unwrap().1.keep_alive;
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!ka(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(ka(
            b"HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
        ));
    }

    #[test]
    fn chunked_counts_raw_bytes() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: v\r\n\r\n";
        let head = 47;
        for step in [1, 3, 1000] {
            let (done, r) = read(wire, step, false).unwrap();
            assert!(done);
            assert_eq!(r.header_bytes, head);
            assert_eq!(r.body_bytes, wire.len() as u64 - head);
        }
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(read(bad, 100, false).err(), Some(ErrorKind::Malformed));
    }

    #[test]
    fn close_delimited_ends_at_eof() {
        let (done, mut r) = read(b"HTTP/1.0 200 OK\r\n\r\nabc", 100, false).unwrap();
        assert!(!done && !r.keep_alive);
        assert_eq!(r.eof(), Ok(()));
        assert_eq!(r.body_bytes, 3);
    }

    #[test]
    fn bodiless_responses() {
        assert!(
            read(CL, 1000, true).unwrap().0,
            "HEAD ignores Content-Length"
        );
        assert!(
            read(b"HTTP/1.1 204 No Content\r\n\r\n", 1000, false)
                .unwrap()
                .0
        );
        assert!(
            read(
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                1000,
                false
            )
            .unwrap()
            .0
        );
        let (done, r) = read(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            5,
            false,
        )
        .unwrap();
        assert!(done);
        assert_eq!((r.status, r.header_bytes, r.body_bytes), (200, 25 + 38, 1));
    }

    #[test]
    fn short_body_is_length_error() {
        let (done, mut r) = read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            100,
            false,
        )
        .unwrap();
        assert!(!done);
        assert_eq!(r.eof(), Err(ErrorKind::Length));
    }

    #[test]
    fn malformed_heads() {
        assert_eq!(
            read(b"garbage\r\n\r\n", 100, false).err(),
            Some(ErrorKind::Malformed)
        );
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(read(two, 100, false).err(), Some(ErrorKind::Malformed));
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 100, false).err(),
            Some(ErrorKind::Malformed)
        );
    }

    #[test]
    fn head_over_64_kib_is_malformed_and_the_buffer_shrinks() {
        let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        wire.extend(std::iter::repeat_n(b'a', 1_000_000));
        wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        for step in [4096, 65536, wire.len()] {
            let mut r = ResponseReader::new();
            r.begin(false, false);
            let mut result = Ok(false);
            for piece in wire.chunks(step) {
                result = r.feed(piece);
                if result != Ok(false) {
                    break;
                }
                assert!(r.head.capacity() <= 2 * MAX_HEAD, "step {step}");
            }
            assert_eq!(result, Err(ErrorKind::Malformed), "step {step}");
            assert!(r.head.capacity() <= KEEP_HEAD, "step {step}");
        }
    }

    #[test]
    fn head_split_over_reads_then_body_in_the_same_read() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        for split in 1..wire.len() {
            let mut r = ResponseReader::new();
            r.begin(false, false);
            let first = r.feed(&wire[..split]).unwrap();
            let done = first || r.feed(&wire[split..]).unwrap();
            assert!(done, "split {split}");
            assert_eq!((r.status, r.body_bytes), (200, 3), "split {split}");
        }
    }

    #[test]
    fn bytes_after_the_end_are_an_overrun_in_any_split() {
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        for wire in [CL, &no_content[..], &chunked[..]] {
            for extra in [&b""[..], b"junk"] {
                let all = [wire, extra].concat();
                for split in 1..=all.len() {
                    let mut r = ResponseReader::new();
                    r.begin(false, false);
                    assert!(r.feed(&all[..split]).unwrap() || r.feed(&all[split..]).unwrap());
                    // Split exactly at the end, the extra bytes come in a
                    // later read: the next request's business.
                    let expected = !extra.is_empty() && split != wire.len();
                    assert_eq!(r.overrun, expected, "split {split}");
                    r.begin(false, false);
                    assert!(!r.overrun);
                }
            }
        }
    }

    #[test]
    fn large_head_grows_the_buffer() {
        let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        wire.extend(std::iter::repeat_n(b'a', 40_000));
        wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        let (done, r) = read(&wire, 4096, false).unwrap();
        assert!(done);
        assert_eq!(r.header_bytes, wire.len() as u64);
    }
}
