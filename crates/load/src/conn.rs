//! One connection's loop: claim a request, connect if needed, write, read
//! the response, record, and keep the connection if both sides allow it.
//!
//! Timings follow ab: a request on a new connection starts when the connect
//! starts; on a reused keep-alive connection it starts when the previous
//! response ended, with a connect time of 0.

use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::engine::Recorder;
use crate::record::{ErrorKind, Outcome, Record, Sample};
use crate::response::ResponseReader;
use crate::worker::{RunState, Worker};

/// Why an exchange ended without a response.
enum Failure {
    /// A reused connection was closed by the server before any byte of the
    /// response: not an error, retry on a new connection.
    Stale,
    /// The request failed.
    Error(ErrorKind),
}

/// Where a response's first read goes when the plan traces responses.
type Trace<'a> = &'a dyn Fn(&[u8]);

/// When the phases of one attempt ended.
#[derive(Default)]
struct Times {
    connected: Option<Instant>,
    written: Option<Instant>,
    first_byte: Option<Instant>,
    last_read: Option<Instant>,
}

/// One source address has ~28k ephemeral ports (Linux default range), so
/// above this many connections to a loopback target the connections spread
/// over several 127.0.0.x source addresses.
pub(crate) const SPREAD_ABOVE: u32 = 20_000;
/// How many 127.0.0.x source addresses to spread over.
const SOURCES: u32 = 8;

/// Runs connection number `index` until the run has no more requests for it.
pub(crate) async fn connection<R: Recorder>(run: Arc<RunState>, worker: Rc<Worker<R>>, index: u32) {
    let source = run.spread_sources.then(|| source_address(index));
    let mut reader = ResponseReader::new();
    let mut kept: Option<TcpStream> = None;
    // One timer per connection, pushed forward for each request: extending a
    // registered timer is a cheap atomic update, not a timer-wheel operation.
    let timer = tokio::time::sleep(run.timeout);
    tokio::pin!(timer);
    let mut start = Instant::now();
    while run.claim(start) {
        let (record, done) = loop {
            let reused = kept.is_some();
            timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(start + run.timeout));
            let mut times = Times::default();
            let want_server = run.server.get().is_none();
            let trace = |bytes: &[u8]| worker.first_read(bytes);
            let trace = run.trace_responses.then_some(&trace as Trace<'_>);
            let result = tokio::select! {
                biased;
                r = exchange(&run, source, kept.take(), &mut reader, &mut times, want_server, trace) => r,
                () = &mut timer => Err(Failure::Error(ErrorKind::Timeout)),
            };
            let done = match (&result, times.last_read) {
                (Ok(_), Some(t)) => t,
                _ => Instant::now(),
            };
            let outcome = match result {
                Err(Failure::Stale) if reused => {
                    start = Instant::now();
                    continue;
                }
                Err(Failure::Stale) => Outcome::Error(ErrorKind::Read),
                Err(Failure::Error(kind)) => Outcome::Error(kind),
                Ok(stream) => {
                    if let Some(server) = reader.server.take() {
                        let _ = run.server.set(server);
                    }
                    if run.keep_alive && reader.keep_alive {
                        kept = Some(stream);
                    }
                    Outcome::Response {
                        status: reader.status,
                        header_bytes: saturate(reader.header_bytes),
                        body_bytes: saturate(reader.body_bytes),
                        keep_alive: reader.keep_alive,
                    }
                }
            };
            break (
                Record {
                    sample: sample(&run, start, &times, done),
                    outcome,
                },
                done,
            );
        };
        worker.record(&record, done);
        run.control.add_completed();
        // ab's rule: a request on a kept connection starts when the previous
        // response ended.
        start = if kept.is_some() { done } else { Instant::now() };
    }
}

/// One request on `stream` (or on a new connection): connect, write, read
/// the whole response. Returns the stream for reuse.
async fn exchange(
    run: &RunState,
    source: Option<SocketAddr>,
    stream: Option<TcpStream>,
    reader: &mut ResponseReader,
    times: &mut Times,
    want_server: bool,
    trace: Option<Trace<'_>>,
) -> Result<TcpStream, Failure> {
    let reused = stream.is_some();
    let mut stream = match stream {
        Some(s) => s,
        None => {
            let s = connect(run.addr, source)
                .await
                .map_err(|_| Failure::Error(ErrorKind::Connect))?;
            // Small requests must leave at once, not wait for Nagle.
            let _ = s.set_nodelay(true);
            times.connected = Some(Instant::now());
            s
        }
    };
    // A reused connection the server closed while idle fails here or on the
    // first read; both mean "retry", not an error.
    let lost = |kind| {
        move |_| {
            if reused {
                Failure::Stale
            } else {
                Failure::Error(kind)
            }
        }
    };
    stream
        .write_all(&run.request)
        .await
        .map_err(lost(ErrorKind::Write))?;
    times.written = Some(Instant::now());
    reader.begin(run.head_request, want_server);
    loop {
        let read = stream.read(reader.spare()).await;
        let now = Instant::now();
        let first = times.first_byte.is_none();
        times.first_byte.get_or_insert(now);
        times.last_read = Some(now);
        let n = match read {
            Ok(n) => n,
            Err(e) if reader.nothing_received() => return Err(lost(ErrorKind::Read)(e)),
            Err(_) => return Err(Failure::Error(ErrorKind::Read)),
        };
        if n == 0 {
            if reused && reader.nothing_received() {
                return Err(Failure::Stale);
            }
            reader.eof().map_err(Failure::Error)?;
            return Ok(stream);
        }
        if let Some(trace) = trace.filter(|_| first) {
            trace(reader.just_read(n));
        }
        if reader.received(n).map_err(Failure::Error)? {
            return Ok(stream);
        }
    }
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

/// The loopback source address (any port) of connection `index`.
fn source_address(index: u32) -> SocketAddr {
    let host = 1 + (index % SOURCES) as u8;
    SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0))
}

/// The sample of one request, in whole µs as ab keeps them.
fn sample(run: &RunState, start: Instant, times: &Times, done: Instant) -> Sample {
    let us = |from: Instant, to: Instant| {
        saturate(to.saturating_duration_since(from).as_micros() as u64)
    };
    Sample {
        start_us: start.saturating_duration_since(run.base).as_micros() as u64,
        connect_us: times.connected.map_or(0, |c| us(start, c)),
        wait_us: match (times.written, times.first_byte) {
            (Some(w), Some(f)) => us(w, f),
            _ => 0,
        },
        total_us: us(start, done),
    }
}

fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
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
