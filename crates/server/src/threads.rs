//! Thread per core: one current-thread runtime per thread, each accepting on
//! its own duplicate of one listening socket.
//!
//! A request lives on one connection, and a connection needs nothing from
//! other connections, so a work-stealing runtime buys nothing here and costs
//! cross-thread wake-ups (futex calls, context switches) and task migration
//! on every request. Instead each thread runs a current-thread runtime and
//! its own accept loop on a duplicate (`dup`) of one listening socket.
//!
//! One socket rather than one `SO_REUSEPORT` socket per thread: with the
//! option, any other process of the same user could bind the same port and
//! silently take a share of the connections (a second `speedup serve`
//! started by mistake did). Without it the port is ours alone, and a second
//! server is refused with "address in use". What it costs: the threads share
//! one accept queue, so the kernel no longer spreads connections evenly;
//! every thread waiting in its reactor is woken by each new connection and
//! the first to call `accept` takes it (the others find nothing). A thread
//! busy in a handler takes no new connections while the others do, instead
//! of the kernel queueing a share behind it; under light load an idle thread
//! may take more than its share (a keep-alive connection stays with it).
//!
//! What stays global is what must: the application (its FIFO blocking pool,
//! so at most `threads` blocking sleeps run at once whichever runtime asked),
//! the connection cap and idle list (one cap for the server), and shutdown.
//! Shutdown is the same as [`crate::serve_until`]'s, in every loop at once:
//! stop accepting, finish in-flight requests within `grace` (or stop when
//! `cut` resolves), close the rest.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::listener::{listen, refuse_waiting, BACKLOG};
use crate::server::{accept_loop, announce, Shared};
use crate::{Config, ServerError};

/// Blocking threads each runtime may use besides the sleep pool's share
/// (incidental blocking work such as DNS lookups).
const SPARE_BLOCKING_THREADS: usize = 16;

/// How long a thread's exit may wait for blocking sleeps still running after
/// its loop stopped (past `grace`): not at all, in effect.
const RUNTIME_EXIT_TIMEOUT: Duration = Duration::from_millis(500);

/// Once the serving threads are told to cut (at the end of the grace period,
/// or at the second signal), how long they get to close their connections
/// before the ones still inside a handler are left behind.
pub const CLOSE_MARGIN: Duration = Duration::from_millis(500);

/// Binds one listening socket on `addr` and returns it with `count - 1`
/// duplicates, one per serving thread. Without `SO_REUSEPORT`, so binding a
/// port another socket listens on fails ("address in use") whatever that
/// socket's options; the backlog is [`BACKLOG`] per thread, as deep in all
/// as one socket per thread had.
///
/// Port 0 picks a free port.
pub async fn bind_each(addr: SocketAddr, count: usize) -> Result<Vec<TcpListener>, ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let count = count.max(1);
    let backlog = u32::try_from(count)
        .unwrap_or(u32::MAX)
        .saturating_mul(BACKLOG);
    let first = listen(addr, backlog).map_err(bind_error)?;
    let mut listeners = Vec::with_capacity(count);
    for _ in 1..count {
        let copy = duplicate(&first).map_err(bind_error)?;
        listeners.push(TcpListener::from_std(copy).map_err(bind_error)?);
    }
    listeners.insert(0, first);
    Ok(listeners)
}

/// A duplicate of a listening socket: the same socket, one more descriptor.
fn duplicate(listener: &TcpListener) -> std::io::Result<std::net::TcpListener> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = listener.as_fd().try_clone_to_owned()?;
        Ok(std::net::TcpListener::from(fd))
    }
    #[cfg(not(unix))]
    {
        let _ = listener;
        Err(std::io::Error::other("duplicating a listener needs unix"))
    }
}

/// How [`serve_threads`] ended.
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

/// The shutdown phases every serving thread watches.
const SERVING: u8 = 0;
const GRACEFUL: u8 = 1;
const CUT: u8 = 2;

/// Serves `router` on one thread per listener (see [`bind_each`]), each with
/// a current-thread runtime, until `shutdown`; then shuts down gracefully as
/// [`crate::serve_until`] does, at once if `cut` resolves.
///
/// Call it from any runtime (it relays the two signals and waits). It
/// returns once every thread's loop has stopped, or, if some thread is stuck
/// inside a handler, [`CLOSE_MARGIN`] after the grace period (or the cut):
/// the connections still waiting in the backlog are then answered 503 and
/// [`Stopped`] says what is left, for the caller to end the process.
pub async fn serve_threads(
    listeners: Vec<TcpListener>,
    router: Router,
    config: Config,
    shutdown: impl Future<Output = ()>,
    cut: impl Future<Output = ()>,
) -> Result<Stopped, ServerError> {
    config.validate()?;
    let first = listeners.first().ok_or(ServerError::InvalidConfig {
        setting: "listeners",
        reason: "at least one listening socket is needed".to_owned(),
    })?;
    announce(first.local_addr().map_err(ServerError::LocalAddr)?, &config);
    // Kept to answer the backlog should every thread be stuck at the end.
    let spare = duplicate(first).ok();
    let shared = Arc::new(Shared::new(router, &config));
    let (phase, watched) = watch::channel(SERVING);
    let mut threads = JoinSet::new();
    let mut failure = None;
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, finished) = oneshot::channel();
        let spawned = listener.into_std().and_then(|listener| {
            let shared = Arc::clone(&shared);
            let watched = watched.clone();
            let blocking = config.threads.saturating_add(SPARE_BLOCKING_THREADS);
            std::thread::Builder::new()
                .name(format!("speedup-serve-{index}"))
                .spawn(move || serve_on_this_thread(listener, shared, watched, blocking, done))
        });
        match spawned {
            Ok(_) => {
                threads.spawn(async move {
                    finished.await.unwrap_or_else(|_| {
                        Err(ServerError::Thread(std::io::Error::other("panicked")))
                    })
                });
            }
            Err(error) => {
                failure = Some(ServerError::Thread(error));
                break;
            }
        }
    }
    let signals = Signals {
        grace: config.grace,
        shutdown,
        cut,
    };
    let stuck_threads = wait_for_threads(&mut threads, &phase, signals, &mut failure).await;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let mut stopped = Stopped {
        stuck_threads,
        ..Stopped::default()
    };
    if stuck_threads > 0 {
        (stopped.connections_cut, stopped.requests_cut) = shared.held();
        if let Some(spare) = spare {
            refuse_waiting(&spare, shared.settings()).await;
        }
    }
    Ok(stopped)
}

/// What stops the serving threads: `shutdown`, then `grace` for their
/// requests, or `cut` (after `shutdown`) to stop at once.
struct Signals<S, C> {
    grace: Duration,
    shutdown: S,
    cut: C,
}

/// Relays `signals` to the serving threads (`phase`) and waits for their
/// loops to end; returns how many had not when the server stopped waiting:
/// [`CLOSE_MARGIN`] after they were told to cut (at the end of the grace
/// period, at `cut`, or at once if one of them failed, into `failure`).
async fn wait_for_threads<S, C>(
    threads: &mut JoinSet<Result<(), ServerError>>,
    phase: &watch::Sender<u8>,
    signals: Signals<S, C>,
    failure: &mut Option<ServerError>,
) -> usize
where
    S: Future<Output = ()>,
    C: Future<Output = ()>,
{
    let mut shutdown = std::pin::pin!(signals.shutdown);
    let mut cut = std::pin::pin!(signals.cut);
    let (mut signalled, mut cut_signalled) = (false, false);
    // When the loops are (to be) told to cut, and whether they have been.
    let mut cut_at = failure.as_ref().map(|_| Instant::now());
    let mut cutting = false;
    loop {
        let wake = cut_at.map(|at| if cutting { at + CLOSE_MARGIN } else { at });
        tokio::select! {
            biased;
            joined = threads.join_next() => match joined {
                None => return 0,
                Some(joined) => {
                    let served = joined.unwrap_or_else(|error| {
                        Err(ServerError::Thread(std::io::Error::other(error)))
                    });
                    if let Err(error) = served {
                        // One thread failing stops the others.
                        failure.get_or_insert(error);
                        cut_at = Some(Instant::now());
                    }
                }
            },
            () = &mut shutdown, if !signalled => {
                signalled = true;
                phase.send_if_modified(|now| {
                    let was = *now;
                    *now = was.max(GRACEFUL);
                    was < GRACEFUL
                });
                cut_at.get_or_insert(Instant::now() + signals.grace);
            }
            () = &mut cut, if signalled && !cut_signalled => {
                cut_signalled = true;
                cut_at = Some(cut_at.map_or_else(Instant::now, |at| at.min(Instant::now())));
            }
            () = sleep_until_some(wake) => {
                if cutting {
                    return threads.len();
                }
                phase.send_replace(CUT);
                cutting = true;
            }
        }
    }
}

/// Sleeps until `deadline`, forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// One serving thread: its runtime and its accept loop, whose end it
/// reports on `done`; then a short wait for blocking sleeps still running.
fn serve_on_this_thread(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    phase: watch::Receiver<u8>,
    blocking_threads: usize,
    done: oneshot::Sender<Result<(), ServerError>>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(blocking_threads)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = done.send(Err(ServerError::Thread(error)));
            return;
        }
    };
    let reached = |phase: &watch::Receiver<u8>, at: u8| {
        let mut phase = phase.clone();
        async move {
            // A dropped sender (the caller gone) counts as reaching it.
            let _ = phase.wait_for(|now| *now >= at).await;
        }
    };
    let (graceful, cut) = (reached(&phase, GRACEFUL), reached(&phase, CUT));
    // The loop runs as a spawned task, not as `block_on`'s own future:
    // waking that one (a connection finished, the listener is readable)
    // always writes the runtime's eventfd, even from its own thread, one
    // syscall per connection; a task woken on its own thread is queued.
    let served = runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(ServerError::Thread)?;
        // This thread's async sleeps on its own timer: woken here, with no
        // timer thread in between.
        let _timer = speedup_timer::install_local().map_err(ServerError::Timer)?;
        tokio::spawn(async move { accept_loop(listener, &shared, graceful, cut).await })
            .await
            .map_err(|error| ServerError::Thread(std::io::Error::other(error)))
    });
    // Reported before the runtime goes: nothing of this thread's is serving.
    let _ = done.send(served);
    // A blocking sleep past the grace period must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_EXIT_TIMEOUT);
}
