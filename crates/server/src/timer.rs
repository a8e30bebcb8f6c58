//! The async endpoint's timer, precise to the microsecond.
//!
//! tokio's timer wheel has millisecond slots and rounds every deadline up to
//! the next one, and the reactor parks with a timeout in whole
//! milliseconds: a 100 ms `tokio::time::sleep` wakes 1–2 ms late. That
//! lateness lands in every async response time the lab measures, on top of
//! the ideal. On Linux a `timerfd` per sleep hands the deadline to the
//! kernel instead, and the reactor wakes the task when the fd turns
//! readable: still a timer, no thread held while waiting, but on time.
//! Elsewhere, or if the kernel refuses a timerfd (e.g. out of file
//! descriptors), tokio's own timer is used.

use std::time::Duration;

/// Sleeps `duration` without holding a thread. Zero yields once, as
/// `asyncio.sleep(0)` does.
pub(crate) async fn sleep(duration: Duration) {
    if duration.is_zero() {
        tokio::task::yield_now().await;
        return;
    }
    #[cfg(target_os = "linux")]
    if linux::sleep(duration).await.is_ok() {
        return;
    }
    tokio::time::sleep(duration).await;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Duration;

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// One-shot timerfd sleep. An error means nothing was waited for, so
    /// the caller can fall back to another timer.
    pub(super) async fn sleep(duration: Duration) -> io::Result<()> {
        let fd = arm(duration)?;
        // SAFETY: the OwnedFd moves into the AsyncFd, so the fd stays open
        // and the same for the AsyncFd's whole life.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        loop {
            let mut ready = fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reading 8 bytes into an 8-byte buffer from a valid fd.
            let n = unsafe {
                libc::read(
                    fd.get_ref().as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == 8 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
            ready.clear_ready();
        }
    }

    /// A non-blocking monotonic timerfd that fires once after `duration`.
    fn arm(duration: Duration) -> io::Result<OwnedFd> {
        // SAFETY: plain syscall; the result is checked before use.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let spec = libc::itimerspec {
            it_interval: zero,
            it_value: libc::timespec {
                // Bounded by the server's max sleep, far below time_t's range.
                tv_sec: libc::time_t::try_from(duration.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(duration.subsec_nanos() as i32),
            },
        };
        // SAFETY: valid fd, valid pointer to a filled struct, no old value wanted.
        let rc = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn sleeps_at_least_the_duration() {
        for ms in [0, 1, 20] {
            let d = Duration::from_millis(ms);
            let start = Instant::now();
            super::sleep(d).await;
            assert!(start.elapsed() >= d, "{ms} ms sleep woke early");
        }
    }

    #[tokio::test]
    async fn subsecond_and_whole_seconds_arm_correctly() {
        let start = Instant::now();
        super::sleep(Duration::new(0, 1_500_000)).await;
        assert!(start.elapsed() >= Duration::from_micros(1500));
    }
}
