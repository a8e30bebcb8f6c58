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

use crate::server::{accept_loop, announce, listen, Shared, BACKLOG};
use crate::{Config, ServerError};

/// Blocking threads each runtime may use besides the sleep pool's share
/// (incidental blocking work such as DNS lookups).
const SPARE_BLOCKING_THREADS: usize = 16;

/// How long a thread's exit may wait for blocking sleeps still running after
/// its loop stopped (past `grace`): not at all, in effect.
const RUNTIME_EXIT_TIMEOUT: Duration = Duration::from_millis(500);

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

/// Serves `router` on one thread per listener (see [`bind_each`]), each with
/// a current-thread runtime, until `shutdown`; then shuts down gracefully as
/// [`crate::serve_until`] does, at once if `cut` resolves.
///
/// Call it from any runtime (it only relays the two signals and waits);
/// returns once every thread has stopped.
pub async fn serve_threads(
    listeners: Vec<TcpListener>,
    router: Router,
    config: Config,
    shutdown: impl Future<Output = ()>,
    cut: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.validate()?;
    let first = listeners.first().ok_or(ServerError::InvalidConfig {
        setting: "listeners",
        reason: "at least one listening socket is needed".to_owned(),
    })?;
    announce(first.local_addr().map_err(ServerError::LocalAddr)?, &config);
    let shared = Arc::new(Shared::new(router, &config));
    // 0: serving, 1: shutting down gracefully, 2: cut.
    let (phase, watched) = watch::channel(0u8);
    let mut finished = Vec::with_capacity(listeners.len());
    let mut failure = None;
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, waiting) = oneshot::channel();
        let spawned = listener.into_std().and_then(|listener| {
            let shared = Arc::clone(&shared);
            let watched = watched.clone();
            let blocking = config.threads.saturating_add(SPARE_BLOCKING_THREADS);
            std::thread::Builder::new()
                .name(format!("speedup-serve-{index}"))
                .spawn(move || {
                    let served = serve_on_this_thread(listener, shared, watched, blocking);
                    let _ = done.send(served);
                })
        });
        match spawned {
            Ok(_) => finished.push(waiting),
            Err(error) => {
                failure = Some(ServerError::Thread(error));
                break;
            }
        }
    }
    if failure.is_some() {
        phase.send_replace(2);
    }
    let relay = async {
        shutdown.await;
        phase.send_if_modified(|now| {
            let was = *now;
            *now = was.max(1);
            was < 1
        });
        cut.await;
        phase.send_replace(2);
        std::future::pending::<()>().await;
    };
    let join = async {
        for waiting in finished {
            let served = waiting
                .await
                .unwrap_or_else(|_| Err(ServerError::Thread(std::io::Error::other("panicked"))));
            if let Err(error) = served {
                // One thread failing stops the others.
                phase.send_replace(2);
                failure.get_or_insert(error);
            }
        }
    };
    tokio::select! {
        () = relay => {}
        () = join => {}
    }
    failure.map_or(Ok(()), Err)
}

/// One serving thread: its runtime, its accept loop, then a short wait for
/// blocking sleeps still running.
fn serve_on_this_thread(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    phase: watch::Receiver<u8>,
    blocking_threads: usize,
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(blocking_threads)
        .enable_all()
        .build()
        .map_err(ServerError::Thread)?;
    let reached = |phase: &watch::Receiver<u8>, at: u8| {
        let mut phase = phase.clone();
        async move {
            // A dropped sender (the caller gone) counts as reaching it.
            let _ = phase.wait_for(|now| *now >= at).await;
        }
    };
    let (graceful, cut) = (reached(&phase, 1), reached(&phase, 2));
    // The loop runs as a spawned task, not as `block_on`'s own future:
    // waking that one (a connection finished, the listener is readable)
    // always writes the runtime's eventfd, even from its own thread, one
    // syscall per connection; a task woken on its own thread is queued.
    let served = runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).map_err(ServerError::Thread)?;
        // This thread's async sleeps on its own timer: woken here, with no
        // timer thread in between.
        let _timer = crate::timer::install_local().map_err(ServerError::Timer)?;
        tokio::spawn(async move { accept_loop(listener, &shared, graceful, cut).await })
            .await
            .map_err(|error| ServerError::Thread(std::io::Error::other(error)))
    });
    // A blocking sleep past the grace period must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_EXIT_TIMEOUT);
    served
}
