//! Starting and stopping a server, the one way tests, the lab and `speedup
//! serve` all do it:
//!
//! ```no_run
//! # async fn run() -> Result<(), speedup_server::ServerError> {
//! use speedup_server::{Config, Server};
//! let server = Server::builder(Config::default())
//!     .workers(2) // serving threads; default: the cores
//!     .bind(([127, 0, 0, 1], 0).into())?;
//! println!("listening on {}", server.listening()); // http://127.0.0.1:PORT
//! let stopped = server
//!     .serve(async { /* shutdown: e.g. SIGTERM */ }, std::future::pending())
//!     .await?;
//! # let _ = stopped;
//! # Ok(())
//! # }
//! ```
//!
//! [`ServerBuilder::bind`] binds one listening socket (see `listener`), or
//! [`ServerBuilder::bind_unix`] a Unix domain socket (see `unix`);
//! [`Server::serve`] runs a current-thread runtime and accept loop on each
//! of the `workers` threads (see `threads`), sharing the application, the
//! connection cap and shutdown, until `shutdown` resolves; then every loop
//! shuts down gracefully within `grace`, at once if `cut` resolves. It
//! stops waiting for a thread stuck inside a handler past the grace period
//! and says so ([`Stopped`]), for the caller to end the process.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::accept::{Drained, Shared};
use crate::idle::IdleRegistry;
use crate::listener::{bind, refuse_waiting};
use crate::relay::Relay;
use crate::socket::StdListener;
use crate::summary::Summary;
use crate::threads::{spawn, Phase, Served};
use crate::{app, Config, ServerError};

/// Once the serving threads are told to cut (at the end of the grace period,
/// or at the second signal), how long they get to close their connections
/// before the ones still inside a handler are left behind.
pub const CLOSE_MARGIN: Duration = Duration::from_millis(500);

/// What a server can serve: a `tower` service answering hyper's requests,
/// cloned for each connection and each request (cheaply: [`app`]'s router
/// shares its state). Implemented for every such service.
pub trait App:
    tower::Service<
        Request<Incoming>,
        Response = Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<
            Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The default number of serving threads: the cores (`speedup serve
/// --workers`'s default too).
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A server to bind: its [`Config`], serving threads and application.
#[derive(Debug)]
#[must_use = "a builder does nothing until bound and served"]
pub struct ServerBuilder<F> {
    config: Config,
    workers: usize,
    make_app: F,
}

/// A server bound to its listening socket, ready to [`serve`](Server::serve).
#[derive(Debug)]
#[must_use = "a bound server serves nothing until `serve` runs"]
pub struct Server<A> {
    listener: StdListener,
    listening: Listening,
    workers: usize,
    config: Config,
    shared: Arc<Shared<A>>,
    /// A Unix socket's path, removed when the server is done.
    _path: Option<OwnPath>,
}

/// The socket file of a server on a Unix socket (none elsewhere).
#[cfg(unix)]
type OwnPath = crate::unix::OwnPath;
#[cfg(not(unix))]
type OwnPath = std::convert::Infallible;

/// Where a server listens; shown as a URL for TCP (`http://127.0.0.1:8000`)
/// and as `unix:PATH` for a Unix domain socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listening {
    /// A TCP address, with the port picked for port 0.
    Tcp(SocketAddr),
    /// A Unix domain socket's path.
    Unix(PathBuf),
}

impl fmt::Display for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listening::Tcp(addr) => write!(f, "http://{addr}"),
            Listening::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Server<Router> {
    /// A server for `config`, serving the article's application ([`app`])
    /// on [`default_workers`] threads unless told otherwise.
    pub fn builder(config: Config) -> ServerBuilder<fn(&Config) -> Router> {
        ServerBuilder {
            config,
            workers: default_workers(),
            make_app: app,
        }
    }
}

impl<F> ServerBuilder<F> {
    /// Serves on `workers` threads (at least 1), each a current-thread
    /// runtime with its own accept loop.
    pub fn workers(self, workers: usize) -> Self {
        Self { workers, ..self }
    }

    /// Serves the application `make_app` builds from the validated config,
    /// instead of [`app`]'s: tests wrap [`app`] in instrumentation this way.
    /// `config.threads`, `max_sleep` and the other application settings
    /// then reach the server only through what `make_app` does with them.
    pub fn app<G, A>(self, make_app: G) -> ServerBuilder<G>
    where
        G: FnOnce(&Config) -> A,
        A: App,
    {
        ServerBuilder {
            config: self.config,
            workers: self.workers,
            make_app,
        }
    }

    /// Checks the config, builds the application and binds `addr` (port 0
    /// picks a free one): a port another socket listens on is refused
    /// ("address in use"). Needs no runtime.
    pub fn bind<A>(self, addr: SocketAddr) -> Result<Server<A>, ServerError>
    where
        F: FnOnce(&Config) -> A,
        A: App,
    {
        self.check()?;
        let listener =
            bind(addr, self.workers).map_err(|source| ServerError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(ServerError::LocalAddr)?;
        Ok(self.build(StdListener::Tcp(listener), Listening::Tcp(local), None))
    }

    /// Like [`ServerBuilder::bind`], on a Unix domain socket at `path`: a
    /// path that exists and is not a socket is refused and left as it is
    /// (`AlreadyExists`), as is a socket a server listens on (`AddrInUse`);
    /// a stale socket (nothing listens on it) is replaced. The socket is
    /// removed once [`Server::serve`] returns (or the server is dropped),
    /// if the path still holds it.
    #[cfg(unix)]
    pub fn bind_unix<A>(self, path: impl AsRef<Path>) -> Result<Server<A>, ServerError>
    where
        F: FnOnce(&Config) -> A,
        A: App,
    {
        self.check()?;
        let path = path.as_ref();
        let (listener, own) =
            crate::unix::bind_unix(path, self.workers).map_err(|source| ServerError::BindUnix {
                path: path.to_owned(),
                source,
            })?;
        let listening = Listening::Unix(path.to_owned());
        Ok(self.build(StdListener::Unix(listener), listening, Some(own)))
    }

    /// Checks the config and the number of serving threads.
    fn check(&self) -> Result<(), ServerError> {
        self.config.validate()?;
        if self.workers == 0 {
            return Err(ServerError::InvalidConfig {
                setting: "workers",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }

    /// The server on its bound `listener`, with the application built.
    fn build<A>(
        self,
        listener: StdListener,
        listening: Listening,
        path: Option<OwnPath>,
    ) -> Server<A>
    where
        F: FnOnce(&Config) -> A,
        A: App,
    {
        let app = (self.make_app)(&self.config);
        Server {
            listener,
            listening,
            workers: self.workers,
            shared: Arc::new(Shared::new(app, &self.config, self.workers)),
            config: self.config,
            _path: path,
        }
    }
}

/// Live counts of a server, for diagnostics and tests; valid after the
/// server has stopped too.
#[derive(Debug, Clone)]
pub struct Stats {
    idle: Arc<IdleRegistry>,
    accept_failures: Arc<AtomicU64>,
    serving_threads: Arc<AtomicUsize>,
}

impl Stats {
    /// Serving threads whose accept loop runs now: all of them (see
    /// [`Server::workers`]) once the server has started, none once it has
    /// stopped.
    pub fn serving_threads(&self) -> usize {
        self.serving_threads.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.idle.open_and_busy().0
    }

    /// Connections open now and not idle: serving a request (or evicted at
    /// the cap and closing).
    pub fn busy_connections(&self) -> usize {
        self.idle.open_and_busy().1
    }

    /// Accepts that have failed for a reason other than the connection's
    /// own (out of file descriptors, say), since the server started.
    pub fn accept_failures(&self) -> u64 {
        self.accept_failures.load(Ordering::Relaxed)
    }
}

/// How [`Server::serve`] ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "threads stuck in a handler stop only when the process ends"]
pub struct Stopped {
    /// Serving threads still inside a handler when the grace period (or
    /// the cut) ran out: a handler that blocks its thread (the `/stall` and
    /// `/async/fibo` mistakes) cannot be interrupted, so the server stopped
    /// waiting for them. Only the end of the process stops them.
    pub stuck_threads: usize,
    /// Connections those threads still hold, which the end of the process
    /// cuts.
    pub connections_cut: usize,
    /// Of those, the ones with a request in progress.
    pub requests_cut: usize,
}

impl<A: App> Server<A> {
    /// The TCP address the server listens on (with the port picked for
    /// port 0); none for a Unix socket's.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self.listening {
            Listening::Tcp(addr) => Some(addr),
            Listening::Unix(_) => None,
        }
    }

    /// Where the server listens.
    pub fn listening(&self) -> &Listening {
        &self.listening
    }

    /// How many serving threads [`Server::serve`] runs.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// A handle on the server's live counts.
    pub fn stats(&self) -> Stats {
        Stats {
            idle: Arc::clone(&self.shared.idle),
            accept_failures: Arc::clone(&self.shared.accept_failures),
            serving_threads: Arc::clone(&self.shared.serving_threads),
        }
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully: stop
    /// accepting, answer connections waiting in the backlog 503, finish
    /// the requests in progress within `config.grace` (at once if `cut`
    /// resolves after `shutdown`), close the rest.
    ///
    /// Call it from any runtime (it relays the two signals and waits). It
    /// returns once every thread's loop has stopped, or, if some thread is
    /// stuck inside a handler, [`CLOSE_MARGIN`] after the grace period (or
    /// the cut): the connections still waiting in the backlog are then
    /// answered 503 and [`Stopped`] says what is left, for the caller to
    /// end the process.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()>,
        cut: impl Future<Output = ()>,
    ) -> Result<Stopped, ServerError> {
        announce(&self.listening, self.workers, &self.config);
        // A duplicate kept to answer the backlog should every thread be
        // stuck at the end; closed as soon as every thread has closed its
        // own, so that new connections are refused from then on.
        let spare = self.listener.try_clone().ok();
        let (phase, watched) = watch::channel(Phase::Serving);
        let (mut threads, failure) = self.start_threads(&watched);
        // Each thread holds its own duplicate now.
        drop(self.listener);
        let mut relay = Relay {
            phase,
            grace: self.config.grace,
            shared: &self.shared,
            spare,
            failure,
            drained: Drained::default(),
            cut_by_signal: false,
        };
        let stuck_threads = relay.wait_for_threads(&mut threads, shutdown, cut).await;
        if let Some(failure) = relay.failure {
            return Err(failure);
        }
        let mut stopped = Stopped {
            stuck_threads,
            ..Stopped::default()
        };
        if stuck_threads > 0 {
            (stopped.connections_cut, stopped.requests_cut) = self.shared.idle.open_and_busy();
            if let Some(spare) = relay.spare {
                relay.drained.refused += refuse_waiting(spare, &self.shared.settings).await;
            }
        }
        let summary = Summary {
            drained: relay.drained,
            stopped,
            by_signal: relay.cut_by_signal || relay.drained.cut_short,
            grace: self.config.grace,
        };
        summary.log();
        Ok(stopped)
    }

    /// Spawns the serving threads, each on its own duplicate of the
    /// listening socket; the first failure to start one stops there.
    fn start_threads(
        &self,
        phase: &watch::Receiver<Phase>,
    ) -> (JoinSet<Served>, Option<ServerError>) {
        let mut threads = JoinSet::new();
        for index in 0..self.workers {
            let started = self.listener.try_clone().and_then(|listener| {
                let shared = Arc::clone(&self.shared);
                self.shared.listeners_open.fetch_add(1, Ordering::SeqCst);
                spawn(index, listener, shared, phase.clone(), self.config.threads)
            });
            match started {
                Ok(finished) => {
                    threads.spawn(async move {
                        finished.await.unwrap_or_else(|_| {
                            Err(ServerError::Thread(io::Error::other("panicked")))
                        })
                    });
                }
                Err(error) => return (threads, Some(ServerError::Thread(error))),
            }
        }
        (threads, None)
    }
}

/// Logs the settings at debug level (the caller says where it listens),
/// and the timer's precision if in doubt.
fn announce(listening: &Listening, workers: usize, config: &Config) {
    if let Some(warning) = speedup_timer::precision_warning() {
        tracing::warn!("{warning}");
    }
    tracing::debug!(
        "serving {listening} on {workers} thread(s) (threads {}, max sleep {}s, \
         keep-alive {:?}, first-byte timeout {:?}, header timeout {:?}, max header bytes {}, \
         max HTTP/2 streams {}, max connections {}, grace {:?})",
        config.threads,
        config.max_sleep,
        config.keep_alive,
        config.first_byte_timeout,
        config.header_timeout,
        config.max_header_bytes,
        config.max_streams,
        config.max_connections,
        config.grace,
    );
}
