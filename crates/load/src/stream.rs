//! A connection's byte stream, plain TCP, a Unix socket, or TLS over TCP,
//! behind the non-blocking calls the connection loop makes (`try_read`,
//! `try_write`, readiness), so the loop is the same for all.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::tls::TlsStream;

/// One connection's stream.
pub(crate) enum Stream {
    /// `http://`.
    Plain(TcpStream),
    /// `http://` through a Unix socket (`Plan::unix_socket`).
    Unix(UnixStream),
    /// `https://`.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Waits until the socket itself has bytes (TLS: encrypted ones).
    pub(crate) async fn socket_readable(&self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.readable().await,
            Stream::Unix(s) => s.readable().await,
            Stream::Tls(t) => t.tcp().readable().await,
        }
    }

    /// Waits until the socket takes bytes.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.writable().await,
            Stream::Unix(s) => s.writable().await,
            Stream::Tls(t) => t.tcp().writable().await,
        }
    }

    /// Waits until [`Stream::try_read`] may have bytes: at once when TLS
    /// already holds decrypted ones.
    pub(crate) async fn readable(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.readable().await,
            Stream::Unix(s) => s.readable().await,
            Stream::Tls(t) => {
                if t.has_plaintext() {
                    return Ok(());
                }
                t.tcp().readable().await
            }
        }
    }

    /// A non-blocking read of (decrypted) bytes; `Ok(0)` at the end.
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => {
                let n = s.try_read(buf)?;
                if n > 0 && n < buf.len() {
                    // A short read drained the socket: forget its readiness
                    // now, or the next wait returns at once and costs a
                    // read that fails with EAGAIN (one extra syscall per
                    // request). tokio clears it only if no new data arrived
                    // since the readiness was observed, so nothing is missed.
                    let _ = s.try_io(Interest::READABLE, drained);
                }
                Ok(n)
            }
            Stream::Unix(s) => {
                let n = s.try_read(buf)?;
                if n > 0 && n < buf.len() {
                    let _ = s.try_io(Interest::READABLE, drained);
                }
                Ok(n)
            }
            Stream::Tls(t) => t.try_read(buf),
        }
    }

    /// A non-blocking write of (plain) bytes.
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.try_write(buf),
            Stream::Unix(s) => s.try_write(buf),
            Stream::Tls(t) => t.try_write(buf),
        }
    }

    /// Waits until everything written has left for the socket (TLS may
    /// hold encrypted records back while the socket is full).
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) | Stream::Unix(_) => Ok(()),
            Stream::Tls(t) => t.flush().await,
        }
    }
}

/// What a short read tells tokio: the socket is drained (see
/// [`Stream::try_read`]).
fn drained() -> io::Result<()> {
    Err(io::ErrorKind::WouldBlock.into())
}

/// The stream as tokio's byte streams, for the HTTP/2 client (which drives
/// its own reads and writes): plain sockets as they are, TLS through the
/// same non-blocking calls as the HTTP/1 loop.
impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(t) => t.poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(t) => t.poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(t) => t.poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(t) => t.poll_shutdown(cx),
        }
    }
}
