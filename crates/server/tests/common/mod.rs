//! Test helpers: start the server on `127.0.0.1:0`, and a tiny raw-TCP
//! HTTP/1.1 client (no client crate, so we see exactly the bytes sent).
//!
//! Every wait is bounded by [`IO_TIMEOUT`] so a broken server fails a test
//! instead of hanging it.

#![allow(dead_code)] // each test binary uses a different subset

pub mod h2;

use std::net::SocketAddr;
use std::time::Duration;

use speedup_server::{App, Config, Server, ServerBuilder, ServerError, Stats, Stopped};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Upper bound on any single wait in the tests.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A server started as every caller starts one ([`Server::builder`]), on
/// a free loopback port, its serving threads its own; the test's runtime
/// only relays the shutdown and waits. Until [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    stats: Stats,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<Stopped, ServerError>>,
}

impl TestServer {
    /// Serves the article's app with `config` on the default threads.
    pub async fn start(config: Config) -> Self {
        Self::serve(Server::builder(config)).await
    }

    /// Serves what `make_app` builds with `config`'s connection handling.
    pub async fn start_app<A: App>(config: Config, make_app: impl FnOnce(&Config) -> A) -> Self {
        Self::serve(Server::builder(config).app(make_app)).await
    }

    /// Binds `builder` on `127.0.0.1:0` and serves it.
    pub async fn serve<F, A>(builder: ServerBuilder<F>) -> Self
    where
        F: FnOnce(&Config) -> A,
        A: App,
    {
        let server = builder
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = server.local_addr().expect("a TCP server");
        let (stats, workers) = (server.stats(), server.workers());
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(server.serve(stopped, std::future::pending()));
        // Every thread has its runtime (and descriptors) before the test
        // goes on: a test may fill the descriptor table next.
        wait_until("every serving thread started", || {
            stats.serving_threads() == workers || task.is_finished()
        })
        .await;
        assert!(!task.is_finished(), "the server stopped at once");
        Self {
            addr,
            stats,
            stop: Some(stop),
            task,
        }
    }

    /// The server's live counts.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Starts graceful shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits (bounded) for `serve` to return, with no
    /// serving thread left behind.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        self.begin_shutdown();
        let stopped = tokio::time::timeout(IO_TIMEOUT, self.task)
            .await
            .expect("server did not stop in time")
            .expect("server task panicked")?;
        assert_eq!(
            stopped,
            Stopped::default(),
            "a serving thread was left behind"
        );
        Ok(())
    }
}

/// Starts the app with a hook that sends each request's path on arrival
/// (so a test knows a request is in flight, not just written).
pub async fn start_observed(config: Config) -> (TestServer, mpsc::UnboundedReceiver<String>) {
    let (arrived, arrivals) = mpsc::unbounded_channel();
    let server = TestServer::start_app(config, |config| observed(config, arrived)).await;
    (server, arrivals)
}

/// The app, sending each request's path on `arrived` as it reaches it.
pub fn observed(config: &Config, arrived: mpsc::UnboundedSender<String>) -> axum::Router {
    speedup_server::app(config).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let _ = arrived.send(request.uri().path().to_owned());
            next.run(request)
        },
    ))
}

/// Waits (bounded) until `count` requests have reached the app.
pub async fn wait_arrivals(arrivals: &mut mpsc::UnboundedReceiver<String>, count: usize) {
    for _ in 0..count {
        tokio::time::timeout(IO_TIMEOUT, arrivals.recv())
            .await
            .expect("request never reached the app")
            .expect("server gone");
    }
}

/// Polls (every 5 ms, bounded by [`IO_TIMEOUT`]) until `holds` is true;
/// panics naming `what` otherwise.
pub async fn wait_until(what: &str, mut holds: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + IO_TIMEOUT;
    while !holds() {
        assert!(std::time::Instant::now() < until, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Raw bytes of a request with a `host` header and `connection: close`.
pub fn request_bytes(method: &str, target: &str, addr: SocketAddr) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Raw bytes of a keep-alive request.
pub fn keep_alive_request(target: &str, addr: SocketAddr) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

/// A complete GET for `target` with extra header lines `headers` (each
/// ending in `\r\n`), its head padded with one `x-pad` header to `size`
/// bytes.
pub fn padded_request(target: &str, addr: SocketAddr, headers: &str, size: usize) -> Vec<u8> {
    let start = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}x-pad: ");
    let mut bytes = start.into_bytes();
    let pad = size.saturating_sub(bytes.len() + 4);
    bytes.resize(bytes.len() + pad, b'a');
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes
}

/// Connects (bounded).
pub async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect failed")
}

/// One request on a fresh connection; panics on any I/O failure or timeout.
pub async fn request(addr: SocketAddr, method: &str, target: &str) -> Response {
    let mut stream = connect(addr).await;
    send(&mut stream, &request_bytes(method, target, addr)).await;
    read_response(&mut stream, method == "HEAD")
        .await
        .unwrap_or_else(|error| panic!("{method} {target}: {error}"))
}

/// `GET target` on a fresh connection.
pub async fn get(addr: SocketAddr, target: &str) -> Response {
    request(addr, "GET", target).await
}

/// Writes all of `bytes` (bounded).
pub async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    tokio::time::timeout(IO_TIMEOUT, stream.write_all(bytes))
        .await
        .expect("write timed out")
        .expect("write failed");
}

/// Reads one response framed by `content-length` (no body for HEAD).
pub async fn read_response(stream: &mut TcpStream, head_only: bool) -> Result<Response, String> {
    tokio::time::timeout(IO_TIMEOUT, read_response_unbounded(stream, head_only))
        .await
        .map_err(|_| "timed out reading the response".to_owned())?
}

async fn read_response_unbounded(
    stream: &mut TcpStream,
    head_only: bool,
) -> Result<Response, String> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err(format!(
                "connection closed before a full head ({} bytes)",
                buffer.len()
            ));
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = match response.header("content-length") {
        Some(length) if !head_only => length.parse().map_err(|_| "bad content-length")?,
        _ => 0,
    };
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("connection closed inside the body".to_owned());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Response { body, ..response })
}

/// Waits (bounded by `limit`) until the peer closes the connection; returns
/// whatever it sent first. `Err` if it stayed open.
pub async fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let mut received = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&chunk[..read]),
            }
        }
    };
    match tokio::time::timeout(limit, read_all).await {
        Ok(()) => Ok(received),
        Err(_) => Err(format!("connection still open after {limit:?}")),
    }
}

/// `GET target` on a fresh connection with extra header lines (each ending
/// in `\r\n`).
pub async fn send_with_headers(addr: SocketAddr, target: &str, headers: &str) -> Response {
    let mut stream = connect(addr).await;
    let bytes =
        format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n");
    send(&mut stream, bytes.as_bytes()).await;
    read_response(&mut stream, false)
        .await
        .unwrap_or_else(|error| panic!("GET {target}: {error}"))
}

/// The smallest `n` (at most the default `--max-fibo`) whose `fibo(n)`
/// takes at least `at_least` in this build on this machine, measured here.
pub fn fibo_taking(at_least: Duration) -> u32 {
    for n in 20..=40 {
        let started = std::time::Instant::now();
        std::hint::black_box(speedup_server::fibo(n));
        if started.elapsed() >= at_least {
            return n;
        }
    }
    40
}
