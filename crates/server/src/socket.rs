//! The sockets a server listens and serves on: TCP, or a Unix domain
//! socket (`speedup serve --unix-socket`), behind one type each, so the
//! transport is written once. A `match` per call picks the kind; both
//! kinds offer tokio's same readiness and `try_*` calls.
//!
//! * [`StdListener`]: the listening socket as bound, before a runtime
//!   (duplicated for each serving thread, see `threads`).
//! * [`Listener`]: the same on a serving thread's runtime.
//! * [`Stream`]: one accepted connection; [`Peer`]: who is on the other
//!   end, for the logs.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use tokio::io::{Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};

/// A listening socket, not yet on a runtime.
#[derive(Debug)]
pub(crate) enum StdListener {
    Tcp(std::net::TcpListener),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixListener),
}

/// A listening socket on a serving thread's runtime.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

/// An accepted connection.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// The other end of a connection, as the logs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Tcp(SocketAddr),
    /// A Unix socket's client (whose address is seldom named).
    Unix,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "{addr}"),
            Peer::Unix => write!(f, "unix:"),
        }
    }
}

impl StdListener {
    /// A duplicate (`dup`) of the socket.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Self::Tcp(listener) => Self::Tcp(listener.try_clone()?),
            #[cfg(unix)]
            Self::Unix(listener) => Self::Unix(listener.try_clone()?),
        })
    }

    /// Makes accepts return at once (`WouldBlock` when nobody waits).
    pub(crate) fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Self::Tcp(listener) => listener.set_nonblocking(true),
            #[cfg(unix)]
            Self::Unix(listener) => listener.set_nonblocking(true),
        }
    }

    /// Accepts a connection waiting now (the socket is non-blocking),
    /// registered on the current runtime.
    pub(crate) fn accept_now(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(listener) => {
                let (stream, _) = listener.accept()?;
                stream.set_nonblocking(true)?;
                TcpStream::from_std(stream).map(Stream::Tcp)
            }
            #[cfg(unix)]
            Self::Unix(listener) => {
                let (stream, _) = listener.accept()?;
                stream.set_nonblocking(true)?;
                UnixStream::from_std(stream).map(Stream::Unix)
            }
        }
    }

    /// The socket on the current runtime.
    pub(crate) fn into_tokio(self) -> io::Result<Listener> {
        match self {
            Self::Tcp(listener) => TcpListener::from_std(listener).map(Listener::Tcp),
            #[cfg(unix)]
            Self::Unix(listener) => UnixListener::from_std(listener).map(Listener::Unix),
        }
    }
}

impl Listener {
    /// The next connection, when one comes.
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Stream, Peer)>> {
        match self {
            Self::Tcp(listener) => listener
                .poll_accept(cx)
                .map_ok(|(stream, peer)| (Stream::Tcp(stream), Peer::Tcp(peer))),
            #[cfg(unix)]
            Self::Unix(listener) => listener
                .poll_accept(cx)
                .map_ok(|(stream, _)| (Stream::Unix(stream), Peer::Unix)),
        }
    }

    /// The socket off the runtime again.
    pub(crate) fn into_std(self) -> io::Result<StdListener> {
        match self {
            Self::Tcp(listener) => listener.into_std().map(StdListener::Tcp),
            #[cfg(unix)]
            Self::Unix(listener) => listener.into_std().map(StdListener::Unix),
        }
    }
}

/// Calls `$call` on the stream, whichever kind it is.
macro_rules! either {
    ($stream:expr, $inner:ident => $call:expr) => {
        match $stream {
            Stream::Tcp($inner) => $call,
            #[cfg(unix)]
            Stream::Unix($inner) => $call,
        }
    };
}

impl Stream {
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, stream => stream.poll_read_ready(cx))
    }

    pub(crate) fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, stream => stream.poll_write_ready(cx))
    }

    /// tokio's `try_io`: `io` once, the readiness cleared if it would block.
    pub(crate) fn try_io<R>(
        &self,
        interest: Interest,
        io: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        either!(self, stream => stream.try_io(interest, io))
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        either!(self, stream => stream.try_read(buf))
    }

    pub(crate) fn try_read_buf(&self, buf: &mut ReadBuf<'_>) -> io::Result<usize> {
        either!(self, stream => stream.try_read_buf(buf))
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        either!(self, stream => stream.try_write(buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        either!(self, stream => stream.try_write_vectored(bufs))
    }

    /// Reads what comes next (waiting for it): 0 at the end.
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            either!(self, stream => stream.readable().await)?;
            match self.try_read(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                read => return read,
            }
        }
    }

    /// Shuts the sending side down (a FIN): the client reads the end.
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        either!(self, stream => socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write))
    }

    /// The address the connection was accepted on: a TCP one's.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(stream) => stream.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        either!(self, stream => stream.as_fd())
    }
}
