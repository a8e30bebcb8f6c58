//! When an HTTP/2 connection's bytes really moved: a transport wrapper
//! that notes the time of its writes and reads, so a stream's request is
//! timed from the write that carried it to the read that brought its end,
//! as an HTTP/1 exchange is timed at its own system calls.
//!
//! Why: the `h2` crate writes and reads in the connection's task, while
//! each stream runs in a task of its own. A stream that stamped its own
//! times would count the wait for those tasks to be polled (behind every
//! other task of its thread) as the server's: measured against nginx with
//! `-c 50` and one stream each, a p50 of 0.67 ms where h2load, timing at
//! its event loop, saw 0.35 ms.
//!
//! Writes: a stream that queued a request asks for the time of the next
//! write ([`Clock::next_write`]); the wrapper stamps that write (before the
//! system call, as the HTTP/1 loop stamps its send) under a generation
//! number, kept in a small ring the stream reads when its answer is in.
//! Reads: the time of the latest read that brought bytes. Both are later
//! than or equal to the true moment, never earlier, so a figure can only
//! err towards the server's cost, never flatter it.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many write times a connection keeps: more than the streams one
/// connection has in flight between a request's write and its answer
/// ever make; an older one is gone, and its stream keeps its own stamp.
const KEPT: usize = 64;

/// The times one connection's transport moved bytes.
pub(crate) struct Clock {
    /// The latest read that brought bytes.
    read_at: Cell<Option<Instant>>,
    /// A stream waits for the next write's time.
    wanted: Cell<bool>,
    /// The generation the next stamped write gets.
    generation: Cell<u64>,
    /// Stamped writes: `(generation, time)`, by generation modulo [`KEPT`].
    writes: [Cell<Option<(u64, Instant)>>; KEPT],
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            read_at: Cell::new(None),
            wanted: Cell::new(false),
            generation: Cell::new(0),
            writes: std::array::from_fn(|_| Cell::new(None)),
        }
    }
}

impl Clock {
    /// Asks for the time of the next write (the one that carries a request
    /// just queued): the ticket for [`Clock::write_time`].
    pub(crate) fn next_write(&self) -> u64 {
        self.wanted.set(true);
        self.generation.get()
    }

    /// When write `ticket` went out, if it did and is still kept.
    pub(crate) fn write_time(&self, ticket: u64) -> Option<Instant> {
        match self.writes[ticket as usize % KEPT].get() {
            Some((g, at)) if g == ticket => Some(at),
            _ => None,
        }
    }

    /// When the latest read brought bytes.
    pub(crate) fn read_time(&self) -> Option<Instant> {
        self.read_at.get()
    }

    fn before_write(&self) {
        if self.wanted.replace(false) {
            let g = self.generation.get();
            self.writes[g as usize % KEPT].set(Some((g, Instant::now())));
            self.generation.set(g + 1);
        }
    }
}

/// A transport whose reads and writes are noted on a shared [`Clock`].
pub(crate) struct Clocked<S> {
    inner: S,
    clock: Rc<Clock>,
}

impl<S> Clocked<S> {
    pub(crate) fn new(inner: S, clock: Rc<Clock>) -> Clocked<S> {
        Clocked { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Clocked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.clock.read_at.set(Some(Instant::now()));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Clocked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.clock.before_write();
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.clock.before_write();
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_gets_the_time_of_the_next_write_only() {
        let clock = Clock::default();
        clock.before_write(); // nobody asked: not stamped
        assert_eq!(clock.generation.get(), 0);
        let a = clock.next_write();
        let b = clock.next_write(); // queued before the same write
        assert_eq!(a, b);
        assert!(clock.write_time(a).is_none());
        clock.before_write();
        let at = clock.write_time(a).expect("stamped");
        clock.before_write(); // nobody asked since
        assert_eq!(clock.write_time(a), Some(at));
        let c = clock.next_write();
        assert_eq!(c, a + 1);
    }

    #[test]
    fn a_ticket_older_than_the_ring_is_gone() {
        let clock = Clock::default();
        let first = clock.next_write();
        clock.before_write();
        for _ in 0..KEPT {
            clock.next_write();
            clock.before_write();
        }
        assert!(clock.write_time(first).is_none());
    }
}
