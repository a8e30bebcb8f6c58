//! The two concurrency models the article compares, for sleeping.
//!
//! * Baseline (`def` handler): FastAPI runs it on anyio's thread pool, capped
//!   at 40 threads; request 41 waits for a free thread. [`BlockingPool`]
//!   reproduces that with a fair (FIFO) semaphore of `threads` permits in
//!   front of tokio's blocking pool, where `std::thread::sleep` really holds
//!   an OS thread. Runtime worker threads never block.
//! * Async (`async def` handler): a timer (a deadline set per serving
//!   thread, see `speedup_timer`); nothing is held while waiting, so every request
//!   sleeps concurrently.
//!
//! Both validate `{n}` first (see [`validate`]) so no request can sleep a
//! negative, infinite or overlong time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::context::Stopping;
use crate::errors::{ApiError, Invalid};
use crate::metrics::{Held, PoolGauges};
use crate::pyfloat;

/// A validated sleep request: the float FastAPI would have seen, and how
/// long to sleep for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sleep {
    /// The parsed value, kept for echoing it back in Python's format.
    pub(crate) seconds: f64,
    /// The same value as a duration (`-0.0` sleeps zero).
    pub(crate) duration: Duration,
}

impl Sleep {
    /// The 200 body: the JSON string FastAPI returns, with `n` formatted as
    /// Python's `str(float)`.
    pub(crate) fn body(&self) -> String {
        format!(
            "\"hello world after {}s of sleep\"",
            pyfloat::format(self.seconds)
        )
    }
}

/// Parses and bounds the `{n}` path segment (already percent-decoded).
///
/// Order as in pydantic: parse (`float_parsing`), then finiteness
/// (`finite_number`), then upper bound, then lower bound.
pub(crate) fn validate(input: &str, max_sleep: f64) -> Result<Sleep, ApiError> {
    let invalid = |problem| ApiError::Invalid {
        problem,
        input: input.to_owned(),
    };
    let seconds = pyfloat::parse(input).ok_or_else(|| invalid(Invalid::FloatParsing))?;
    if !seconds.is_finite() {
        return Err(invalid(Invalid::FiniteNumber));
    }
    if seconds > max_sleep {
        return Err(invalid(Invalid::LessThanEqual(max_sleep)));
    }
    if seconds < 0.0 {
        return Err(invalid(Invalid::GreaterThanEqual(0.0)));
    }
    // `max_sleep` is validated finite and small enough for a `Duration`, so
    // this cannot fail; falling back to a 422 keeps the path panic-free.
    let duration = Duration::try_from_secs_f64(seconds.max(0.0))
        .map_err(|_| invalid(Invalid::LessThanEqual(max_sleep)))?;
    Ok(Sleep { seconds, duration })
}

/// A bounded pool for blocking work: at most `threads` jobs run at once,
/// the rest queue in arrival order.
#[derive(Debug, Clone)]
pub(crate) struct BlockingPool {
    /// tokio's semaphore is fair: waiters are served first come, first served,
    /// which is how anyio's `CapacityLimiter` queues FastAPI's `def` handlers.
    permits: Arc<Semaphore>,
    /// Busy threads and queued requests, for `/metrics`.
    gauges: PoolGauges,
}

impl BlockingPool {
    /// A pool of `threads` threads (validated `>= 1` by [`crate::Config`]).
    pub(crate) fn new(threads: usize, gauges: PoolGauges) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            gauges,
        }
    }

    /// Blocks one pool thread for `duration` with `std::thread::sleep`,
    /// waiting for a free thread first (see [`BlockingPool::run`]).
    pub(crate) async fn sleep(&self, duration: Duration) -> Result<(), ApiError> {
        self.run(move || std::thread::sleep(duration)).await
    }

    /// Runs the blocking `job` on a pool thread, waiting for a free thread
    /// first, as FastAPI runs a `def` handler.
    ///
    /// If the client goes away while queued, the wait is dropped and no
    /// thread is used; once the job has started it runs to the end, as a
    /// Python thread would. Once the server is `stopping`, jobs that have
    /// to wait for a thread never start: they fail with
    /// [`ApiError::ShuttingDown`] at once.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        // A free thread starts the job even during shutdown (the request
        // arrived before it); only waiting ones are refused.
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Ok(permit),
            Err(_) => {
                let _queued = Held::new(&self.gauges.queued);
                let acquire = Arc::clone(&self.permits).acquire_owned();
                // The server handling this request, if any (see `context`).
                match Stopping::current() {
                    Some(mut stopping) => tokio::select! {
                        biased;
                        () = stopping.wait() => return Err(ApiError::ShuttingDown),
                        permit = acquire => permit,
                    },
                    None => acquire.await,
                }
            }
        }
        .map_err(|_| ApiError::Internal)?;
        let busy = Held::new(&self.gauges.busy);
        tokio::task::spawn_blocking(move || {
            let result = job();
            drop(busy);
            drop(permit);
            result
        })
        .await
        .map_err(|_| ApiError::Internal)
    }
}

/// The `async def` model: a timer, no thread held (see [`speedup_timer`]
/// for why not tokio's own). Fails (a 500) only if no timer could start:
/// each serving thread sets up its own before it accepts anything, and
/// fails the server if it cannot.
pub(crate) async fn async_sleep(duration: Duration) -> Result<(), ApiError> {
    speedup_timer::sleep(duration)
        .await
        .map_err(|_| ApiError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(input: &str, max: f64) -> Option<Invalid> {
        match validate(input, max) {
            Err(ApiError::Invalid { problem, .. }) => Some(problem),
            _ => None,
        }
    }

    #[test]
    fn accepts_and_echoes_like_fastapi() {
        let sleep = validate("1e-3", 60.0).ok();
        assert_eq!(
            sleep.map(|s| s.body()).as_deref(),
            Some("\"hello world after 0.001s of sleep\"")
        );
        let zero = validate("-0", 60.0).ok();
        assert_eq!(zero.map(|s| s.duration), Some(Duration::ZERO));
        assert!(validate("60", 60.0).is_ok());
    }

    #[test]
    fn rejects_in_pydantic_order() {
        assert_eq!(problem("abc", 60.0), Some(Invalid::FloatParsing));
        assert_eq!(problem("nan", 60.0), Some(Invalid::FiniteNumber));
        assert_eq!(problem("-inf", 60.0), Some(Invalid::FiniteNumber));
        assert_eq!(problem("-1", 60.0), Some(Invalid::GreaterThanEqual(0.0)));
        assert_eq!(problem("60.5", 60.0), Some(Invalid::LessThanEqual(60.0)));
    }

    #[tokio::test]
    async fn pool_runs_blocking_sleeps() {
        let pool = BlockingPool::new(1, PoolGauges::default());
        assert_eq!(pool.sleep(Duration::from_millis(1)).await, Ok(()));
    }
}
