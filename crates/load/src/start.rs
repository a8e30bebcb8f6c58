//! A start at a moment on the wall clock, shared by several generators
//! (processes, machines): the run's time zero is put where the wall clock
//! reads the start minus the warm-up, so the warm-up ends, and the measured
//! schedule begins, exactly at the start.
//!
//! The wait is on `CLOCK_REALTIME` (the one clock machines share, through
//! NTP); from the moment it ends, everything runs on the monotonic clock as
//! in any run. Time zero is computed from both clocks read together, not
//! taken as the moment the wait returned, so the thread's wake-up latency
//! does not shift the schedule.
//!
//! A generator that is ready only after time zero (started inside its
//! warm-up, or after the start within [`Start::late_ok`]) keeps the shared
//! time zero: its schedule's due times that have already passed are
//! skipped (never sent, rather than sent in a burst), so every request it
//! does send is due when the fleet's schedule says. Past `late_ok` it
//! refuses to run: it could not send its share at the right time.

use std::time::{Duration, Instant, SystemTime};

use crate::engine::{ControlState, RunError};

/// When a run's measured part starts, on the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The end of the warm-up: the first measured request is due then.
    pub at: SystemTime,
    /// How long after `at` the run may still begin (late: its first
    /// seconds are missing); later, [`crate::run`] refuses.
    pub late_ok: Duration,
}

/// The run's time zero, and how long after it the run was ready.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zero {
    /// Time zero: samples count from here.
    pub base: Instant,
    /// Due times before `base + missed` had passed when the run was ready:
    /// they are skipped.
    pub missed: Duration,
}

impl Zero {
    /// A run starting now.
    pub(crate) fn now() -> Zero {
        Zero {
            base: Instant::now(),
            missed: Duration::ZERO,
        }
    }
}

/// Waits until the wall clock reads `start.at - warmup` (unless stopped),
/// then returns the run's time zero; refuses a start passed by more than
/// `start.late_ok`.
pub(crate) fn hold(
    start: &Start,
    warmup: Duration,
    control: &ControlState,
) -> Result<Zero, RunError> {
    let zero = start
        .at
        .checked_sub(warmup)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    // Ready (resolved, runtimes built) now: on time, or late by how much?
    let ready = SystemTime::now();
    if let Ok(by) = ready.duration_since(start.at) {
        if by > start.late_ok {
            return Err(RunError::StartPassed {
                by,
                late_ok: start.late_ok,
            });
        }
    }
    // Ready after time zero: nothing to wait for, due times were missed.
    let started_late = ready > zero;
    let reached = speedup_timer::sleep_until_wall(zero, || control.is_stopped());
    let (mono, wall) = (Instant::now(), SystemTime::now());
    if !reached {
        // Stopped while waiting: nothing will be sent.
        return Ok(Zero::now());
    }
    let since = wall.duration_since(zero).unwrap_or_default();
    match mono.checked_sub(since) {
        Some(base) => Ok(Zero {
            base,
            // Woken by the wait, the run is ready at time zero (give or
            // take the wake-up, tens of microseconds: those sends go at
            // once); started after it, it missed what was due meanwhile.
            missed: if started_late { since } else { Duration::ZERO },
        }),
        // The monotonic clock does not reach back that far (a machine
        // booted moments ago): start now, as late as the start allows.
        None => Ok(Zero::now()),
    }
}
