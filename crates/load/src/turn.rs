//! A sender's turn: what every sender of requests (an HTTP/1 connection,
//! an HTTP/2 stream) does around one exchange, so there is one copy of it.
//! It waits for its next request (the thread's open-loop schedule, or a
//! claim in closed loop), notes when each phase of the exchange ended, and
//! hands the record, timed as ab times it, to the thread's recorder.

use std::time::Instant;

use crate::engine::Recorder;
use crate::record::{Outcome, Record, Sample, Scheduled};
use crate::worker::{RunState, Worker};

/// When the phases of one exchange ended.
#[derive(Default)]
pub(crate) struct Times {
    /// The connection was made (and its TLS handshake done): only on a new
    /// connection.
    pub connected: Option<Instant>,
    /// The request was written whole.
    pub written: Option<Instant>,
    /// The first byte of the response came.
    pub first_byte: Option<Instant>,
    /// The last read of the response.
    pub last_read: Option<Instant>,
}

/// One request to send: when it starts, which of the run's requests, its
/// time limit, and where it stands against the schedule (open loop).
pub(crate) struct Turn {
    /// When the request began (a new connection's connect, or the send).
    pub start: Instant,
    /// Which of the run's requests ([`RunState::requests`]).
    pub target: usize,
    /// Its time limit: `start` plus the plan's timeout.
    pub deadline: Instant,
    /// Open loop: its due time and lateness.
    pub scheduled: Option<Scheduled>,
}

/// Waits for this sender's next request: in open loop until it is due on
/// the thread's schedule (`busy_until`: when the sender's previous exchange
/// ended), in closed loop at once from `start`. `None` once the run has no
/// more for it.
pub(crate) async fn next_turn<R: Recorder>(
    run: &RunState,
    worker: &Worker<R>,
    busy_until: Option<Instant>,
    start: Instant,
) -> Option<Turn> {
    let (scheduled, start) = match &worker.schedule {
        Some(schedule) => {
            let (slot, send) = schedule.next(run, busy_until, &worker.stopping).await?;
            (Some(slot), send)
        }
        None if run.claim(start) => (None, start),
        None => return None,
    };
    Some(Turn {
        start,
        target: worker.next_target(run.requests.len()),
        deadline: start + run.timeout,
        scheduled,
    })
}

/// Records how `turn` ended (`done`: its last read, or when it failed).
pub(crate) fn record_turn<R: Recorder>(
    run: &RunState,
    worker: &Worker<R>,
    turn: &Turn,
    times: &Times,
    done: Instant,
    outcome: Outcome,
) {
    let record = Record {
        sample: sample(run, turn.start, times, done),
        outcome,
        target: turn.target as u32,
    };
    worker.record(&record, turn.scheduled, done);
    run.control.add_completed();
}

/// The sample of one request, in whole µs as ab keeps them.
fn sample(run: &RunState, start: Instant, times: &Times, done: Instant) -> Sample {
    let us = |from: Instant, to: Instant| {
        saturate(to.saturating_duration_since(from).as_micros() as u64)
    };
    Sample {
        start_us: start.saturating_duration_since(run.base).as_micros() as u64,
        connect_us: times.connected.map_or(0, |c| us(start, c)),
        wait_us: match (times.written, times.first_byte) {
            (Some(w), Some(f)) => us(w, f),
            _ => 0,
        },
        total_us: us(start, done),
    }
}

fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
