//! The open-loop schedule: over T worker threads, thread i sends requests
//! i, i + T, i + 2T, ... of the run, each at the time its [`RateProfile`]
//! says it is due (with a constant rate R, request n at `n / R` seconds
//! after the run's start), whatever happened to earlier requests.
//!
//! A connection that is free takes its thread's next due time and waits
//! for it; when every connection of a thread was busy at a due time, the
//! next free one sends at once and the request is *late* by the difference.
//! That wait for a free connection is added to the request's latency, which
//! corrects for coordinated omission: a stalled server is charged for every
//! request that was due during the stall, not only for the ones in flight.
//! What the client adds itself (its timer waking late, a busy thread) is
//! measured apart ([`Scheduled::send_lateness_us`]) and never charged to the
//! server.
//!
//! The wait for a due time is on the thread's own precise timer
//! (`speedup_timer`, a timerfd in the worker's reactor): tokio's
//! millisecond wheel would bunch a 5,000 req/s schedule into batches of five
//! a millisecond, and wake each send up to a millisecond late.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rate::RateProfile;
use crate::record::Scheduled;
use crate::worker::RunState;

/// One worker thread's share of the schedule.
pub(crate) struct Schedule {
    /// When the run's requests are due.
    profile: Arc<RateProfile>,
    /// The run's request number this thread sends next.
    next: Cell<u64>,
    /// Between two of this thread's request numbers: the thread count.
    step: u64,
}

impl Schedule {
    /// Thread `thread`'s share of `profile` over `threads`.
    pub(crate) fn new(profile: Arc<RateProfile>, threads: usize, thread: usize) -> Schedule {
        Schedule {
            profile,
            next: Cell::new(thread as u64),
            step: threads.max(1) as u64,
        }
    }

    /// The same share, without the due times before `missed` from the
    /// run's start: a run that began late (see [`crate::start`]) never sends
    /// them, rather than all at once.
    pub(crate) fn skipping(self, missed: Duration) -> Schedule {
        let missed = missed.as_secs_f64();
        if missed > 0.0 {
            let mut n = self.next.get();
            while self.profile.due(n).is_some_and(|due| due < missed) {
                n += self.step;
            }
            self.next.set(n);
        }
        self
    }

    /// Called by a connection that is free (now; its previous exchange
    /// ended at `busy_until`, `None` before its first): waits until the
    /// thread's next request is due, and returns where it stands against
    /// the schedule with the instant to send it (now); `None` once the run
    /// is over (duration, request count, or stop).
    pub(crate) async fn next(
        &self,
        run: &RunState,
        busy_until: Option<Instant>,
        stopping: &tokio::sync::Notify,
    ) -> Option<(Scheduled, Instant)> {
        let n = self.next.get();
        self.next.set(n + self.step);
        // The stages may end before the run's duration does.
        let due = run.base + Duration::from_secs_f64(self.profile.due(n)?);
        if !run.claim(due) {
            return None;
        }
        let free = Instant::now();
        // A server that cannot keep up leaves a backlog of late requests;
        // they are sent (each one's wait is part of what we measure), but
        // not for longer than one timeout past the end of the run.
        if run.deadline.is_some_and(|end| free > end + run.timeout) {
            return None;
        }
        if free < due {
            tokio::select! {
                // Fails only if no timer can be had at all: then send now.
                _ = speedup_timer::sleep_until(wake_at(run.base, due, run.send_batch)) => {}
                // Woken by the worker when the run is stopped.
                () = stopping.notified() => {}
            }
            // A stop while we waited: do not start anything new.
            if run.control.is_stopped() {
                return None;
            }
        }
        let send = Instant::now();
        // Only a connection busy with the server delays a send on the
        // server's account: before its first exchange (the run starting up)
        // a connection was as good as free at the due time.
        let free = busy_until.unwrap_or(due);
        Some((slot(run.base, due, free, send), send))
    }
}

/// Where a request due at `due`, whose connection was free at `free` and
/// which is sent at `send`, stands against the schedule (see [`Scheduled`]).
fn slot(base: Instant, due: Instant, free: Instant, send: Instant) -> Scheduled {
    let us = |d: Duration| d.as_micros() as u64;
    Scheduled {
        due_us: us(due.saturating_duration_since(base)),
        late_us: us(free.saturating_duration_since(due)),
        send_lateness_us: us(send.saturating_duration_since(due.max(free))),
    }
}

/// When to wake for a send due at `due`: then, or with
/// [`Plan::send_batch`](crate::Plan::send_batch) at the end of the period
/// (counted from the run's time zero) it falls in, so the sends due in one
/// period share one wake-up.
fn wake_at(base: Instant, due: Instant, batch: Option<Duration>) -> Instant {
    let Some(batch) = batch else {
        return due;
    };
    let period = batch.as_nanos().max(1);
    let offset = due.saturating_duration_since(base).as_nanos();
    let end = offset.div_ceil(period) * period;
    // Within a run's length (a day at most): fits a u64 of nanoseconds.
    base + Duration::from_nanos(end as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attribution rule on synthetic timings: the wait for a free
    /// connection is the server's, the oversleep is the client's.
    #[test]
    fn the_server_is_charged_only_for_the_wait_for_a_connection() {
        let base = Instant::now();
        let at = |us: u64| base + Duration::from_micros(us);
        // A connection free before the due time, a timer waking 60 µs late:
        // nothing is charged, the 60 µs are the client's.
        let on_time = slot(base, at(1_000), at(400), at(1_060));
        assert_eq!((on_time.late_us, on_time.send_lateness_us), (0, 60));
        assert_eq!(on_time.corrected_us(250), 250);
        // Every connection busy until 5 ms after the due time, sent 20 µs
        // after it was free: the server is charged 5 ms, the client 20 µs.
        let stalled = slot(base, at(1_000), at(6_000), at(6_020));
        assert_eq!((stalled.late_us, stalled.send_lateness_us), (5_000, 20));
        assert_eq!(stalled.corrected_us(250), 5_250);
        assert_eq!(stalled.due_us, 1_000);
    }

    /// Batched sends wake at the end of the period their due time falls
    /// in, never before it is due.
    #[test]
    fn batched_sends_wake_at_the_end_of_their_period() {
        let base = Instant::now();
        let at = |us: u64| base + Duration::from_micros(us);
        let ms = Some(Duration::from_millis(1));
        assert_eq!(wake_at(base, at(200), None), at(200));
        assert_eq!(wake_at(base, at(200), ms), at(1_000));
        assert_eq!(wake_at(base, at(999), ms), at(1_000));
        assert_eq!(wake_at(base, at(1_000), ms), at(1_000));
        assert_eq!(wake_at(base, at(1_001), ms), at(2_000));
        assert_eq!(wake_at(base, at(0), ms), at(0));
    }

    /// A late start skips exactly the due times already passed: thread 1
    /// of 2 at 100/s is due at 10, 30, 50 ms, ...; 45 ms late, it resumes
    /// at 50 ms, its request number 2.
    #[test]
    fn a_late_start_skips_the_passed_due_times_only() {
        // Thread 1 of 2 at 100/s sends requests 1, 3, 5, ... due at 10,
        // 30, 50 ms.
        let next = |missed_ms| {
            Schedule::new(Arc::new(RateProfile::constant(100.0)), 2, 1)
                .skipping(Duration::from_millis(missed_ms))
                .next
                .get()
        };
        assert_eq!(next(0), 1);
        assert_eq!(next(10), 1);
        assert_eq!(next(11), 3);
        assert_eq!(next(45), 5);
        assert_eq!(next(50), 5);
    }
}
