//! Incremental HTTP/1.x response reading into one reusable buffer.
//!
//! The connection loop reads into [`ResponseReader::spare`] and reports how
//! many bytes arrived; the reader parses the head with `httparse`, then
//! follows the body framing (Content-Length, chunked, or close-delimited)
//! only far enough to know where the response ends. Body bytes are counted
//! and dropped, so the buffer never grows past the size of the largest head.

use std::mem::MaybeUninit;

use crate::body::Body;
use crate::record::ErrorKind;

/// Room for a typical head: small, because every connection owns one and
/// runs go to 50,000 connections.
const INITIAL_BUF: usize = 4 * 1024;
/// Large bodies grow the buffer up to this, to read them in fewer calls.
const MAX_BODY_READ: usize = 64 * 1024;
/// Heads larger than this are treated as malformed rather than buffered.
const MAX_HEAD: usize = 1024 * 1024;
/// Headers per response the parser accepts.
const MAX_HEADERS: usize = 128;

/// Reads one response at a time; reused across responses and connections.
pub(crate) struct ResponseReader {
    /// Read area. In the head phase `buf[..filled]` holds the head so far;
    /// in the body phase every read starts at 0 and is discarded once counted.
    buf: Vec<u8>,
    filled: usize,
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
    /// An idle reader with its buffer allocated once.
    pub(crate) fn new() -> ResponseReader {
        ResponseReader {
            buf: vec![0; INITIAL_BUF],
            filled: 0,
            state: State::Done,
            head_request: false,
            want_server: false,
            status: 0,
            header_bytes: 0,
            body_bytes: 0,
            keep_alive: false,
            server: None,
        }
    }

    /// Prepares for the next response. A HEAD request's response has no
    /// body; `want_server` asks for the Server header to be captured.
    pub(crate) fn begin(&mut self, head_request: bool, want_server: bool) {
        self.filled = 0;
        self.state = State::Head;
        self.head_request = head_request;
        self.want_server = want_server;
        self.status = 0;
        self.header_bytes = 0;
        self.body_bytes = 0;
        self.keep_alive = false;
        self.server = None;
    }

    /// Where the next read should put its bytes.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        match self.state {
            State::Head => &mut self.buf[self.filled..],
            _ => &mut self.buf[..],
        }
    }

    /// The `n` bytes just read into [`Self::spare`], before
    /// [`Self::received`] takes them.
    pub(crate) fn just_read(&self, n: usize) -> &[u8] {
        let from = match self.state {
            State::Head => self.filled,
            _ => 0,
        };
        self.buf.get(from..from + n).unwrap_or_default()
    }

    /// True until the first byte of this response arrived: an EOF now on a
    /// reused connection means the server closed it while idle.
    pub(crate) fn nothing_received(&self) -> bool {
        matches!(self.state, State::Head) && self.filled == 0 && self.header_bytes == 0
    }

    /// Takes `n` bytes just read into [`Self::spare`]. Returns whether the
    /// response is complete.
    pub(crate) fn received(&mut self, n: usize) -> Result<bool, ErrorKind> {
        match &mut self.state {
            State::Head => {
                self.filled += n;
                self.parse_head()
            }
            State::Body(body) => {
                let (used, done) = body.feed(&self.buf[..n])?;
                self.body_bytes += used as u64;
                if done {
                    self.state = State::Done;
                } else if n == self.buf.len() && n < MAX_BODY_READ {
                    // A full read: the body is large, read it in bigger steps.
                    self.buf.resize(n * 2, 0);
                }
                Ok(done)
            }
            State::Done => Ok(true),
        }
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

    /// Parses the buffered head; on completion switches to the body and
    /// feeds it the bytes that came with the head.
    fn parse_head(&mut self) -> Result<bool, ErrorKind> {
        loop {
            let Some(head) = parse(&self.buf[..self.filled], self.want_server)? else {
                if self.filled == self.buf.len() {
                    if self.buf.len() >= MAX_HEAD {
                        return Err(ErrorKind::Malformed);
                    }
                    self.buf.resize(self.buf.len() * 2, 0);
                }
                return Ok(false);
            };
            self.header_bytes += head.len as u64;
            let rest = head.len..self.filled;
            if (100..200).contains(&head.status) && head.status != 101 {
                // An interim response (100 Continue): the final one follows.
                self.buf.copy_within(rest.clone(), 0);
                self.filled = rest.len();
                if self.filled == 0 {
                    return Ok(false);
                }
                continue;
            }
            self.status = head.status;
            self.keep_alive = head.keep_alive;
            self.server = head.server;
            let no_body = self.head_request
                || (100..200).contains(&head.status)
                || head.status == 204
                || head.status == 304;
            let mut body = if no_body {
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
            let (used, done) = body.feed(&self.buf[rest])?;
            self.body_bytes += used as u64;
            self.state = if done { State::Done } else { State::Body(body) };
            return Ok(done);
        }
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
            let spare = r.spare();
            spare[..piece.len()].copy_from_slice(piece);
            if r.received(piece.len())? {
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
    fn large_head_grows_the_buffer() {
        let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        wire.extend(std::iter::repeat_n(b'a', 40_000));
        wire.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        let (done, r) = read(&wire, 4096, false).unwrap();
        assert!(done);
        assert_eq!(r.header_bytes, wire.len() as u64);
    }
}
