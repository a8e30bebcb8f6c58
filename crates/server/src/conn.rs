//! One HTTP/1.1 connection: hyper plus the limits a real server needs.
//!
//! * hyper provides the protocol, with a bounded request head
//!   (`max_header_bytes`, 431 beyond it; the read buffer is bounded by the
//!   same number). Half-closed clients are still answered (`watched`'s
//!   `Watched` holds their end of stream back), reset ones are not.
//! * The idle-phase timeouts (first byte, keep-alive, header) and eviction
//!   at the cap are `watchdog`'s: hyper's header timer is off because it
//!   also runs while idle.
//! * Each request goes through the connection's service (`service`): no
//!   `Host` rule broken (400), panics caught (500), the connection busy
//!   meanwhile.
//! * After a malformed or oversized head, the answer is followed by a
//!   bounded lingering close (read and discard what the client still
//!   sends), so the client reads the error instead of a reset.
//!
//! Shutdown: a connection that is serving a request finishes it (hyper's
//! graceful shutdown turns keep-alive off, so it closes after the
//! response); an idle keep-alive connection is closed by hyper at once; a
//! connection that never sent a request is dropped. Requests still queued
//! for the blocking pool answer 503 at once (see `sleep`), through the
//! `Stopping` signal every request carries (see `context`); so do
//! connections the server had not accepted yet ([`refuse`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::context::Stopping;
use crate::errors::ApiError;
use crate::service::{own_response, ConnService};
use crate::watchdog::{Activity, Expired, Timeouts};
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
pub(crate) async fn serve_connection<A>(
    mut stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    app: A,
    settings: Arc<ConnSettings>,
    shutdown: watch::Receiver<bool>,
) where
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone,
{
    // TCP_NODELAY comes from the listening socket (see `listener`).
    let stopping = Stopping::new(shutdown);
    let result = {
        let service = ConnService::new(
            app,
            &stream,
            &activity,
            peer,
            settings.access_log,
            stopping.clone(),
        );
        let io = TokioIo::new(Watched::new(&stream, &activity));
        let connection = settings.builder.serve_connection(io, service);
        drive(
            std::pin::pin!(connection),
            &stream,
            &activity,
            stopping,
            peer,
        )
        .await
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

/// Runs hyper's `connection` until it ends, a timeout or eviction closes it
/// (`Ok`), or shutdown: then a connection that served a request finishes
/// the one in progress (hyper turns keep-alive off), one that never did is
/// closed at once.
async fn drive<A>(
    mut connection: Pin<&mut http1::Connection<TokioIo<Watched<'_>>, ConnService<'_, A>>>,
    stream: &TcpStream,
    activity: &Arc<Activity>,
    mut stopping: Stopping,
    peer: SocketAddr,
) -> Result<(), hyper::Error>
where
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone,
{
    let mut draining = false;
    loop {
        tokio::select! {
            // The connection first: a request it reads marks the connection
            // busy before the watchdog first looks, so a connection whose
            // request is already there never arms a timer at all.
            biased;
            result = connection.as_mut() => return result,
            () = stopping.wait(), if !draining => {
                if !activity.used() {
                    return Ok(());
                }
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            why = activity.expired(), if !draining => {
                if why == Expired::Evicted && activity.keep_if(|| unread_bytes(stream)) {
                    continue;
                }
                tracing::debug!("{peer}: closing: {why:?}");
                return Ok(());
            }
        }
    }
}

/// Whether `stream` holds bytes not read yet: a request on its way that an
/// eviction must not cut (see `watchdog`).
fn unread_bytes(stream: &TcpStream) -> bool {
    #[cfg(unix)]
    {
        rustix::io::ioctl_fionread(stream).is_ok_and(|unread| unread > 0)
    }
    #[cfg(not(unix))]
    {
        let _ = stream;
        false
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
