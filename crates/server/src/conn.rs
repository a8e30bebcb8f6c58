//! One connection, HTTP/1.1 or HTTP/2: hyper plus the limits a real
//! server needs.
//!
//! * hyper provides the protocols (`http`: HTTP/1.x, or HTTP/2 with prior
//!   knowledge, told apart by the first bytes), with bounded requests: an
//!   HTTP/1 head of at most `max_header_bytes` (431 beyond it; the read
//!   buffer is bounded by the same number), an HTTP/2 header list of at
//!   most as much (h2 answers 431, and ends the connection with GOAWAY
//!   for a block too large to decode at all), and HTTP/2's other buffers
//!   bounded as [`ConnSettings::new`] says. Half-closed clients are still
//!   answered (`watched`'s `Watched` holds their end of stream back), reset
//!   ones are not.
//! * The idle-phase timeouts (first byte, keep-alive, header) and eviction
//!   at the cap are `watchdog`'s: hyper's header timer is off because it
//!   also runs while idle, and so are HTTP/2's keep-alive pings (an idle
//!   connection is closed by the watchdog; one with streams in flight is
//!   bounded by their handlers, as an HTTP/1 request is).
//! * Each request goes through the connection's service (`service`): no
//!   `Host` rule broken (400), panics caught (500), the connection busy
//!   meanwhile (over HTTP/2, while any of its streams is).
//! * After a malformed or oversized head, the answer is followed by a
//!   bounded lingering close (read and discard what the client still
//!   sends), so the client reads the error instead of a reset.
//!
//! Shutdown: a connection that is serving a request finishes it (hyper's
//! graceful shutdown turns keep-alive off, so it closes after the
//! response; over HTTP/2 it sends GOAWAY, finishes the streams in flight
//! and takes no new ones); an idle keep-alive connection is closed by
//! hyper at once (an idle HTTP/2 one once its client answers the GOAWAY's
//! PING, or a second later); a connection that never sent a request is
//! dropped. Requests still queued for the blocking pool answer 503 at once
//! (see `sleep`), through the `Stopping` signal every request carries (see
//! `context`); so do connections the server had not accepted yet
//! ([`refuse`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::sync::watch;

use crate::context::Stopping;
use crate::errors::ApiError;
use crate::http::{Ended, Http, Protocols};
use crate::service::{own_response, ConnService};
use crate::socket::{Peer, Stream};
use crate::watchdog::{Activity, Expired, Timeouts};
use crate::watched::Watched;
use crate::{App, Config};

/// hyper's smallest allowed read buffer.
const MIN_READ_BUFFER: usize = 8192;

/// Lingering close: how long, and how many bytes, we keep reading and
/// discarding after answering a bad request.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// HTTP/2 flow-control windows, per stream and per connection: the spec's
/// initial 65,535 bytes (hyper would raise both to 1 MiB). The endpoints
/// read no request body, so this is all of one a client can make a
/// connection buffer.
const H2_WINDOW: u32 = 65_535;

/// What one HTTP/2 stream may queue for sending beyond what the client's
/// window lets out (hyper's default: 400 KB). The answers here are a few
/// hundred bytes (`/metrics`, a few KiB).
const H2_SEND_BUFFER: usize = 64 * 1024;

/// Streams a client may open and reset before the server has taken them
/// (the "rapid reset" attack, CVE-2023-44487), h2's default, stated; past
/// it the connection ends with GOAWAY.
const H2_PENDING_RESETS: usize = 20;

/// Streams the server may reset for the client's errors before it ends the
/// connection with GOAWAY (hyper's default, stated).
const H2_ERROR_RESETS: usize = 1024;

/// Per-server connection settings, shared by all connection tasks.
#[derive(Debug)]
pub(crate) struct ConnSettings {
    protocols: Protocols,
    pub(crate) timeouts: Timeouts,
    access_log: bool,
}

impl ConnSettings {
    /// hyper's HTTP/1 and HTTP/2 settings from a validated config.
    ///
    /// HTTP/2's bounds: `max_streams` streams at once
    /// (SETTINGS_MAX_CONCURRENT_STREAMS; more are refused with
    /// REFUSED_STREAM), a header list of `max_header_bytes` (h2 also caps a
    /// block's buffered bytes and CONTINUATION frames by it), frames of
    /// 16 KiB (the protocol's smallest maximum), [`H2_WINDOW`] of request
    /// body, [`H2_SEND_BUFFER`] queued per stream, [`H2_PENDING_RESETS`]
    /// and [`H2_ERROR_RESETS`] resets; no keep-alive pings (the watchdog
    /// times idle connections out; one with streams in flight is bounded by
    /// their handlers, as an HTTP/1 request is).
    pub(crate) fn new(config: &Config) -> Self {
        let keep_alive = Some(config.keep_alive).filter(|idle| !idle.is_zero());
        let mut protocols = Protocols::new();
        protocols
            .http1
            .header_read_timeout(None)
            // Head and the small body in one buffer, one write per response.
            .writev(false)
            .keep_alive(keep_alive.is_some())
            .max_header_size(config.max_header_bytes)
            .max_buf_size(config.max_header_bytes.max(MIN_READ_BUFFER));
        let header_list = u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX);
        protocols
            .http2
            .max_concurrent_streams(config.max_streams)
            .max_header_list_size(header_list)
            .initial_stream_window_size(H2_WINDOW)
            .initial_connection_window_size(H2_WINDOW)
            .max_send_buf_size(H2_SEND_BUFFER)
            .max_pending_accept_reset_streams(H2_PENDING_RESETS)
            .max_local_error_reset_streams(H2_ERROR_RESETS)
            .keep_alive_interval(None);
        Self {
            protocols,
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
pub(crate) async fn serve_connection<A: App>(
    stream: Stream,
    peer: Peer,
    activity: Arc<Activity>,
    app: A,
    settings: Arc<ConnSettings>,
    shutdown: watch::Receiver<bool>,
) {
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
        let io = Watched::new(&stream, Some(&activity));
        let connection = settings.protocols.serve(io, service);
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
            Box::pin(linger(&stream)).await;
        }
    }
}

/// Runs hyper's `connection` until it ends, a timeout or eviction closes it
/// (`Ok`), or shutdown: then a connection that served a request finishes
/// what is in progress, one that never did is closed at once.
///
/// At shutdown, HTTP/1 finishes the request in progress (hyper turns
/// keep-alive off) and closes; HTTP/2 sends GOAWAY, finishes its streams
/// and closes once the client has answered hyper's PING, or, if it never
/// does, when the watchdog cuts it, [`GOAWAY_WAIT`] after its last stream.
/// An idle HTTP/2 connection at the end of its keep-alive is told to go
/// away the same way, rather than cut (see `watchdog`).
///
/// [`GOAWAY_WAIT`]: crate::watchdog::GOAWAY_WAIT
async fn drive<A: App>(
    mut connection: Pin<&mut Http<'_, ConnService<'_, A>>>,
    stream: &Stream,
    activity: &Arc<Activity>,
    mut stopping: Stopping,
    peer: Peer,
) -> Result<(), Ended> {
    let (mut stopped, mut watching) = (false, true);
    loop {
        tokio::select! {
            // The connection first: a request it reads marks the connection
            // busy before the watchdog first looks, so a connection whose
            // request is already there never arms a timer at all.
            biased;
            result = connection.as_mut() => return result,
            () = stopping.wait(), if !stopped => {
                stopped = true;
                if !activity.used() {
                    return Ok(());
                }
                connection.as_mut().graceful_shutdown();
                if activity.http2() {
                    activity.going_away();
                } else {
                    watching = false;
                }
            }
            why = activity.expired(), if watching => {
                if why == Expired::Evicted && activity.keep_if(|| unread_bytes(stream)) {
                    continue;
                }
                if why == Expired::KeepAlive && activity.http2() {
                    tracing::debug!("{peer}: idle: GOAWAY");
                    connection.as_mut().graceful_shutdown();
                    activity.going_away();
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
fn unread_bytes(stream: &Stream) -> bool {
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
/// `connection: close` ends an HTTP/1 connection; an HTTP/2 one is told to
/// go away (GOAWAY) at once, and what its client sent before it heard is
/// answered 503 too. Then a lingering close.
pub(crate) async fn refuse(stream: Stream, settings: Arc<ConnSettings>) {
    let service = service_fn(|_request: hyper::Request<Incoming>| async {
        Ok::<_, Infallible>(own_response(ApiError::ShuttingDown))
    });
    let connection = settings
        .protocols
        .refuse(Watched::new(&stream, None), service);
    if let Ok(Ok(())) = tokio::time::timeout(REFUSE_WAIT, connection).await {
        linger(&stream).await;
    }
}

/// Reads and discards what the client still sends after our error answer
/// (bounded in time and bytes), so its kernel does not see a reset that
/// would destroy the answer before it is read.
async fn linger(stream: &Stream) {
    let _ = stream.shutdown_write();
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
