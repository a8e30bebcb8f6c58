//! Waiting for a moment on the wall clock, for several processes (on
//! several machines) to act together: `CLOCK_REALTIME` is the one clock
//! they share (through NTP), where each process's monotonic clock counts
//! from its own machine's boot.
//!
//! On Linux the wait is `clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME)`:
//! an absolute deadline on the wall clock, so a clock step (NTP correcting
//! it) during the wait moves the wake-up with it, as it must. The wait is
//! cut into steps of at most [`STEP`] so that a stop request is noticed.

use std::time::{Duration, SystemTime};

/// The longest single sleep: how late a stop request may be noticed.
pub const STEP: Duration = Duration::from_millis(50);

/// Blocks the calling thread until the wall clock reads `at` (at once if
/// it already does), or until `stop` returns true (asked before each step
/// of at most [`STEP`]). Returns whether `at` was reached.
pub fn sleep_until_wall(at: SystemTime, stop: impl Fn() -> bool) -> bool {
    loop {
        if stop() {
            return false;
        }
        let now = SystemTime::now();
        let Ok(left) = at.duration_since(now) else {
            return true;
        };
        if left.is_zero() {
            return true;
        }
        let until = if left > STEP { now + STEP } else { at };
        sleep_to(until, left.min(STEP));
    }
}

/// One absolute sleep on the wall clock to `until` (`left` from now).
#[cfg(target_os = "linux")]
fn sleep_to(until: SystemTime, _left: Duration) {
    use rustix::thread::{clock_nanosleep_absolute, ClockId, Timespec};
    let since = until
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let when = Timespec {
        tv_sec: since.as_secs() as i64,
        tv_nsec: i64::from(since.subsec_nanos()) as _,
    };
    // Interrupted by a signal: the caller's loop looks at the clock again.
    let _ = clock_nanosleep_absolute(ClockId::Realtime, &when);
}

/// Elsewhere: a relative sleep of what is left (a clock step during it is
/// noticed at the next step).
#[cfg(not(target_os = "linux"))]
fn sleep_to(_until: SystemTime, left: Duration) {
    std::thread::sleep(left);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_at_the_wall_clock_moment_or_at_a_stop() {
        let at = SystemTime::now() + Duration::from_millis(120);
        assert!(sleep_until_wall(at, || false));
        let late = SystemTime::now().duration_since(at).expect("not early");
        // Generous for a loaded machine; typically tens of microseconds.
        assert!(late < Duration::from_millis(50), "{late:?} late");
        // A moment already past returns at once.
        assert!(sleep_until_wall(at, || false));
        // A stop is noticed within a step, long before an hour passes.
        let begun = std::time::Instant::now();
        let far = SystemTime::now() + Duration::from_secs(3600);
        let calls = std::cell::Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            calls.get() > 2
        };
        assert!(!sleep_until_wall(far, stop));
        assert!(begun.elapsed() < Duration::from_secs(5));
    }
}
