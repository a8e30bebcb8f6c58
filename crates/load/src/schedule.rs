//! The open-loop schedule: with a rate of R requests per second over T
//! worker threads, request k of thread i is due at `(i + k * T) / R`
//! seconds after the run's start, whatever happened to earlier requests.
//!
//! A connection that is free takes its thread's next due time and waits
//! for it; when every connection of a thread was busy at a due time, the
//! next free one sends at once and the request is *late* by the difference.
//! Latency measured from the due time is then corrected for coordinated
//! omission: a stalled server is charged for every request that was due
//! during the stall, not only for the ones in flight.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::record::Scheduled;
use crate::worker::RunState;

/// One worker thread's share of the schedule.
pub(crate) struct Schedule {
    /// The thread's first due time, from the run's start.
    first: Duration,
    /// Between two due times of this thread: T / R.
    every: f64,
    /// The thread's next request number.
    next: Cell<u64>,
}

impl Schedule {
    /// Thread `thread`'s share of `rate` requests per second over `threads`.
    pub(crate) fn new(rate: f64, threads: usize, thread: usize) -> Schedule {
        Schedule {
            first: Duration::from_secs_f64(thread as f64 / rate),
            every: threads.max(1) as f64 / rate,
            next: Cell::new(0),
        }
    }

    /// Waits until the thread's next request is due; `None` once the run
    /// is over (duration, request count, or stop).
    pub(crate) async fn next(&self, run: &RunState) -> Option<Scheduled> {
        let k = self.next.get();
        self.next.set(k + 1);
        let due = run.base + self.first + Duration::from_secs_f64(k as f64 * self.every);
        if !run.claim(due) {
            return None;
        }
        let now = Instant::now();
        // A server that cannot keep up leaves a backlog of late requests;
        // they are sent (each one's wait is part of what we measure), but
        // not for longer than one timeout past the end of the run.
        if run.deadline.is_some_and(|end| now > end + run.timeout) {
            return None;
        }
        if now < due {
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            // A stop while we waited: do not start anything new.
            if run.control.is_stopped() {
                return None;
            }
        }
        let us = |d: Duration| d.as_micros() as u64;
        Some(Scheduled {
            due_us: us(due - run.base),
            late_us: us(now.saturating_duration_since(due)),
        })
    }
}
