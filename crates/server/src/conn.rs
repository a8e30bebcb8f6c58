//! One HTTP/1.1 connection: hyper plus the limits a real server needs.
//!
//! * hyper provides the protocol, with a bounded request head
//!   (`max_header_bytes`, 431 beyond it; the read buffer is bounded by the
//!   same number). Half-closed clients are still answered (`activity`'s
//!   `Watched` holds their end of stream back), reset ones are not.
//! * The idle-phase timeouts (first byte, keep-alive, header) and eviction
//!   at the cap are `activity`'s: hyper's header timer is off because it
//!   also runs while idle.
//! * HTTP/1.1 requests without exactly one `Host` get a 400 (RFC 9112
//!   §3.2) before they reach the application.
//! * A handler that panics answers 500 and closes its connection; the
//!   server and every other connection carry on.
//! * After a malformed or oversized head, the answer is followed by a
//!   bounded lingering close (read and discard what the client still
//!   sends), so the client reads the error instead of a reset.
//!
//! Shutdown: a connection that is serving a request finishes it (hyper's
//! graceful shutdown turns keep-alive off, so it closes after the
//! response); an idle keep-alive connection is closed by hyper at once; a
//! connection that never sent a request is dropped. Requests still queued
//! for the blocking pool answer 503 at once (see `sleep`), through the
//! `Stopping` signal every request carries (see `context`); so do connections the server
//! had not accepted yet ([`refuse`]).

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{header, HeaderValue, Version};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::Service;

use crate::activity::{Activity, Timeouts};
use crate::context::{LocalAddr, Stopping};
use crate::errors::ApiError;
use crate::watched::Watched;
use crate::Config;

/// hyper's smallest allowed read buffer.
const MIN_READ_BUFFER: usize = 8192;

/// Lingering close: how long, and how many bytes, we keep reading and
/// discarding after answering a bad request.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Per-server connection settings, shared by all connection tasks.
#[derive(Debug)]
pub(crate) struct ConnSettings {
    builder: http1::Builder,
    pub(crate) timeouts: Timeouts,
    access_log: bool,
}

impl ConnSettings {
    /// hyper's HTTP/1 settings from a validated config.
    pub(crate) fn new(config: &Config) -> Self {
        let keep_alive = Some(config.keep_alive).filter(|idle| !idle.is_zero());
        let mut builder = http1::Builder::new();
        builder
            .header_read_timeout(None)
            // Head and the small body in one buffer, one write per response.
            .writev(false)
            .keep_alive(keep_alive.is_some())
            .max_header_size(config.max_header_bytes)
            .max_buf_size(config.max_header_bytes.max(MIN_READ_BUFFER));
        Self {
            builder,
            timeouts: Timeouts {
                first_byte: config.first_byte_timeout,
                keep_alive,
                header: config.header_timeout,
            },
            access_log: config.access_log,
        }
    }
}

/// Serves one accepted connection until the client leaves, a timeout or
/// error ends it, it is evicted at the cap, or shutdown closes it.
pub(crate) async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    router: Router,
    settings: Arc<ConnSettings>,
    shutdown: watch::Receiver<bool>,
) {
    // TCP_NODELAY comes from the listening socket (see `server::bind`).
    let local = LocalLookup::new(&stream);
    let mut stopping = Stopping::new(shutdown);
    let service = {
        let activity = Arc::clone(&activity);
        let access_log = settings.access_log;
        let stopping = stopping.clone();
        service_fn(move |mut request: hyper::Request<Incoming>| {
            let guard = activity.begin();
            let host_ok = has_one_host(&request);
            // Only a redirect without `Host` needs our address: no
            // getsockname per connection.
            if !request.headers().contains_key(header::HOST) {
                if let Some(local) = local.get() {
                    request.extensions_mut().insert(LocalAddr(local));
                }
            }
            tracing::debug!(
                "{peer} \"{} {} {:?}\" started",
                request.method(),
                request.uri(),
                request.version()
            );
            // Only the access log needs the request line and a clock after
            // the handler has taken the request: keep both off the hot path.
            let logged = access_log.then(|| {
                let line = format!(
                    "{} {} {:?}",
                    request.method(),
                    request.uri(),
                    request.version()
                );
                (line, Instant::now())
            });
            let call = host_ok.then(|| {
                stopping.clone().scope(CatchPanic(router.clone().call(request)))
            });
            async move {
                let response = match call {
                    Some(call) => match call.await {
                        Ok(Ok(response)) => response,
                        Ok(Err(never)) => match never {},
                        Err(panic) => {
                            tracing::error!(
                                "{peer}: request handler panicked: {}",
                                message(&*panic)
                            );
                            own_response(ApiError::Internal)
                        }
                    },
                    None => own_response(ApiError::BadRequest),
                };
                drop(guard);
                if let Some((line, started)) = logged {
                    tracing::info!(
                        target: "speedup_server::access",
                        "{peer} \"{line}\" {} {:.1}ms",
                        response.status().as_u16(),
                        started.elapsed().as_secs_f64() * 1e3,
                    );
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let io = TokioIo::new(Watched::new(&mut stream, &activity));
    let connection = settings.builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    let result = loop {
        tokio::select! {
            // The connection first: a request it reads marks the connection
            // busy before the watchdog first looks, so a connection whose
            // request is already there never arms a timer at all.
            biased;
            result = connection.as_mut() => break result,
            () = stopping.wait(), if !draining => {
                if !activity.used() {
                    return;
                }
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            why = activity.expired(), if !draining => {
                tracing::debug!("{peer}: closing: {why:?}");
                return;
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!("{peer}: connection closed: {error}");
        if error.is_parse() {
            // Boxed: its 4 KiB buffer would otherwise sit in every
            // connection's future, copied on every spawn.
            Box::pin(linger(&mut stream)).await;
        }
    }
}

/// The connection's local address, looked up only when a request needs it.
#[derive(Debug, Clone, Copy)]
struct LocalLookup {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
    #[cfg(not(unix))]
    addr: Option<SocketAddr>,
}

impl LocalLookup {
    fn new(stream: &TcpStream) -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            Self {
                fd: stream.as_raw_fd(),
            }
        }
        #[cfg(not(unix))]
        Self {
            addr: stream.local_addr().ok(),
        }
    }

    /// Must only be called while the connection's socket is open, that is
    /// from the service hyper calls for one of its requests.
    fn get(&self) -> Option<SocketAddr> {
        #[cfg(unix)]
        {
            use std::os::fd::FromRawFd;
            // SAFETY: the fd belongs to the stream `serve_connection` owns
            // until after hyper's last call of the service, so it is open
            // here; ManuallyDrop borrows it without ever closing it.
            let socket =
                std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(self.fd) });
            socket.local_addr().ok()
        }
        #[cfg(not(unix))]
        self.addr
    }
}

/// How long a connection refused at shutdown may take to send its head.
const REFUSE_WAIT: Duration = Duration::from_secs(1);

/// Answers a connection accepted during shutdown 503 (as a queued request
/// is answered): hyper reads its head (bounded in bytes by the server's
/// settings, in time by [`REFUSE_WAIT`]) and writes the answer, whose
/// `connection: close` ends the connection; then a lingering close.
pub(crate) async fn refuse(mut stream: TcpStream, settings: Arc<ConnSettings>) {
    let service = service_fn(|_request: hyper::Request<Incoming>| async {
        Ok::<_, std::convert::Infallible>(own_response(ApiError::ShuttingDown))
    });
    let connection = settings
        .builder
        .serve_connection(TokioIo::new(&mut stream), service);
    if let Ok(Ok(())) = tokio::time::timeout(REFUSE_WAIT, connection).await {
        linger(&mut stream).await;
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host`.
fn has_one_host<B>(request: &hyper::Request<B>) -> bool {
    request.version() != Version::HTTP_11
        || request.headers().get_all(header::HOST).iter().count() == 1
}

/// An answer the connection gives itself (the application never saw the
/// request, or panicked): stamped like the application's, and the
/// connection's last.
fn own_response(error: ApiError) -> Response {
    let mut response = error.into_response();
    let headers = response.headers_mut();
    headers.insert(header::SERVER, HeaderValue::from_static("speedup"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads and discards what the client still sends after our error answer
/// (bounded in time and bytes), so its kernel does not see a reset that
/// would destroy the answer before it is read.
async fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let drain = async {
        let mut discarded = 0;
        let mut chunk = [0u8; 4096];
        while discarded < LINGER_BYTES {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => discarded += read,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// A future whose panic is caught and returned instead of unwinding
/// through the connection task.
struct CatchPanic<F>(F);

impl<F: Future + Unpin> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The text of a panic payload, when it has one.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
