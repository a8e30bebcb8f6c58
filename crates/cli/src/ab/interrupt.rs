//! Ctrl-C as ab handles it: the first SIGINT stops the run (nothing new is
//! sent, nothing in flight counts) so the report of what finished is
//! printed and the files written; a second SIGINT exits at once.
//!
//! SIGINT is blocked in the calling thread before any worker thread starts
//! (threads inherit the mask), and one thread takes it with `sigwait`: no
//! async-signal-safety concerns, and the run itself never sees a signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use speedup_load::Control;

/// Exit status of a process killed by SIGINT, for the second Ctrl-C.
const EXIT_SIGINT: i32 = 130;

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
    // SAFETY: plain libc calls on a sigset_t we own.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        set
    };
    let flag = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("speedup-ab-sigint".into())
        .spawn(move || loop {
            let mut signal = 0;
            // SAFETY: `set` is a valid signal set; `signal` is ours.
            if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
                return;
            }
            if seen.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_SIGINT);
            }
            control.abort();
        })?;
    Ok(Interrupted(flag))
}
