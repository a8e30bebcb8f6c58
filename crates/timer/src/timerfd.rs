//! A serving thread's own timer (Linux): one timerfd in the thread's
//! reactor, re-armed for the earliest deadline, and the task that fires the
//! due sleepers when it expires (see `timer` for the deadline set).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::Timer;

/// A non-blocking `CLOCK_MONOTONIC` timerfd (the clock `Instant` uses).
#[derive(Debug)]
pub(crate) struct TimerFd(OwnedFd);

impl TimerFd {
    pub(crate) fn new() -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        Ok(Self(fd))
    }

    /// Arms the timer to expire at `deadline` (at once if it has passed), or
    /// disarms it.
    pub(crate) fn arm(&self, deadline: Option<Instant>) {
        let value = match deadline {
            // Zero would disarm: the least is one nanosecond.
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_nanos(1)),
            None => Duration::ZERO,
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                // Deadlines are at most a year away (`sleep`).
                tv_sec: value.as_secs() as _,
                tv_nsec: value.subsec_nanos().into(),
            },
        };
        // It fails only for invalid arguments, which these are not: a debug
        // build says so if that ever changes.
        let set = timerfd_settime(&self.0, TimerfdTimerFlags::empty(), &spec);
        debug_assert!(set.is_ok(), "timerfd_settime: {set:?}");
    }
}

/// A timer's driver task state: the registration of the timer's timerfd
/// with the thread's reactor. The registration holds its own reference to
/// the descriptor, so the descriptor stays open while registered.
pub(crate) struct Driver {
    watched: AsyncFd<Shared>,
    timer: Arc<Timer>,
}

/// The timerfd as the reactor holds it: shared with the timer, which arms it.
struct Shared(Arc<TimerFd>);

impl AsRawFd for Shared {
    fn as_raw_fd(&self) -> RawFd {
        self.0 .0.as_raw_fd()
    }
}

impl Driver {
    /// Registers `timer`'s timerfd with the current runtime's reactor.
    pub(crate) fn new(timer: Arc<Timer>) -> io::Result<Self> {
        let fd = timer
            .fd()
            .ok_or_else(|| io::Error::other("a local timer needs a timerfd"))?;
        // SAFETY: the registration owns a reference to the descriptor
        // (`Shared` holds the `Arc`), so it stays open, the same file, for
        // the registration's whole life; `Shared` always returns that number.
        let watched =
            unsafe { AsyncFd::register_with_interest(Shared(Arc::clone(fd)), Interest::READABLE) }
                .map_err(io::Error::from)?;
        Ok(Self { watched, timer })
    }

    /// Fires due sleepers and re-arms the timerfd for the earliest one
    /// left, until the runtime drops the task.
    pub(crate) async fn run(self) {
        let Some(fd) = self.timer.fd() else {
            return;
        };
        let mut due: Vec<Waker> = Vec::new();
        loop {
            {
                let mut state = self.timer.lock();
                let until = Timer::take_due(&mut state, &mut due);
                if due.is_empty() {
                    // Under the lock, so a sleeper registering an earlier
                    // deadline arms after (and over) this.
                    Timer::set_waiting(&mut state, Some(until));
                    fd.arm(until);
                }
            }
            if !due.is_empty() {
                // Same thread: each wake only queues its task.
                due.drain(..).for_each(Waker::wake);
                continue;
            }
            // The expiry is not read: `arm` (timerfd_settime) above sets
            // the expiry count back to zero whenever the loop comes back,
            // which is a system call saved per wake. A wake with nothing
            // due (an expiry arm has since replaced) just looks again.
            let Ok(mut ready) = self.watched.readable().await else {
                // Only if the runtime is going away.
                return;
            };
            // Clear the readiness: the next expiry is a new edge, which the
            // reactor reports (the count goes from zero to one again after
            // the re-arm).
            ready.clear_ready();
            Timer::set_waiting(&mut self.timer.lock(), None);
        }
    }
}
