//! The side thread of a run: ab's "Completed N requests" heartbeat on
//! stderr and ab's abort rules, checked while the engine works.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::tally::LiveErrors;
use speedup_load::Control;

/// How often the watcher looks at the counters: often enough that aborts
/// and progress lines feel immediate, rare enough to cost nothing.
const POLL: Duration = Duration::from_millis(5);

/// Why ab would stop a run early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abort {
    /// More than 10 connections failed.
    Connect,
    /// The run ended without a single connection (fewer than 10 tried).
    NeverConnected,
    /// A response was cut short and `-r` was not given.
    Receive,
    /// A response took longer than `-s` and `-r` was not given.
    Timeout,
}

/// ab's abort rules over the live error counts.
pub fn abort_reason(live: &LiveErrors, keep_going: bool) -> Option<Abort> {
    if live.connect() > 10 {
        Some(Abort::Connect)
    } else if keep_going {
        None
    } else if live.receive() > 0 {
        Some(Abort::Receive)
    } else if live.timeout() > 0 {
        Some(Abort::Timeout)
    } else {
        None
    }
}

/// ab's heartbeat interval: every 10% of the requests when there are more
/// than 150, but never more often than every 100; none with `-q`.
pub fn heartbeat_every(requests: u64, quiet: bool) -> u64 {
    if quiet || requests <= 150 {
        0
    } else {
        (requests / 10).max(100)
    }
}

/// Writes progress lines to `progress` (ab's stderr) and stops the run on
/// an abort rule until `finished` is set. Returns the abort, if any.
pub fn watch(
    control: &Control,
    live: &LiveErrors,
    keep_going: bool,
    every: u64,
    finished: &AtomicBool,
    progress: &mut dyn Write,
) -> Option<Abort> {
    let mut next = every;
    loop {
        let done = finished.load(Ordering::Acquire);
        if every > 0 {
            let completed = control.completed();
            while completed >= next {
                let _ = writeln!(progress, "Completed {next} requests");
                next += every;
            }
        }
        if let Some(abort) = abort_reason(live, keep_going) {
            control.abort();
            return Some(abort);
        }
        if done {
            return None;
        }
        std::thread::sleep(POLL);
    }
}
