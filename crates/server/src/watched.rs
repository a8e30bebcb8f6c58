//! A connection's socket as hyper sees it: it reports arriving bytes to
//! the connection's [`Activity`] (the start of an HTTP/1 head, or HTTP/2's
//! header blocks as `frames` follows them, for the header timeout) and
//! holds back an end of stream while a request is served, so a half-closed
//! client still gets its answer.
//!
//! It reads and writes through a shared `&Stream` (TCP or Unix: tokio's
//! readiness and `try_*` calls, what its own `AsyncRead` does inside), so
//! the connection's service can read the socket's local address and its
//! task look at the socket while hyper holds it: no raw descriptor kept
//! aside.
//!
//! It also tells the protocols apart ([`Watched::poll_sniff`]): the first
//! bytes are read into a buffer of its own until they are HTTP/2's preface
//! or cannot be, and hyper reads them back from there before the socket,
//! so no extra read is made (a peek would be one system call more per
//! connection).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

use crate::frames::Frames;
use crate::socket::Stream;
use crate::watchdog::Activity;

/// A connection's socket as hyper sees it. It tells the [`Activity`] when
/// bytes arrive (the start of a head while idle), and it implements
/// half-close: an end of stream read while a request is being served is
/// held back until the response has been written, so a client that shuts
/// down its sending side after a complete request still gets its answer.
/// (hyper's own `half_close` option would stop reading mid-request
/// altogether, so a reset from a client that went away would go unseen
/// and its request would run on; here a reset still reaches hyper and
/// cancels the request.)
///
/// Without an activity (a connection answered 503 at shutdown), it only
/// tells the protocols apart.
pub(crate) struct Watched<'a> {
    io: &'a Stream,
    activity: Option<&'a Activity>,
    frames: Frames,
    /// The first bytes, read to tell the protocols apart, for hyper to read
    /// again (`replayed` of them so far); empty (unallocated) after.
    replay: Vec<u8>,
    replayed: usize,
    eof: Eof,
}

/// The most the first read takes: hyper's own first read (its smallest
/// read buffer), so a request that came whole is read in one call.
const SNIFF_READ: usize = 8192;

/// An end of stream seen by [`Watched`].
enum Eof {
    /// None seen yet.
    No,
    /// Seen while a request was in flight; hyper waits (with this waker)
    /// until the response has been written.
    Held(Waker),
    /// To be reported to hyper.
    Report,
}

impl<'a> Watched<'a> {
    /// The socket `io` of a connection doing `activity`, if watched.
    pub(crate) fn new(io: &'a Stream, activity: Option<&'a Activity>) -> Self {
        Self {
            io,
            activity,
            frames: Frames::default(),
            replay: Vec::new(),
            replayed: 0,
            eof: Eof::No,
        }
    }

    /// Reads the connection's first bytes until they tell the protocol:
    /// HTTP/2 (`true`) when they are its preface, whole; HTTP/1 when they
    /// differ from it, or end (hyper then sees the end). What it read is
    /// read again through [`AsyncRead`].
    pub(crate) fn poll_sniff(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        loop {
            if let Some(http2) = self.frames.protocol() {
                return Poll::Ready(Ok(http2));
            }
            // On the stack of this call only, never in a future.
            let mut chunk = [0u8; SNIFF_READ];
            let stream = self.io;
            let read = std::task::ready!(when_ready(
                stream,
                Interest::READABLE,
                cx,
                SNIFF_READ,
                || stream.try_read(&mut chunk)
            ))?;
            if read == 0 {
                return Poll::Ready(Ok(false));
            }
            self.arrived(&chunk[..read]);
            self.replay.extend_from_slice(&chunk[..read]);
        }
    }

    /// Hands hyper the bytes read while sniffing, if any are left.
    fn replay(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let rest = &self.replay[self.replayed..];
        if rest.is_empty() {
            return false;
        }
        let take = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..take]);
        self.replayed += take;
        if self.replayed == self.replay.len() {
            self.replay = Vec::new();
            self.replayed = 0;
        }
        true
    }

    /// Whether a request is being served.
    fn busy(&self) -> bool {
        self.activity.is_some_and(Activity::busy)
    }

    /// `bytes` arrived: the activity hears of a head (HTTP/1) or of the
    /// header blocks in them (HTTP/2).
    fn arrived(&mut self, bytes: &[u8]) {
        let fed = self.frames.feed(bytes);
        let Some(activity) = self.activity else {
            return;
        };
        if self.frames.http2() {
            activity.frames_arrived(fed);
        } else {
            activity.bytes_arrived();
        }
    }

    /// A write went out: a held end of stream may now be reported.
    fn wrote(&mut self) {
        if matches!(self.eof, Eof::Held(_)) && !self.busy() {
            if let Eof::Held(waker) = std::mem::replace(&mut self.eof, Eof::Report) {
                waker.wake();
            }
        }
    }
}

/// Runs `io` (a `try_*` call) once the socket is ready for it (`ready`),
/// as often as a readiness turns out stale (tokio then clears it).
///
/// `io` moves at most `room` bytes. One that moves fewer has drained the
/// socket (read) or filled its buffer (write), so the readiness is cleared
/// at once, as tokio's own `AsyncRead`/`AsyncWrite` do: the next call waits
/// for the reactor instead of making a system call that would block (one
/// `read` per keep-alive request saved).
fn when_ready(
    stream: &Stream,
    interest: Interest,
    cx: &mut Context<'_>,
    room: usize,
    mut io: impl FnMut() -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        let ready = match interest {
            Interest::READABLE => stream.poll_read_ready(cx),
            _ => stream.poll_write_ready(cx),
        };
        if let Err(error) = std::task::ready!(ready) {
            return Poll::Ready(Err(error));
        }
        let mut partial = None;
        // `try_io` clears the readiness when its closure would block: a
        // short transfer says so, its count kept aside.
        let done = stream.try_io(interest, || match io()? {
            moved if moved > 0 && moved < room => {
                partial = Some(moved);
                Err(io::ErrorKind::WouldBlock.into())
            }
            moved => Ok(moved),
        });
        match (done, partial) {
            (_, Some(moved)) => return Poll::Ready(Ok(moved)),
            (Err(error), None) if error.kind() == io::ErrorKind::WouldBlock => continue,
            (done, None) => return Poll::Ready(done),
        }
    }
}

impl AsyncRead for Watched<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.eof {
            Eof::Report => return Poll::Ready(Ok(())),
            Eof::Held(_) => {
                this.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            Eof::No => {}
        }
        if this.replay(buf) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let stream = this.io;
        let room = buf.remaining();
        let polled = when_ready(stream, Interest::READABLE, cx, room, || {
            stream.try_read_buf(buf)
        })
        .map_ok(drop);
        if buf.filled().len() > before {
            this.arrived(&buf.filled()[before..]);
        } else if matches!(polled, Poll::Ready(Ok(()))) && buf.remaining() > 0 {
            if this.busy() {
                this.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            this.eof = Eof::Report;
        }
        polled
    }
}

impl AsyncWrite for Watched<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let stream = self.io;
        let polled = when_ready(stream, Interest::WRITABLE, cx, buf.len(), || {
            stream.try_write(buf)
        });
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let stream = self.io;
        let room = bufs.iter().map(|buf| buf.len()).sum();
        let polled = when_ready(stream, Interest::WRITABLE, cx, room, || {
            stream.try_write_vectored(bufs)
        });
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Nothing to flush: a TCP socket buffers nothing in user space.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Does nothing: hyper shuts a connection down only right before the
    /// server drops (closes) its socket, and the close sends the same FIN,
    /// so the `shutdown(SHUT_WR)` would be one more syscall per connection
    /// for nothing. (The lingering close after a bad request shuts the
    /// socket down itself.)
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
