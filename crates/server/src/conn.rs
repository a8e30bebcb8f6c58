//! One HTTP/1.1 connection: hyper plus the timeouts a real server needs.
//!
//! hyper provides the protocol and the header-read timeout. In hyper 1.x that
//! timer restarts as soon as a keep-alive connection goes idle, so it bounds
//! "idle + reading the next head" together; it cannot give uvicorn's shorter
//! keep-alive idle timeout (5 s) next to a longer header timeout. So each
//! connection also tracks whether a request is in flight ([`Activity`]) and
//! closes itself after `keep_alive` without one.
//!
//! Shutdown: a connection that is serving a request finishes it (hyper's
//! graceful shutdown turns keep-alive off, so it closes after the response);
//! an idle keep-alive connection is closed by hyper at once; a connection
//! that never sent a request is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::Service;

use crate::routes::LocalAddr;
use crate::Config;

/// Per-server connection settings, shared by all connection tasks.
#[derive(Debug)]
pub(crate) struct ConnSettings {
    builder: http1::Builder,
    /// `None` when keep-alive is off (`keep_alive` of zero).
    keep_alive: Option<Duration>,
    access_log: bool,
}

impl ConnSettings {
    /// hyper's HTTP/1 settings from a validated config.
    pub(crate) fn new(config: &Config) -> Self {
        let keep_alive = Some(config.keep_alive).filter(|idle| !idle.is_zero());
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .keep_alive(keep_alive.is_some());
        Self {
            builder,
            keep_alive,
            access_log: config.access_log,
        }
    }
}

/// Whether the connection is serving a request, and since when it is not.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    busy: bool,
    used: bool,
    /// When the last request finished (or the connection opened).
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ActivityState {
                busy: false,
                used: false,
                idle_since: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ActivityState> {
        // The state is plain data, valid even if a holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> ActivityState {
        *self.lock()
    }

    /// Marks a request as started; the guard marks it finished when dropped
    /// (also when the client disconnects and hyper drops the handler).
    fn begin(self: &Arc<Self>) -> BusyGuard {
        let mut state = self.lock();
        state.busy = true;
        state.used = true;
        BusyGuard(Arc::clone(self))
    }

    /// Resolves once the connection has had no request for `keep_alive`.
    async fn idle_for(&self, keep_alive: Duration) {
        loop {
            let state = self.snapshot();
            let deadline = if state.busy {
                Instant::now() + keep_alive
            } else {
                state.idle_since + keep_alive
            };
            if !state.busy && Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.busy = false;
        state.idle_since = Instant::now();
    }
}

/// Resolves when the server starts shutting down (or is gone).
async fn shutdown_signalled(shutdown: &mut watch::Receiver<bool>) {
    // An error means the server dropped the sender: treat it as shutdown too.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Serves one accepted connection until the client leaves, it idles out, a
/// timeout or error ends it, or shutdown closes it.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    settings: Arc<ConnSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Small request/response pairs: don't let Nagle delay them.
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = Arc::clone(&activity);
        let access_log = settings.access_log;
        service_fn(move |mut request: hyper::Request<Incoming>| {
            let guard = activity.begin();
            if let Some(local) = local {
                request.extensions_mut().insert(LocalAddr(local));
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
            let call = router.clone().call(request);
            async move {
                let response = call.await;
                drop(guard);
                if let (Some((line, started)), Ok(response)) = (logged, &response) {
                    tracing::info!(
                        target: "speedup_server::access",
                        "{peer} \"{line}\" {} {:.1}ms",
                        response.status().as_u16(),
                        started.elapsed().as_secs_f64() * 1e3,
                    );
                }
                response
            }
        })
    };
    let connection = settings
        .builder
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("{peer}: connection closed: {error}");
                }
                return;
            }
            () = shutdown_signalled(&mut shutdown), if !draining => {
                if !activity.snapshot().used {
                    return;
                }
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
            () = idle(&activity, settings.keep_alive), if !draining => {
                tracing::debug!("{peer}: keep-alive idle timeout");
                return;
            }
        }
    }
}

/// The keep-alive watchdog, or never when keep-alive is off (hyper then
/// closes after each response by itself).
async fn idle(activity: &Activity, keep_alive: Option<Duration>) {
    match keep_alive {
        Some(keep_alive) => activity.idle_for(keep_alive).await,
        None => std::future::pending().await,
    }
}
