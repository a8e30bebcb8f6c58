//! Stop signals for the subcommands that must do something before they stop
//! (`ab`'s Ctrl-C; `bench`'s SIGINT and SIGTERM; the lab removing its
//! half-written report folder): each front end says what the first,
//! second, ... signal does, and learns afterwards whether one arrived.
//!
//! The signals are blocked in the calling thread before any other thread
//! starts (threads inherit the mask), and one thread takes them with
//! `sigwait`: no async-signal-safety concerns, and the work itself never
//! sees a signal. Blocking first ([`Blocked::new`]) and watching later
//! ([`Blocked::watch`]) lets the caller create what the handler cleans up in
//! between: a signal that arrives meanwhile waits for the handler. A signal
//! the process was started with ignored (`nohup`, a background job of a
//! script) stays ignored, as a shell's `trap` leaves it.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

/// Which signal stopped the run, if any.
pub struct Interrupted(Arc<AtomicI32>);

impl Interrupted {
    /// True once the first signal arrived.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst) != 0
    }

    /// The first signal's name (`SIGINT`, `SIGTERM`), once one arrived.
    pub fn name(&self) -> Option<&'static str> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            libc::SIGINT => Some("SIGINT"),
            libc::SIGTERM => Some("SIGTERM"),
            _ => Some("a signal"),
        }
    }
}

/// Exit status of a process stopped by `signal`, as a shell reports it.
pub fn exit_status(signal: libc::c_int) -> i32 {
    128 + signal
}

/// Takes `signals` away from their default action (killing the process)
/// and calls `on_signal(n, signal)` for the n-th (1-based) of them to
/// arrive, on a thread of its own. Call before the run starts any thread.
pub fn watch(
    signals: &[libc::c_int],
    on_signal: impl FnMut(u32, libc::c_int) + Send + 'static,
) -> std::io::Result<Interrupted> {
    Blocked::new(signals)?.watch(on_signal)
}

/// Signals blocked in this thread and every thread it starts from now on,
/// waiting for [`Blocked::watch`].
pub struct Blocked {
    /// The blocked signals; `None` when every one was ignored at start.
    set: Option<libc::sigset_t>,
}

impl Blocked {
    /// Blocks those of `signals` not ignored at start. Call before the
    /// process starts any thread.
    pub fn new(signals: &[libc::c_int]) -> std::io::Result<Blocked> {
        let watched: Vec<libc::c_int> = signals.iter().copied().filter(|&s| !ignored(s)).collect();
        if watched.is_empty() {
            return Ok(Blocked { set: None });
        }
        // SAFETY: plain libc calls on a sigset_t we own.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in &watched {
                libc::sigaddset(&mut set, signal);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            set
        };
        Ok(Blocked { set: Some(set) })
    }

    /// Calls `on_signal(n, signal)` for the n-th blocked signal to arrive
    /// (including any that arrived since [`Blocked::new`]), on a thread of
    /// its own.
    pub fn watch(
        self,
        mut on_signal: impl FnMut(u32, libc::c_int) + Send + 'static,
    ) -> std::io::Result<Interrupted> {
        let first = Arc::new(AtomicI32::new(0));
        let Some(set) = self.set else {
            return Ok(Interrupted(first));
        };
        let seen = Arc::clone(&first);
        std::thread::Builder::new()
            .name("speedup-signals".into())
            .spawn(move || {
                let mut count = 0;
                loop {
                    let mut signal = 0;
                    // SAFETY: `set` is a valid signal set; `signal` is ours.
                    if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                        return;
                    }
                    count += 1;
                    let _ = seen.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    on_signal(count, signal);
                }
            })?;
        Ok(Interrupted(first))
    }
}

/// Whether `signal` was ignored when the process started.
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: queries the current action only (a null new action).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}
