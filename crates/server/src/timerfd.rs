//! A serving thread's own timer (Linux): one timerfd in the thread's
//! reactor, re-armed for the earliest deadline, and the task that fires the
//! due sleepers when it expires (see `timer` for the deadline set).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::timer::Timer;

/// A non-blocking `CLOCK_MONOTONIC` timerfd (the clock `Instant` uses).
#[derive(Debug)]
pub(crate) struct TimerFd(OwnedFd);

impl TimerFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked before it is owned.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor nothing else owns.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
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
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                // Deadlines are at most a year away (`timer::sleep`).
                tv_sec: value.as_secs() as libc::time_t,
                tv_nsec: value.subsec_nanos().into(),
            },
        };
        // SAFETY: a valid descriptor and itimerspec; the old value is not
        // asked for. It fails only for invalid arguments, which these are
        // not: a debug build says so if that ever changes.
        let rc =
            unsafe { libc::timerfd_settime(self.0.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        debug_assert_eq!(rc, 0, "timerfd_settime: {}", io::Error::last_os_error());
    }

    /// Consumes an expiry; `WouldBlock` if there was none.
    fn read(&self) -> io::Result<()> {
        let mut expirations = 0u64;
        // SAFETY: reads 8 bytes into a u64 from our own descriptor.
        let read = unsafe {
            libc::read(
                self.0.as_raw_fd(),
                std::ptr::from_mut(&mut expirations).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        if read < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The timerfd's number, for the reactor (the timer owns the descriptor and
/// outlives the registration: see [`Driver`]).
struct Raw(RawFd);

impl AsRawFd for Raw {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A timer's driver task state: the registration first, so it is dropped
/// (deregistered) before the timer, and with it the descriptor, can go.
pub(crate) struct Driver {
    watched: AsyncFd<Raw>,
    timer: Arc<Timer>,
}

impl Driver {
    /// Registers `timer`'s timerfd with the current runtime's reactor.
    pub(crate) fn new(timer: Arc<Timer>) -> io::Result<Self> {
        let fd = timer
            .fd()
            .ok_or_else(|| io::Error::other("a local timer needs a timerfd"))?;
        // SAFETY: the descriptor is the timer's, which `Driver` holds; the
        // registration is its first field, so it is dropped (deregistered)
        // before the timer can close the descriptor, and `Raw` always
        // returns the same number.
        let watched =
            unsafe { AsyncFd::register_with_interest(Raw(fd.0.as_raw_fd()), Interest::READABLE) }
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
            loop {
                let Ok(mut ready) = self.watched.readable().await else {
                    // Only if the runtime is going away.
                    return;
                };
                // No expiry to read (`WouldBlock`) clears the readiness and
                // waits again; anything else counts as an expiry (the loop
                // above looks at the deadlines again either way).
                if ready.try_io(|_| fd.read()).is_ok() {
                    // Read: clear the readiness too, or the next wait would
                    // start with a read that finds nothing. (An expiry after
                    // the read is a new edge, which the reactor reports.)
                    ready.clear_ready();
                    break;
                }
            }
            Timer::set_waiting(&mut self.timer.lock(), None);
        }
    }
}
