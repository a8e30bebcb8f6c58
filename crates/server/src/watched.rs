//! A connection's socket as hyper sees it: it reports arriving bytes to
//! the connection's [`Activity`] (the start of a head, for the header
//! timeout) and holds back an end of stream while a request is served, so
//! a half-closed client still gets its answer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::activity::Activity;

/// A connection's socket as hyper sees it. It tells the [`Activity`] when
/// bytes arrive (the start of a head while idle), and it implements
/// half-close: an end of stream read while a request is being served is
/// held back until the response has been written, so a client that shuts
/// down its sending side after a complete request still gets its answer.
/// (hyper's own `half_close` option would stop reading mid-request
/// altogether, so a reset from a client that went away would go unseen
/// and its request would run on; here a reset still reaches hyper and
/// cancels the request.)
pub(crate) struct Watched<'a, T> {
    io: T,
    activity: &'a Activity,
    eof: Eof,
}

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

impl<'a, T> Watched<'a, T> {
    pub(crate) fn new(io: T, activity: &'a Activity) -> Self {
        Self {
            io,
            activity,
            eof: Eof::No,
        }
    }

    /// A write went out: a held end of stream may now be reported.
    fn wrote(&mut self) {
        if matches!(self.eof, Eof::Held(_)) && !self.activity.busy() {
            if let Eof::Held(waker) = std::mem::replace(&mut self.eof, Eof::Report) {
                waker.wake();
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<'_, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.eof {
            Eof::Report => return Poll::Ready(Ok(())),
            Eof::Held(_) => {
                self.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            Eof::No => {}
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        } else if matches!(polled, Poll::Ready(Ok(()))) && buf.remaining() > 0 {
            if self.activity.busy() {
                self.eof = Eof::Held(cx.waker().clone());
                return Poll::Pending;
            }
            self.eof = Eof::Report;
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
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
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
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
