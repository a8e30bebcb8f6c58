//! What the front end holds while a run goes on: a progress counter and
//! the switches that stop it. Cheap atomics, shared with every worker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Live state shared with the front end: a progress counter and a stop
/// switch (ab giving up after too many errors, or Ctrl-C). Cheap atomics.
#[derive(Debug, Default)]
pub struct Control {
    pub(crate) state: Arc<ControlState>,
}

/// The atomics behind [`Control`], shared with the worker threads.
#[derive(Debug, Default)]
pub(crate) struct ControlState {
    completed: AtomicU64,
    stop: AtomicBool,
    abort: AtomicBool,
    /// Wakes the workers when the run is stopped or aborted, so no worker
    /// has to poll for it (a periodic tick would wake an idle thread).
    changed: tokio::sync::Notify,
}

impl ControlState {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// Stops starting new requests (see [`Control::stop`]).
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Stops the run and abandons in-flight requests (see [`Control::abort`]).
    pub(crate) fn abort(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.abort.store(true, Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    /// Completes after the next [`ControlState::stop`] or
    /// [`ControlState::abort`] from the moment it is made, polled or not:
    /// make it before looking at the flags, and no change is missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    pub(crate) fn add_completed(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
    }
}

impl Control {
    /// A fresh control: nothing completed, not stopped.
    pub fn new() -> Control {
        Control::default()
    }

    /// Records delivered so far, all outcomes.
    pub fn completed(&self) -> u64 {
        self.state.completed.load(Ordering::Relaxed)
    }

    /// Stops starting new requests; in-flight ones finish (bounded by the
    /// plan's timeout).
    pub fn stop(&self) {
        self.state.stop();
    }

    /// Stops starting new requests and abandons the in-flight ones within
    /// a few milliseconds, without records for them (ab exiting on an error,
    /// or Ctrl-C).
    pub fn abort(&self) {
        self.state.abort();
    }

    /// Whether [`Control::stop`] or [`Control::abort`] was called.
    pub fn is_stopped(&self) -> bool {
        self.state.is_stopped()
    }
}
