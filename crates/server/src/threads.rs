//! Thread per core: one current-thread runtime per serving thread, each
//! accepting on its own duplicate of one listening socket.
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
//! the connection cap (one for the server) and shutdown, which every thread
//! watches through one [`Phase`]. The idle registry is one shard per thread
//! (see `idle`): a request touches only its own thread's, and only eviction
//! at the cap looks at the others.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::accept::{accept_loop, Drained, Shared};
use crate::socket::StdListener;
use crate::{App, ServerError};

/// Blocking threads each runtime may use besides the sleep pool's share
/// (incidental blocking work such as DNS lookups).
const SPARE_BLOCKING_THREADS: usize = 16;

/// How long a thread's exit may wait for blocking sleeps still running after
/// its loop stopped (past `grace`): not at all, in effect.
const RUNTIME_EXIT_TIMEOUT: Duration = Duration::from_millis(500);

/// The shutdown phases every serving thread watches, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Accepting and serving.
    Serving,
    /// Graceful shutdown: finish what started, within the grace period.
    Graceful,
    /// Close every connection now.
    Cut,
}

/// How a serving thread ended: its drain, or why it could not serve.
pub(crate) type Served = Result<Drained, ServerError>;

/// Starts serving thread number `index` on `listener` (a duplicate of the
/// server's socket); its end is reported on the returned channel.
pub(crate) fn spawn<A: App>(
    index: usize,
    listener: StdListener,
    shared: Arc<Shared<A>>,
    phase: watch::Receiver<Phase>,
    pool_threads: usize,
) -> std::io::Result<oneshot::Receiver<Served>> {
    let (done, finished) = oneshot::channel();
    let blocking = pool_threads.saturating_add(SPARE_BLOCKING_THREADS);
    std::thread::Builder::new()
        .name(format!("speedup-serve-{index}"))
        .spawn(move || serve_on_this_thread(index, listener, shared, phase, blocking, done))?;
    Ok(finished)
}

/// One serving thread: its runtime and its accept loop, whose end it
/// reports on `done`; then a short wait for blocking sleeps still running.
fn serve_on_this_thread<A: App>(
    index: usize,
    listener: StdListener,
    shared: Arc<Shared<A>>,
    phase: watch::Receiver<Phase>,
    blocking_threads: usize,
    done: oneshot::Sender<Served>,
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
    let (graceful, cut) = (
        reached(&phase, Phase::Graceful),
        reached(&phase, Phase::Cut),
    );
    // The loop runs as a spawned task, not as `block_on`'s own future:
    // waking that one (a connection finished, the listener is readable)
    // always writes the runtime's eventfd, even from its own thread, one
    // syscall per connection; a task woken on its own thread is queued.
    let served = runtime.block_on(async move {
        let listener = listener.into_tokio().map_err(ServerError::Thread)?;
        // This thread's async sleeps on its own timer: woken here, with no
        // timer thread in between.
        let _timer = speedup_timer::install_local().map_err(ServerError::Timer)?;
        let serving = Arc::clone(&shared.serving_threads);
        serving.fetch_add(1, Ordering::SeqCst);
        let served = tokio::spawn(async move {
            // This thread's connections are listed in its own shard.
            let shard = Arc::clone(shared.idle.shard(index));
            accept_loop(listener, &shared, &shard, graceful, cut).await
        })
        .await
        .map_err(|error| ServerError::Thread(std::io::Error::other(error)));
        serving.fetch_sub(1, Ordering::SeqCst);
        served
    });
    // Reported before the runtime goes: nothing of this thread's is serving.
    let _ = done.send(served);
    // A blocking sleep past the grace period must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_EXIT_TIMEOUT);
}

/// Resolves once `phase` reaches `at`; a dropped sender (the caller gone)
/// counts as reaching it.
fn reached(phase: &watch::Receiver<Phase>, at: Phase) -> impl std::future::Future<Output = ()> {
    let mut phase = phase.clone();
    async move {
        let _ = phase.wait_for(|now| *now >= at).await;
    }
}
