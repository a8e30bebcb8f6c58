//! The listening socket, and the connections waiting in its backlog.
//!
//! * One socket per server, bound without `SO_REUSEPORT`, so the port is
//!   ours alone (see `threads` for how several threads share it), with a
//!   deep backlog: clients beyond `max_connections` wait there.
//! * At shutdown, what still waits in the backlog is accepted and answered
//!   503 rather than reset when the socket closes.
//! * A client that gave up while it waited in the backlog is recognised when
//!   its connection is accepted ([`peer_left`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

use crate::conn::{refuse, ConnSettings};
use crate::ServerError;

/// Pending connections the kernel queues for us (uvicorn's default) per
/// serving thread, which is where clients beyond `max_connections` wait.
pub(crate) const BACKLOG: u32 = 2048;

/// Binds a listening socket on `addr` with a deep backlog; a port another
/// socket listens on is refused ("address in use").
///
/// Port 0 picks a free port; read it back with `TcpListener::local_addr`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    listen(addr, BACKLOG).map_err(|source| ServerError::Bind { addr, source })
}

/// A listening socket on `addr` queueing up to `backlog` connections. With
/// `SO_REUSEADDR` (a restart need not wait for the last run's connections
/// in TIME_WAIT) but never `SO_REUSEPORT`, which would let another socket
/// share the port and its connections.
pub(crate) fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    // Small request/response pairs: don't let Nagle delay them. Accepted
    // sockets inherit it, so no setsockopt per connection.
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// At shutdown, the connections still waiting in the kernel's backlog (at
/// most [`BACKLOG`] per call) are accepted and answered 503 instead of being
/// reset when the listener closes. Returns how many; stops at the first
/// accept that would wait or fails (out of descriptors: the rest are reset).
pub(crate) fn refuse_backlog(
    listener: &std::net::TcpListener,
    settings: &Arc<ConnSettings>,
    connections: &mut JoinSet<()>,
) -> usize {
    let mut refused = 0;
    while refused < BACKLOG as usize {
        let Ok((stream, _)) = listener.accept() else {
            break;
        };
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream));
        if let Ok(stream) = stream {
            connections.spawn(refuse(stream, Arc::clone(settings)));
            refused += 1;
        }
    }
    refused
}

/// How long the connections answered by [`refuse_waiting`] get, in all.
const REFUSE_AT_EXIT: Duration = Duration::from_secs(1);

/// When the serving threads are stuck and the server stops waiting for
/// them: answers the connections waiting in the backlog of `listener` (a
/// duplicate of theirs) 503 from the caller's runtime, for at most
/// [`REFUSE_AT_EXIT`] in all, and logs how many.
pub(crate) async fn refuse_waiting(listener: &std::net::TcpListener, settings: &Arc<ConnSettings>) {
    // Never wait in `accept`: shared with the threads, but made sure.
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let mut connections = JoinSet::new();
    let refused = refuse_backlog(listener, settings, &mut connections);
    let answered = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(REFUSE_AT_EXIT, answered).await;
    tracing::info!("answered {refused} connection(s) waiting in the backlog 503");
}

/// Whether the client of a connection just accepted has already closed its
/// side (or reset the connection): one that gave up while it waited in the
/// backlog. Its request, if it sent one, is still there to read, so only the
/// end of stream behind it tells (`POLLRDHUP`: one `poll` syscall, no read).
/// A client that half-closes right after its request looks the same.
pub(crate) fn peer_left(stream: &TcpStream) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut watched = libc::pollfd {
            fd: stream.as_raw_fd(),
            events: libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: poll reads and writes the one struct we pass, for an open
        // socket we own, and does not wait (timeout 0).
        let ready = unsafe { libc::poll(&mut watched, 1, 0) };
        let gone = libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR;
        ready == 1 && watched.revents & gone != 0
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // Without POLLRDHUP, only a client that left without sending
        // anything can be told apart: a peek that finds the end at once.
        use std::os::fd::AsRawFd;
        let mut byte = 0u8;
        // SAFETY: recv writes at most one byte into `byte`; MSG_PEEK leaves
        // it in the socket, MSG_DONTWAIT never waits.
        let read = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                std::ptr::addr_of_mut!(byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        read == 0
    }
    #[cfg(not(unix))]
    {
        let _ = stream;
        false
    }
}
