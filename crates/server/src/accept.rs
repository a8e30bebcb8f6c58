//! The accept loop of one serving thread, and its drain at shutdown.
//!
//! * A semaphore of `max_connections` permits, shared by every loop of the
//!   server, is acquired *before* `accept`, so connections beyond the cap
//!   wait in the kernel's backlog instead of being accepted and starved
//!   (or exhausting file descriptors).
//! * Every connection runs in the loop's [`JoinSet`], so shutdown can wait
//!   for exactly the open connections and abort whatever is left when
//!   `grace` runs out: when [`accept_loop`] returns, nothing it started is
//!   still serving.
//! * Shutdown order: stop accepting, answer the connections still waiting
//!   in the backlog 503, drop the listener (so new connections are
//!   refused), tell every connection (see `conn`), wait up to `grace`,
//!   abort the rest.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::conn::{refuse, serve_connection, ConnSettings};
use crate::idle::{IdleRegistry, IdleShard};
use crate::listener::{peer_left, refuse_backlog};
use crate::socket::{Listener, Peer, Stream};
use crate::throttle::Throttle;
use crate::watchdog::Activity;
use crate::{App, Config};

/// Pause after an accept error such as "too many open files", so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// At most one accept-error warning this often (the rest are counted).
const WARN_EVERY: Duration = Duration::from_secs(5);

/// At the cap, how long to wait for an evicted connection's slot before
/// evicting another.
const EVICT_RETRY: Duration = Duration::from_millis(20);

/// What every accept loop of one server shares: the application, the
/// connection settings, and the connection cap with the idle registry (one
/// cap for the server, however many loops accept; a shard of the registry
/// per loop).
#[derive(Debug)]
pub(crate) struct Shared<A> {
    app: A,
    pub(crate) settings: Arc<ConnSettings>,
    limit: Arc<Semaphore>,
    pub(crate) idle: Arc<IdleRegistry>,
    grace: Duration,
    /// Whether connections waiting in the backlog may have waited there
    /// long (see [`accept`]): set when an accept has to wait for a slot,
    /// cleared when one below the cap finds the backlog empty.
    backlogged: AtomicBool,
    /// Accepts that failed for a reason other than the connection's own.
    pub(crate) accept_failures: Arc<AtomicU64>,
    /// Their warnings, at most one per [`WARN_EVERY`] for the server (not
    /// per thread: the condition is usually the process's).
    warnings: Mutex<Throttle>,
    /// Serving threads whose accept loop runs now.
    pub(crate) serving_threads: Arc<AtomicUsize>,
    /// Serving threads that still hold their duplicate of the listening
    /// socket (set as they start); the last to close it notifies
    /// `listeners_closed`, so that a duplicate kept elsewhere (see
    /// `server`) closes too and new connections are refused.
    pub(crate) listeners_open: AtomicUsize,
    pub(crate) listeners_closed: Notify,
}

impl<A> Shared<A> {
    /// The shared state of a server with a validated `config` and
    /// `workers` serving threads.
    pub(crate) fn new(app: A, config: &Config, workers: usize) -> Self {
        Self {
            app,
            settings: Arc::new(ConnSettings::new(config)),
            limit: Arc::new(Semaphore::new(config.max_connections)),
            idle: Arc::new(IdleRegistry::new(workers)),
            grace: config.grace,
            backlogged: AtomicBool::new(false),
            accept_failures: Arc::default(),
            warnings: Mutex::new(Throttle::new(WARN_EVERY)),
            serving_threads: Arc::default(),
            listeners_open: AtomicUsize::new(0),
            listeners_closed: Notify::new(),
        }
    }
}

impl<A> Shared<A> {
    /// One serving thread closed its listening socket.
    fn listener_closed(&self) {
        if self.listeners_open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.listeners_closed.notify_one();
        }
    }

    /// Counts a failed accept, and warns if none was warned about lately.
    fn accept_failed(&self, error: &io::Error) {
        self.accept_failures.fetch_add(1, Ordering::Relaxed);
        let allowed = self
            .warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(Instant::now());
        if let Some(suppressed) = allowed {
            tracing::warn!(
                "accept failed, retrying: {error} \
                 ({suppressed} more failure(s) since the last warning)"
            );
        }
    }
}

/// What one loop's shutdown came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Connections not served yet (waiting in the backlog, or accepted
    /// beyond the cap while room was being made) answered 503.
    pub(crate) refused: usize,
    /// Connections open when shutdown began.
    pub(crate) open: usize,
    /// Of those, the ones still open when the grace period ran out or the
    /// cut came, closed then.
    pub(crate) cut: usize,
    /// Whether the cut came before the grace period was over.
    pub(crate) cut_short: bool,
}

impl std::ops::AddAssign for Drained {
    fn add_assign(&mut self, other: Drained) {
        self.refused += other.refused;
        self.open += other.open;
        self.cut += other.cut;
        self.cut_short |= other.cut_short;
    }
}

/// Accepts and serves connections on `listener` until `shutdown`, then
/// shuts them down gracefully (or at once when `cut` resolves); returns when
/// none of them is left.
pub(crate) async fn accept_loop<A: App>(
    listener: Listener,
    shared: &Shared<A>,
    shard: &Arc<IdleShard>,
    shutdown: impl Future<Output = ()>,
    cut: impl Future<Output = ()>,
) -> Drained {
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    // An accept in progress may hold a connection while it makes room at
    // the cap: parked where shutdown finds it.
    let parked = Parked::default();
    {
        let serving = accept_until(
            &listener,
            shared,
            shard,
            &parked,
            &mut connections,
            stopping,
        );
        tokio::select! {
            biased;
            () = shutdown => {}
            () = serving => {}
        }
    }
    // Connections that ended but were not reaped yet are not open.
    while let Some(finished) = connections.try_join_next() {
        report(finished);
    }
    let open = connections.len();
    let mut refusals = JoinSet::new();
    let refused = refuse_waiting(listener, &parked, &shared.settings, &mut refusals);
    shared.listener_closed();
    // Details per thread; the server sums them up in one line (`summary`).
    tracing::debug!(
        "shutting down: stopped accepting (answered {refused} waiting connection(s) 503); \
         finishing {open} open connection(s) within {:?}",
        shared.grace,
    );
    stop.send_replace(true);
    let (cut, cut_short) = drain(&mut connections, &mut refusals, shared.grace, cut).await;
    Drained {
        refused,
        open,
        cut,
        cut_short,
    }
}

/// The loop proper: accepts and spawns each connection into `connections`
/// (reaping finished ones as it goes), forever; dropped at shutdown.
async fn accept_until<A: App>(
    listener: &Listener,
    shared: &Shared<A>,
    shard: &Arc<IdleShard>,
    parked: &Parked,
    connections: &mut JoinSet<()>,
    stopping: watch::Receiver<bool>,
) {
    // One accept in progress at a time, kept across loop turns: it may hold
    // an accepted connection while it makes room at the cap.
    let mut accepting = std::pin::pin!(accept(listener, shared, shard, parked));
    loop {
        tokio::select! {
            biased;
            Some(finished) = connections.join_next() => report(finished),
            accepted = accepting.as_mut() => {
                match accepted {
                    Ok((stream, peer, permit, activity)) => {
                        let task = serve_connection(
                            stream,
                            peer,
                            activity,
                            shared.app.clone(),
                            Arc::clone(&shared.settings),
                            stopping.clone(),
                        );
                        #[cfg(test)]
                        record_future_size(std::mem::size_of_val(&task));
                        connections.spawn(async move {
                            task.await;
                            drop(permit);
                        });
                    }
                    Err(error) if is_per_connection(&error) => {
                        tracing::debug!("accept: {error}");
                    }
                    Err(error) => {
                        shared.accept_failed(&error);
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                }
                accepting.set(accept(listener, shared, shard, parked));
            }
        }
    }
}

/// At shutdown: answers 503, through `refusals`, the connection parked at
/// the cap and those still waiting in the backlog, then closes the
/// listener; returns how many were answered.
fn refuse_waiting(
    listener: Listener,
    parked: &Parked,
    settings: &Arc<ConnSettings>,
    refusals: &mut JoinSet<()>,
) -> usize {
    let mut refused = 0;
    if let Some(stream) = lock(parked).take() {
        refusals.spawn(refuse(stream, Arc::clone(settings)));
        refused += 1;
    }
    // A plain non-blocking accept asks the kernel directly, whatever the
    // reactor has or has not seen yet.
    if let Ok(listener) = listener.into_std() {
        refused += refuse_backlog(&listener, settings, refusals);
    }
    refused
}

/// Waits up to `grace` for `connections` (and the `refusals` under way) to
/// finish, less if `cut` resolves first; aborts what is left. Returns how
/// many connections were cut, and whether by `cut`.
async fn drain(
    connections: &mut JoinSet<()>,
    refusals: &mut JoinSet<()>,
    grace: Duration,
    cut: impl Future<Output = ()>,
) -> (usize, bool) {
    let finished = async {
        while let Some(finished) = connections.join_next().await {
            report(finished);
        }
        while refusals.join_next().await.is_some() {}
    };
    let cut_short = tokio::select! {
        _ = tokio::time::timeout(grace, finished) => false,
        () = cut => true,
    };
    let cut = connections.len();
    connections.shutdown().await;
    refusals.shutdown().await;
    (cut, cut_short)
}

/// A connection accepted beyond the cap while room is being made for it.
type Parked = Mutex<Option<Stream>>;

fn lock(parked: &Parked) -> MutexGuard<'_, Option<Stream>> {
    parked.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits for a connection and a slot for it.
///
/// Below the cap, a connection is accepted only while a slot is free, so
/// while every connection is busy the ones beyond the cap wait in the
/// kernel's backlog. No slot is held while waiting: with one accept loop
/// per serving thread, slots held by waiting accepts would lower the cap
/// (and make room early) by one per thread. The slot is taken once the
/// connection is there; a connection that finds none left (another thread
/// took it meanwhile), or that came at the cap with a connection idle, is
/// accepted anyway and the connection idle the longest is closed to make
/// room: idle sockets must not starve clients with requests. The accepted
/// connection is listed as idle at once, so it can be evicted in turn if it
/// never sends anything.
///
/// A connection that waited in the backlog while the server was at its cap
/// may belong to a client that gave up and closed meanwhile: it is dropped
/// unserved (an error of that connection alone) rather than running its
/// request for nobody. Looking costs a syscall, so only connections that
/// may have waited are looked at: from an accept that had to wait for
/// room until one below the cap finds the backlog empty (the flag is
/// shared, as the backlog is).
async fn accept<A>(
    listener: &Listener,
    shared: &Shared<A>,
    shard: &Arc<IdleShard>,
    parked: &Parked,
) -> io::Result<(Stream, Peer, OwnedSemaphorePermit, Arc<Activity>)> {
    let at_cap = room(shared).await?;
    let (stream, peer) = next_connection(listener, &shared.backlogged, at_cap).await?;
    let (stream, permit) = match Arc::clone(&shared.limit).try_acquire_owned() {
        Ok(permit) => (stream, permit),
        Err(TryAcquireError::Closed) => return Err(io::Error::other("connection limit closed")),
        Err(TryAcquireError::NoPermits) => {
            // Parked where shutdown can find it (and answer it) should this
            // future be dropped while it waits for room.
            *lock(parked) = Some(stream);
            let permit = make_room(&shared.limit, &shared.idle).await?;
            match lock(parked).take() {
                Some(stream) => (stream, permit),
                None => return Err(io::Error::other("parked connection went missing")),
            }
        }
    };
    // Looked at once the slot is ours, just before serving: a connection
    // parked while room was made may have been left meanwhile.
    if shared.backlogged.load(Ordering::Relaxed) && peer_left(&stream) {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!("{peer} left while waiting in the backlog; closed unserved"),
        ));
    }
    let timeouts = shared.settings.timeouts;
    let activity = Activity::new(Arc::clone(shard), timeouts);
    Ok((stream, peer, permit, activity))
}

/// Waits until there is room for one more connection: at once below the
/// cap; at it, until a slot frees or a connection is idle (to be evicted
/// once the new one is accepted). Returns whether it had to wait, which
/// marks the backlog as possibly holding clients that waited
/// ([`Shared::backlogged`]).
async fn room<A>(shared: &Shared<A>) -> io::Result<bool> {
    let limit = &shared.limit;
    if limit.available_permits() > 0 {
        return Ok(false);
    }
    shared.backlogged.store(true, Ordering::Relaxed);
    tokio::select! {
        biased;
        // Released at once: taken again once the connection is accepted.
        permit = limit.acquire() => drop(permit.map_err(closed)?),
        () = shared.idle.until_any() => {}
    }
    Ok(true)
}

/// Accepts the next connection. Below the cap, an accept that finds nothing
/// waiting clears `backlogged`: whoever comes next arrives now.
async fn next_connection(
    listener: &Listener,
    backlogged: &AtomicBool,
    at_cap: bool,
) -> io::Result<(Stream, Peer)> {
    let mut first_poll = true;
    std::future::poll_fn(|cx| {
        let accepted = listener.poll_accept(cx);
        if std::mem::take(&mut first_poll) && accepted.is_pending() && !at_cap {
            backlogged.store(false, Ordering::Relaxed);
        }
        accepted
    })
    .await
}

/// At the cap: evicts idle connections, oldest first, until a slot frees.
async fn make_room(
    limit: &Arc<Semaphore>,
    idle: &IdleRegistry,
) -> io::Result<OwnedSemaphorePermit> {
    loop {
        if let Ok(permit) = Arc::clone(limit).try_acquire_owned() {
            return Ok(permit);
        }
        // An evicted connection frees its slot within moments; if it turned
        // busy instead, or nothing could be evicted yet (all busy, or idle
        // too briefly), look again after a short wait or when a connection
        // goes idle.
        let evicted = idle.evict_oldest();
        tokio::select! {
            permit = Arc::clone(limit).acquire_owned() => return permit.map_err(closed),
            () = idle.newly_idle(), if !evicted => {}
            () = tokio::time::sleep(EVICT_RETRY) => {}
        }
    }
}

fn closed(_: tokio::sync::AcquireError) -> io::Error {
    io::Error::other("connection limit semaphore closed")
}

/// Errors that concern one connection (gone before we accepted it), not the
/// listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Logs a connection task that panicked; a clean end needs no report.
fn report(finished: Result<(), JoinError>) {
    if let Err(error) = finished {
        if error.is_panic() {
            tracing::error!("connection task panicked: {error}");
        }
    }
}

/// The largest connection future spawned (tests keep it small: it is
/// copied into every task).
#[cfg(test)]
static FUTURE_SIZE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(test)]
fn record_future_size(size: usize) {
    FUTURE_SIZE.fetch_max(size, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Server;
    use std::net::SocketAddr;
    use tokio::net::TcpStream;

    /// A connection's future is moved into its task on every accept: keep
    /// big buffers out of it (boxed where rarely needed).
    #[tokio::test]
    async fn connection_futures_stay_small() {
        let server = Server::builder(Config::default())
            .workers(1)
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind");
        let addr = server.local_addr().expect("a TCP server");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async move {
            let _ = stopped.await;
        };
        let server = tokio::spawn(server.serve(stopped, std::future::pending()));
        let mut client = TcpStream::connect(addr).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.0\r\n\r\n")
            .await
            .expect("send");
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut client, &mut answer)
            .await
            .expect("answer");
        let _ = stop.send(());
        let stopped = server.await.expect("task").expect("clean stop");
        assert_eq!(stopped, crate::Stopped::default());
        let size = FUTURE_SIZE.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("connection future: {size} bytes");
        assert!(size > 0 && size < 3000, "connection future is {size} bytes");
    }
}
