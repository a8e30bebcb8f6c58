//! CPU-bound work (the series' parts 2 and 3): naive Fibonacci, the pool
//! that runs it off the runtime, and the optional global lock (`--gil`).
//!
//! * [`fibo`] is the article's recursion, kept real with `black_box` so the
//!   compiler cannot fold it: each call costs what it costs in Python, only
//!   faster.
//! * [`CpuPool`] is Rust's answer to `ProcessPoolExecutor`: a few OS threads
//!   (default one per core) fed from one FIFO queue. Threads are enough
//!   because nothing stops Rust threads from computing in parallel...
//! * ...unless [`Gil`] is on: one global lock held while computing (released
//!   while sleeping), which is what CPython's GIL does to FastAPI's 40
//!   threads, and why Python needs processes.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use crate::errors::{ApiError, Invalid};
use crate::metrics::{Held, PoolGauges};
use crate::pyint::{self, IntError};

/// The largest `--max-fibo`: naive `fibo(50)` already takes about a minute.
pub const MAX_FIBO_LIMIT: u32 = 50;

/// The naive recursive Fibonacci of part 2 (`fibo(30) == 832040`).
pub fn fibo(n: u32) -> u64 {
    let n = std::hint::black_box(n);
    if n < 2 {
        return u64::from(n);
    }
    fibo(n - 1) + fibo(n - 2)
}

/// Parses and bounds `{n}` of the fibo endpoints as FastAPI's `n: int`
/// would, refusing negatives and anything above `max` (`--max-fibo`).
pub(crate) fn validate(input: &str, max: u32) -> Result<u32, ApiError> {
    let invalid = |problem| ApiError::Invalid {
        problem,
        input: input.to_owned(),
    };
    let n = pyint::parse(input).map_err(|error| {
        invalid(match error {
            IntError::Parsing => Invalid::IntParsing,
            IntError::Size => Invalid::IntParsingSize,
        })
    })?;
    if n > i64::from(max) {
        return Err(invalid(Invalid::IntLessThanEqual(i64::from(max))));
    }
    u32::try_from(n).map_err(|_| invalid(Invalid::IntGreaterThanEqual(0)))
}

/// The body of `/baseline/fibo` and friends: the number as a JSON string.
pub(crate) fn fibo_body(value: u64) -> String {
    format!("\"{value}\"")
}

/// Part 3's sleep: `x = fibo(n) / 1_000_000` seconds (exact for every
/// bounded `n`, as Python's true division is).
pub(crate) fn fibo_seconds(value: u64) -> f64 {
    value as f64 / 1_000_000.0
}

/// The body of the `fibo_sleep` endpoints: `"hello after {x}s of sleep"`
/// with `x` in Python's float format.
pub(crate) fn fibo_sleep_body(seconds: f64) -> String {
    format!(
        "\"hello after {}s of sleep\"",
        crate::pyfloat::format(seconds)
    )
}

/// The optional global interpreter lock: `None` computes freely.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gil {
    lock: Option<Arc<Mutex<()>>>,
    waits: Counter,
}

impl Gil {
    /// A lock when `on`, counting waits in `waits`.
    pub(crate) fn new(on: bool, waits: Counter) -> Self {
        Self {
            lock: on.then(|| Arc::new(Mutex::new(()))),
            waits,
        }
    }

    /// Computes `fibo(n)`, holding the lock (if any) for exactly that long.
    pub(crate) fn fibo(&self, n: u32) -> u64 {
        let _held = self.acquire();
        fibo(n)
    }

    fn acquire(&self) -> Option<MutexGuard<'_, ()>> {
        let lock = self.lock.as_ref()?;
        // A panic while computing cannot leave `()` inconsistent.
        Some(lock.try_lock().unwrap_or_else(|_| {
            self.waits.inc();
            lock.lock().unwrap_or_else(PoisonError::into_inner)
        }))
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Jobs waiting for a thread, and whether the pool is closing.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// A fixed pool of OS threads for CPU-bound work, fed first come first
/// served. The threads start with the first job (a server that never
/// computes holds none) and exit when the pool is dropped.
pub(crate) struct CpuPool {
    shared: Arc<Shared>,
    gauges: PoolGauges,
    threads: usize,
    /// How many threads did start (spawning can fail under a thread limit).
    started: OnceLock<usize>,
}

impl std::fmt::Debug for CpuPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPool").finish_non_exhaustive()
    }
}

impl CpuPool {
    /// A pool of `threads` threads (validated `>= 1` by [`crate::Config`]).
    pub(crate) fn new(threads: usize, gauges: PoolGauges) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                ready: Condvar::new(),
            }),
            gauges,
            threads,
            started: OnceLock::new(),
        }
    }

    /// Spawns the threads; returns how many started.
    fn start(&self) -> usize {
        let mut started = 0;
        for index in 0..self.threads {
            let shared = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name(format!("speedup-cpu-{index}"))
                .spawn(move || work(&shared));
            match spawned {
                Ok(_) => started += 1,
                Err(error) => {
                    tracing::warn!("CPU pool: thread {index} did not start: {error}");
                    break;
                }
            }
        }
        started
    }

    /// Runs `job` on a pool thread and waits for its result without holding
    /// a runtime thread. A request that goes away while queued is skipped
    /// when its turn comes.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        if *self.started.get_or_init(|| self.start()) == 0 {
            return Err(ApiError::Internal);
        }
        let (tx, rx) = oneshot::channel();
        let queued = Held::new(&self.gauges.queued);
        let busy = self.gauges.busy.clone();
        let job: Job = Box::new(move || {
            drop(queued);
            if tx.is_closed() {
                return;
            }
            // The thread is busy until the job is done, not until the answer
            // is sent: a scrape right after the answer must see it free.
            let result = {
                let _busy = Held::new(&busy);
                job()
            };
            let _ = tx.send(result);
        });
        lock(&self.shared.queue).jobs.push_back(job);
        self.shared.ready.notify_one();
        rx.await.map_err(|_| ApiError::Internal)
    }
}

impl Drop for CpuPool {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.ready.notify_all();
    }
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One pool thread: take the oldest job, run it, repeat until closed. A
/// panicking job drops its result sender (the request answers 500) and the
/// thread carries on.
fn work(shared: &Shared) {
    loop {
        let job = {
            let mut queue = lock(&shared.queue);
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str) -> Option<Invalid> {
        match validate(input, 40) {
            Err(ApiError::Invalid { problem, .. }) => Some(problem),
            _ => None,
        }
    }

    #[test]
    fn fibo_matches_part_two() {
        assert_eq!(fibo(0), 0);
        assert_eq!(fibo(1), 1);
        assert_eq!(fibo(20), 6765);
        assert_eq!(fibo(30), 832_040);
        assert_eq!(fibo_body(fibo(30)), "\"832040\"");
    }

    #[test]
    fn fibo_sleep_body_is_part_threes() {
        assert_eq!(
            fibo_sleep_body(fibo_seconds(fibo(20))),
            "\"hello after 0.006765s of sleep\""
        );
        assert_eq!(
            fibo_sleep_body(fibo_seconds(fibo(0))),
            "\"hello after 0.0s of sleep\""
        );
        assert_eq!(
            fibo_sleep_body(fibo_seconds(fibo(40))),
            "\"hello after 102.334155s of sleep\""
        );
    }

    #[test]
    fn validates_like_fastapi_with_bounds() {
        assert_eq!(validate(" 3_0.0 ", 40), Ok(30));
        assert_eq!(validate("40", 40), Ok(40));
        assert_eq!(problem("41"), Some(Invalid::IntLessThanEqual(40)));
        assert_eq!(
            problem("99999999999999999999"),
            Some(Invalid::IntLessThanEqual(40))
        );
        assert_eq!(problem("-1"), Some(Invalid::IntGreaterThanEqual(0)));
        assert_eq!(problem("30.5"), Some(Invalid::IntParsing));
        assert_eq!(problem(&"1".repeat(4301)), Some(Invalid::IntParsingSize));
    }

    #[tokio::test]
    async fn pool_runs_jobs_and_survives_a_panic() {
        let pool = CpuPool::new(1, PoolGauges::default());
        assert_eq!(pool.run(|| fibo(10)).await, Ok(55));
        let panicked = pool.run(|| -> u64 { panic!("boom") }).await;
        assert_eq!(panicked, Err(ApiError::Internal));
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[test]
    fn gil_counts_waits_only_when_on() {
        let waits = Counter::default();
        let gil = Gil::new(true, waits.clone());
        let held = gil.acquire();
        let other = gil.clone();
        let thread = std::thread::spawn(move || other.fibo(5));
        while waits.get() == 0 {
            std::thread::yield_now();
        }
        drop(held);
        assert_eq!(thread.join().ok(), Some(5));
        assert_eq!(Gil::new(false, Counter::default()).fibo(10), 55);
    }
}
