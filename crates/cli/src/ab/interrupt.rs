//! Signals taken by a thread of our own, for the subcommands that must do
//! something before they stop. `speedup ab` handles Ctrl-C as ab does: the
//! first SIGINT stops the run (nothing new is sent, nothing in flight
//! counts) so the report of what finished is printed and the files written;
//! a second SIGINT exits at once. `speedup lab` removes its half-written
//! report folder on SIGINT or SIGTERM, then exits.
//!
//! The signals are blocked in the calling thread before any other thread
//! starts (threads inherit the mask), and one thread takes them with
//! `sigwait`: no async-signal-safety concerns, and the work itself never
//! sees a signal. Blocking first and handling later ([`Blocked::handle`])
//! lets the caller create what the handler cleans up in between: a signal
//! that arrives meanwhile waits for the handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use speedup_load::Control;

/// Exit status of a process stopped by `signal`, as a shell reports it.
pub fn exit_status(signal: libc::c_int) -> i32 {
    128 + signal
}

/// Signals blocked in this thread and every thread it starts from now on,
/// waiting for [`Blocked::handle`].
pub struct Blocked {
    set: libc::sigset_t,
}

impl Blocked {
    /// Blocks `signals`. Call before the process starts any thread.
    pub fn new(signals: &[libc::c_int]) -> std::io::Result<Blocked> {
        // SAFETY: plain libc calls on a sigset_t we own.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            set
        };
        Ok(Blocked { set })
    }

    /// Calls `on_signal` on a thread named `name` for every blocked signal
    /// that arrives (including any that arrived since [`Blocked::new`]).
    pub fn handle(
        self,
        name: &str,
        mut on_signal: impl FnMut(libc::c_int) + Send + 'static,
    ) -> std::io::Result<()> {
        let set = self.set;
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || loop {
                let mut signal = 0;
                // SAFETY: `set` is a valid signal set; `signal` is ours.
                if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                    return;
                }
                on_signal(signal);
            })?;
        Ok(())
    }
}

/// Whether a Ctrl-C stopped the run.
pub struct Interrupted(Arc<AtomicBool>);

impl Interrupted {
    /// True once the first Ctrl-C arrived.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Routes Ctrl-C to `control`. Call before the run starts any thread.
pub fn on_ctrl_c(control: Arc<Control>) -> std::io::Result<Interrupted> {
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    Blocked::new(&[libc::SIGINT])?.handle("speedup-ab-sigint", move |signal| {
        if seen.swap(true, Ordering::SeqCst) {
            std::process::exit(exit_status(signal));
        }
        control.abort();
    })?;
    Ok(Interrupted(flag))
}
