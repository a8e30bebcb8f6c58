//! One connection's loop: claim a request, connect if needed, write, read
//! the response, record, and keep the connection if both sides allow it.
//!
//! Timings follow ab: a request on a new connection starts when the connect
//! starts; on a reused keep-alive connection it starts when the previous
//! response ended, with a connect time of 0.
//!
//! Nothing is retried: a request the server never answered (a keep-alive
//! connection closed while the request was on its way) is recorded as
//! [`ErrorKind::NoResponse`] with its time, since it was sent and may have
//! had effects (a POST must not go twice). A kept connection the server
//! closed while it sat idle (its keep-alive timeout, shorter than the gap
//! between two requests of an open loop at a low rate) is seen before the
//! next request is sent, and that request goes on a new connection, as
//! every HTTP client does: it was never sent on the old one. Reads go through the worker's
//! one scratch buffer, so a connection owns only its small head buffer.
//!
//! A server that never stops sending cannot hold a request past its
//! timeout: every read checks the request's deadline against the clock
//! reading it already takes, and a read or write loop that never has to
//! wait yields to the runtime every [`PASSES_PER_YIELD`] passes, so the
//! timer, the worker's abort check and the thread's other connections run.
//! (tokio's readiness futures do not spend the task's cooperative budget,
//! so without this a socket that is always readable kept the whole thread
//! inside one poll.)
//!
//! Bytes after a complete response on a connection that would carry the
//! next request (junk, a body longer than its Content-Length, a second
//! response) mean the connection is out of step: that response stays what
//! it was, the connection is closed, and the next request this connection
//! claims is recorded as [`ErrorKind::Malformed`] without being sent. Had
//! the same bytes come a moment later, that next request, sent on the
//! connection, would have read them as its response and failed the same
//! way: so junk counts the same however the server's bytes were split
//! into reads (a valid second response that comes later is, for any
//! client, the next request's answer). Bytes after a response whose
//! connection closes anyway (the server's `close`, no keep-alive, the end
//! of the run) are never counted, as they could not be had they come later.

use std::io::ErrorKind as IoKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::{TcpSocket, TcpStream, UnixStream};

use crate::record::Recorder;
use crate::record::{ErrorKind, Outcome};
use crate::response::ResponseReader;
use crate::stream::Stream;
use crate::turn::{next_turn, record_turn, Times, Turn};
use crate::worker::{RunState, Worker};

/// One source address has ~28k ephemeral ports (Linux default range), so
/// above this many connections to a loopback target the connections spread
/// over several 127.0.0.x source addresses.
pub(crate) const SPREAD_ABOVE: u32 = 20_000;
/// How many 127.0.0.x source addresses to spread over.
const SOURCES: u32 = 8;
/// Reads or writes in a row that did not wait (at most 64 KiB each), after
/// which the connection yields to the runtime: about 1 MiB, or a
/// millisecond of parsing, between two looks at the timer and the abort
/// switch. A response that fits in one read never gets here.
const PASSES_PER_YIELD: u32 = 16;

/// What one exchange read of the response: how it ended, and whether the
/// request could not be written whole.
struct Exchange {
    stream: Stream,
    write_failed: bool,
}

/// Runs connection number `index` until the run has no more requests for it.
pub(crate) async fn connection<R: Recorder>(run: Arc<RunState>, worker: Rc<Worker<R>>, index: u32) {
    let source = source_for(&run, index);
    let mut reader = ResponseReader::new();
    let mut kept: Option<Stream> = None;
    // One timer per connection, pushed forward for each request: extending a
    // registered timer is a cheap atomic update, not a timer-wheel operation.
    // The plan's validation guarantees `start + timeout` is representable.
    let timer = tokio::time::sleep(run.timeout);
    tokio::pin!(timer);
    let mut start = Instant::now();
    // The server sent bytes beyond the last response: the next request
    // fails unsent (see the module's notes).
    let mut broken = false;
    // When this connection's previous exchange ended: until then it was
    // busy with the server (open loop: the wait a late send charges it).
    let mut busy_until = None;
    loop {
        // Open loop: wait for the next due time of this thread's schedule;
        // closed loop: go at once.
        let Some(turn) = next_turn(&run, &worker, busy_until, start).await else {
            break;
        };
        timer
            .as_mut()
            .reset(tokio::time::Instant::from_std(turn.deadline));
        let mut times = Times::default();
        let result = if std::mem::take(&mut broken) {
            Err(ErrorKind::Malformed)
        } else {
            tokio::select! {
                biased;
                r = exchange(&run, &worker, source, kept.take(), &mut reader, &mut times, &turn) => r,
                () = &mut timer => Err(ErrorKind::Timeout),
            }
        };
        let done = match (&result, times.last_read) {
            (Ok(_), Some(t)) => t,
            _ => Instant::now(),
        };
        let outcome = match result {
            Err(kind) => Outcome::Error(kind),
            Ok(exchange) => {
                if let Some(server) = reader.server.take() {
                    let _ = run.server.set(server);
                }
                if run.keep_alive && reader.keep_alive && !exchange.write_failed {
                    match reader.overrun {
                        true => broken = true,
                        false => kept = Some(exchange.stream),
                    }
                }
                Outcome::Response {
                    status: reader.status,
                    header_bytes: reader.header_bytes,
                    body_bytes: reader.body_bytes,
                    keep_alive: reader.keep_alive,
                    write_failed: exchange.write_failed,
                }
            }
        };
        record_turn(&run, &worker, &turn, &times, done, outcome);
        busy_until = Some(done);
        // ab's rule: a request on a kept connection starts when the previous
        // response ended (as does one that fails for what came after it).
        start = if kept.is_some() || broken {
            done
        } else {
            Instant::now()
        };
    }
}

/// One request on `stream` (or on a new connection): connect, write, read
/// the whole response, by `deadline`. Returns the stream for reuse.
async fn exchange<R: Recorder>(
    run: &RunState,
    worker: &Worker<R>,
    source: Option<SocketAddr>,
    stream: Option<Stream>,
    reader: &mut ResponseReader,
    times: &mut Times,
    turn: &Turn,
) -> Result<Exchange, ErrorKind> {
    let kept = match stream.map(|s| after_idle(s, &mut worker.scratch())) {
        Some(Idle::Open(s)) => Some(s),
        Some(Idle::Junk) => return Err(ErrorKind::Malformed),
        Some(Idle::Closed) | None => None,
    };
    let mut stream = match kept {
        Some(s) => s,
        None => {
            let s = open(run, source).await?;
            times.connected = Some(Instant::now());
            s
        }
    };
    let request = &run.requests[turn.target];
    reader.begin(request.head, run.server.get().is_none());
    let mut read = Reading {
        stream: &mut stream,
        worker,
        reader,
        times,
        trace: run.trace_responses,
        deadline: turn.deadline,
        passes: 0,
    };
    let write_failed = match read.write_all(&request.bytes).await {
        Ok(Written::All) => false,
        Ok(Written::Answered) => {
            return Ok(Exchange {
                stream,
                write_failed: true,
            })
        }
        Err(Some(kind)) => return Err(kind),
        Err(None) => true,
    };
    read.times.written.get_or_insert_with(Instant::now);
    loop {
        match read.some().await {
            Ok(Some(true)) => break,
            Ok(Some(false)) => read.pass().await,
            Ok(None) if read.reader.nothing_received() => {
                return Err(if write_failed {
                    ErrorKind::Write
                } else {
                    ErrorKind::NoResponse
                })
            }
            Ok(None) => {
                read.reader.eof()?;
                break;
            }
            Err(ErrorKind::Read) if write_failed && read.reader.nothing_received() => {
                return Err(ErrorKind::Write)
            }
            Err(kind) => return Err(kind),
        }
    }
    Ok(Exchange {
        stream,
        write_failed,
    })
}

/// A kept connection as its next request finds it.
enum Idle {
    /// Nothing came while it waited: use it.
    Open(Stream),
    /// The server closed it while it sat idle (its keep-alive timeout: the
    /// end of the stream or a reset is waiting), as HTTP allows: connect
    /// again, as every client does. Nothing was sent on it, so this is no
    /// retry.
    Closed,
    /// Bytes came while it waited: the connection is out of step (the
    /// module's notes), the request fails unsent.
    Junk,
}

/// Looks at a kept connection before its next request: a non-blocking read
/// that costs no system call while the socket has not been reported
/// readable (tokio keeps the readiness, cleared after the last response).
fn after_idle(mut stream: Stream, scratch: &mut [u8]) -> Idle {
    match stream.try_read(scratch) {
        Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::Interrupted) => {
            Idle::Open(stream)
        }
        Ok(0) | Err(_) => Idle::Closed,
        Ok(_) => Idle::Junk,
    }
}

/// How writing a request ended without an error.
enum Written {
    /// Every byte was written.
    All,
    /// The whole response came before the request was written (a server
    /// refusing an upload): writing stopped.
    Answered,
}

/// The reading side of one exchange.
struct Reading<'a, R> {
    stream: &'a mut Stream,
    worker: &'a Worker<R>,
    reader: &'a mut ResponseReader,
    times: &'a mut Times,
    trace: bool,
    /// The request's time limit: a read at or after it is a timeout.
    deadline: Instant,
    /// Reads and writes since the last yield that did not have to wait.
    passes: u32,
}

impl<R: Recorder> Reading<'_, R> {
    /// Writes `request`, reading whatever the server answers meanwhile (as
    /// ab does), so a server that answers an upload early and stops reading
    /// is heard rather than waited on. `Err(None)`: the write failed (or the
    /// server closed); `Err(Some(kind))`: the response read meanwhile failed.
    async fn write_all(&mut self, request: &[u8]) -> Result<Written, Option<ErrorKind>> {
        let mut sent = 0;
        while sent < request.len() {
            match self.stream.try_write(&request[sent..]) {
                Ok(n) => {
                    sent += n;
                    self.pass().await;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {
                    tokio::select! {
                        biased;
                        r = self.stream.socket_readable() => {
                            r.map_err(|_| None)?;
                            match self.read_now() {
                                Ok(Some(true)) => return Ok(Written::Answered),
                                Ok(Some(false)) => self.pass().await,
                                Err(ReadError::Pending) => {}
                                // The server closed: what it sent is read next.
                                Ok(None) | Err(ReadError::Failed) => return Err(None),
                                Err(ReadError::Bad(kind)) => return Err(Some(kind)),
                            }
                        }
                        r = self.stream.writable() => r.map_err(|_| None)?,
                    }
                }
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(_) => return Err(None),
            }
        }
        self.stream.flush().await.map_err(|_| None)?;
        self.times.written = Some(Instant::now());
        Ok(Written::All)
    }

    /// Counts one pass of a loop that did not wait, and yields to the
    /// runtime every [`PASSES_PER_YIELD`] of them: a counter on the hot
    /// path, a yield only while a server keeps the socket always ready.
    async fn pass(&mut self) {
        self.passes += 1;
        if self.passes >= PASSES_PER_YIELD {
            self.passes = 0;
            tokio::task::yield_now().await;
        }
    }

    /// Waits for bytes and feeds them to the reader. `Ok(None)` = EOF,
    /// `Ok(Some(done))` = bytes taken.
    async fn some(&mut self) -> Result<Option<bool>, ErrorKind> {
        loop {
            self.stream.readable().await.map_err(|_| ErrorKind::Read)?;
            match self.read_now() {
                Ok(r) => return Ok(r),
                // Usually the socket is drained and the next wait waits;
                // TLS records without data keep it ready: count a pass.
                Err(ReadError::Pending) => self.pass().await,
                Err(ReadError::Failed) => return Err(ErrorKind::Read),
                Err(ReadError::Bad(kind)) => return Err(kind),
            }
        }
    }

    /// One non-blocking read through the worker's scratch buffer.
    fn read_now(&mut self) -> Result<Option<bool>, ReadError> {
        let mut scratch = self.worker.scratch();
        let n = match self.stream.try_read(&mut scratch) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::Interrupted) => {
                return Err(ReadError::Pending)
            }
            Err(_) => return Err(ReadError::Failed),
        };
        let now = Instant::now();
        // The clock is read for every read anyway, so this check is free;
        // it ends a response that never stops coming at its deadline, where
        // the timer would only be looked at after the next yield.
        if now >= self.deadline {
            return Err(ReadError::Bad(ErrorKind::Timeout));
        }
        self.times.last_read = Some(now);
        if n == 0 {
            return Ok(None);
        }
        let first = self.times.first_byte.is_none();
        self.times.first_byte.get_or_insert(now);
        if first && self.trace {
            self.worker.first_read(&scratch[..n]);
        }
        match self.reader.feed(&scratch[..n]) {
            Ok(done) => Ok(Some(done)),
            Err(kind) => Err(ReadError::Bad(kind)),
        }
    }
}

/// Why a non-blocking read gave no bytes to count.
enum ReadError {
    /// Nothing to read yet.
    Pending,
    /// The socket failed (reset).
    Failed,
    /// The bytes read are not a valid response.
    Bad(ErrorKind),
}

/// Where a run connects.
#[derive(Debug, Clone)]
pub(crate) enum Address {
    /// The target (or proxy), resolved once.
    Tcp(SocketAddr),
    /// A Unix socket ([`crate::Plan::unix_socket`]).
    Unix(PathBuf),
}

impl Address {
    /// Whether many connections need several loopback source addresses.
    pub(crate) fn is_loopback_v4(&self) -> bool {
        matches!(self, Address::Tcp(a) if a.ip().is_loopback() && a.is_ipv4())
    }
}

/// A new connection, the TLS handshake included (as ab counts it in the
/// connect time), from `source` when given.
pub(crate) async fn open(run: &RunState, source: Option<SocketAddr>) -> Result<Stream, ErrorKind> {
    let tcp = match &run.addr {
        Address::Unix(path) => {
            let s = UnixStream::connect(path).await;
            run.reach.connect(s.is_ok());
            return s.map(Stream::Unix).map_err(|_| ErrorKind::Connect);
        }
        Address::Tcp(addr) => connect(*addr, source).await,
    };
    run.reach.connect(tcp.is_ok());
    let tcp = tcp.map_err(|_| ErrorKind::Connect)?;
    // Small requests must leave at once, not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let Some(tls) = &run.tls else {
        return Ok(Stream::Plain(tcp));
    };
    let t = tls.handshake(tcp).await?;
    if run.tls_info.get().is_none() {
        if let Some(info) = t.info() {
            let _ = run.tls_info.set(info);
        }
    }
    Ok(Stream::Tls(Box::new(t)))
}

/// Connects to `addr`, from `source` when given.
async fn connect(addr: SocketAddr, source: Option<SocketAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr).await;
    };
    let socket = TcpSocket::new_v4()?;
    socket.bind(source)?;
    socket.connect(addr).await
}

/// Where connection `index` connects from: a loopback source address of
/// its own when the run spreads them.
pub(crate) fn source_for(run: &RunState, index: u32) -> Option<SocketAddr> {
    run.spread_sources.then(|| source_address(index))
}

/// The loopback source address (any port) of connection `index`.
fn source_address(index: u32) -> SocketAddr {
    let host = 1 + (index % SOURCES) as u8;
    SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_connections_come_from_other_loopback_addresses() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let stream = runtime
            .block_on(connect(addr, Some(source_address(3))))
            .unwrap();
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), Ipv4Addr::new(127, 0, 0, 4));
        assert_eq!(stream.local_addr().unwrap(), peer);
    }
}
