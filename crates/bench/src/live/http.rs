//! The `/metrics` endpoint: a minimal HTTP/1.0 responder on `std::net`, on
//! one thread of its own, so the load generator needs no second runtime.
//!
//! It is meant for a Prometheus scraping every few seconds, and bounds what
//! any other peer can make it hold: one connection at a time, its request
//! head read within [`CLIENT_TIME`] (in all, however slowly it drips) and at
//! most [`MAX_HEAD`] bytes, its answer written within [`CLIENT_TIME`], then
//! closed. A peer that holds its connection delays the next scrape by at
//! most that time; nothing else waits for this thread.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::LiveMetrics;

/// The longest a connection may take to send its request, and then to take
/// its answer.
pub const CLIENT_TIME: Duration = Duration::from_secs(2);

/// The longest request head read.
pub const MAX_HEAD: usize = 8 * 1024;

/// The content type of OpenMetrics, which Prometheus asks for in `accept`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic text format, for everyone else.
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running `/metrics` endpoint; stopped when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    metrics: Arc<LiveMetrics>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and serves `metrics` until dropped.
    pub fn start(addr: SocketAddr, metrics: Arc<LiveMetrics>) -> io::Result<MetricsServer> {
        MetricsServer::serve(TcpListener::bind(addr)?, metrics)
    }

    /// Serves `metrics` on `listener` (bound earlier, e.g. before the
    /// process blocked its signals for every thread) until dropped.
    pub fn serve(listener: TcpListener, metrics: Arc<LiveMetrics>) -> io::Result<MetricsServer> {
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let thread = {
            let (metrics, stopping) = (Arc::clone(&metrics), Arc::clone(&stopping));
            std::thread::Builder::new()
                .name("speedup-bench-metrics".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        // A failed accept (a reset, out of descriptors) loses one scrape.
                        if let Ok(stream) = stream {
                            let _ = answer(stream, &metrics);
                        }
                    }
                })?
        };
        Ok(MetricsServer {
            addr,
            metrics,
            stopping,
            thread: Some(thread),
        })
    }

    /// Where it listens (the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The metrics it serves, for the collector to feed.
    pub fn metrics(&self) -> Arc<LiveMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Keeps serving for `time`, or until `stop` returns true (asked every
    /// 50 ms), so a last scrape sees the final counts.
    pub fn linger(&self, time: Duration, stop: impl Fn() -> bool) {
        let end = Instant::now() + time;
        while !stop() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept with a connection of our own.
        let wake = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, a.port()).into(),
            SocketAddr::V6(a) if a.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, a.port()).into(),
            a => a,
        };
        let woken = TcpStream::connect_timeout(&wake, CLIENT_TIME).is_ok();
        if let Some(thread) = self.thread.take().filter(|_| woken) {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it: `GET /metrics` (or `HEAD`) with the
/// exposition, anything else with a short error.
fn answer(mut stream: TcpStream, metrics: &LiveMetrics) -> io::Result<()> {
    let head = read_head(&mut stream)?;
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_ascii_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let openmetrics = text.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept")
                && value.contains("application/openmetrics-text")
        })
    });
    let (status, kind, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => (
            "200 OK",
            if openmetrics { OPENMETRICS } else { TEXT },
            metrics.render(openmetrics),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", TEXT, "try /metrics\n".to_string()),
        _ => ("405 Method Not Allowed", TEXT, "GET /metrics\n".to_string()),
    };
    stream.set_write_timeout(Some(CLIENT_TIME))?;
    let mut out = format!(
        "HTTP/1.0 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        out.push_str(&body);
    }
    stream.write_all(out.as_bytes())?;
    stream.shutdown(Shutdown::Write)
}

/// The request head, up to its blank line, within [`CLIENT_TIME`] and
/// [`MAX_HEAD`] bytes (what came is used: a truncated head gets an answer
/// too).
fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let end = Instant::now() + CLIENT_TIME;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n.min(MAX_HEAD - head.len())]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(e) => return Err(e),
        }
    }
    Ok(head)
}
