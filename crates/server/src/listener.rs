//! The listening socket, and the connections waiting in its backlog.
//!
//! * One socket per server, bound without `SO_REUSEPORT`, so the port is
//!   ours alone (see `threads` for how several threads share it), with a
//!   deep backlog: clients beyond `max_connections` wait there. (A Unix
//!   socket is bound by `unix`, with the same backlog.)
//! * At shutdown, what still waits in the backlog is accepted and answered
//!   503 rather than reset when the socket closes.
//! * A client that gave up while it waited in the backlog is recognised when
//!   its connection is accepted ([`peer_left`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::task::JoinSet;

use crate::conn::{refuse, ConnSettings};
use crate::socket::{StdListener, Stream};

/// Pending connections the kernel queues for us (uvicorn's default) per
/// serving thread, which is where clients beyond `max_connections` wait.
pub(crate) const BACKLOG: u32 = 2048;

/// A listening socket on `addr` queueing up to [`BACKLOG`] connections per
/// serving thread (`workers`), non-blocking, for the serving threads to
/// share (each its own duplicate). A port another socket listens on is
/// refused ("address in use"): `SO_REUSEADDR` (a restart need not wait for
/// the last run's connections in TIME_WAIT) but never `SO_REUSEPORT`,
/// which would let another socket share the port and its connections.
///
/// Port 0 picks a free port. No runtime is needed: each serving thread
/// registers its duplicate with its own.
pub(crate) fn bind(addr: SocketAddr, workers: usize) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    // Small request/response pairs: don't let Nagle delay them. Accepted
    // sockets inherit it, so no setsockopt per connection.
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog(workers))?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The backlog of a server with `workers` serving threads: [`BACKLOG`]
/// each.
pub(crate) fn backlog(workers: usize) -> i32 {
    let backlog = u32::try_from(workers)
        .unwrap_or(u32::MAX)
        .saturating_mul(BACKLOG)
        .min(i32::MAX as u32);
    i32::try_from(backlog).unwrap_or(i32::MAX)
}

/// At shutdown, the connections still waiting in the kernel's backlog (at
/// most [`BACKLOG`] per call) are accepted and answered 503 instead of being
/// reset when the listener closes. Returns how many; stops at the first
/// accept that would wait or fails (out of descriptors: the rest are reset).
pub(crate) fn refuse_backlog(
    listener: &StdListener,
    settings: &Arc<ConnSettings>,
    connections: &mut JoinSet<()>,
) -> usize {
    let mut refused = 0;
    while refused < BACKLOG as usize {
        let Ok(stream) = listener.accept_now() else {
            break;
        };
        connections.spawn(refuse(stream, Arc::clone(settings)));
        refused += 1;
    }
    refused
}

/// How long the connections answered by [`refuse_waiting`] get, in all.
const REFUSE_AT_EXIT: Duration = Duration::from_secs(1);

/// Once the serving threads have stopped accepting (or are stuck and the
/// server stops waiting for them): answers the connections waiting in the
/// backlog of `listener` (a duplicate of theirs) 503 from the caller's
/// runtime, closes it, and gives the answers at most [`REFUSE_AT_EXIT`] in
/// all; returns how many.
pub(crate) async fn refuse_waiting(listener: StdListener, settings: &Arc<ConnSettings>) -> usize {
    // Never wait in `accept`: shared with the threads, but made sure.
    if listener.set_nonblocking().is_err() {
        return 0;
    }
    let mut connections = JoinSet::new();
    let refused = refuse_backlog(&listener, settings, &mut connections);
    drop(listener);
    let answered = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(REFUSE_AT_EXIT, answered).await;
    refused
}

/// Whether the client of a connection just accepted has already closed its
/// side (or reset the connection): one that gave up while it waited in the
/// backlog. Its request, if it sent one, is still there to read, so only the
/// end of stream behind it tells (`POLLRDHUP`: one `poll` syscall, no read).
/// A client that half-closes right after its request looks the same.
pub(crate) fn peer_left(stream: &Stream) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut watched = [PollFd::new(stream, PollFlags::RDHUP)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let gone = PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR;
        poll(&mut watched, Some(&now)) == Ok(1) && watched[0].revents().intersects(gone)
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // Without POLLRDHUP, only a client that left without sending
        // anything can be told apart: a peek that finds the end at once.
        use rustix::net::{recv, RecvFlags};
        let mut byte = [0u8; 1];
        recv(stream, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT) == Ok(0)
    }
    #[cfg(not(unix))]
    {
        let _ = stream;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    /// Accepted sockets inherit TCP_NODELAY from the listener, so the
    /// server sets it once, not per connection.
    #[tokio::test]
    async fn accepted_sockets_have_nodelay() {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 1).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let listener = tokio::net::TcpListener::from_std(listener).expect("register");
        let (_client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (stream, _) = accepted.expect("accept");
        assert!(stream.nodelay().expect("getsockopt"));
    }

    #[test]
    fn a_port_in_use_is_refused() {
        let first = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 2).expect("bind");
        let addr = first.local_addr().expect("local addr");
        let second = bind(addr, 1).expect_err("bound twice");
        assert_eq!(second.kind(), io::ErrorKind::AddrInUse);
    }
}
