//! What one worker thread records: totals (histograms and counts) for the
//! whole run, and the current second's histogram, handed to the
//! [`IntervalSink`] when the second is over. Nothing grows per request.

use std::sync::Arc;

use speedup_load::{ErrorKind, Outcome, Record, Recorder, Scheduled};

use crate::hist::{add, new_hist, Hist, HIGHEST_US};
use crate::intervals::{Interval, IntervalSink};

/// The error kinds bench counts, in report order.
pub const ERROR_KINDS: [ErrorKind; 9] = [
    ErrorKind::Connect,
    ErrorKind::Read,
    ErrorKind::Write,
    ErrorKind::Timeout,
    ErrorKind::Malformed,
    ErrorKind::NoResponse,
    ErrorKind::Length,
    ErrorKind::Certificate,
    ErrorKind::Tls,
];

/// The name of an error kind in the summary and the JSON.
pub fn error_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Connect => "connect",
        ErrorKind::Read => "read",
        ErrorKind::Write => "write",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Malformed => "malformed",
        ErrorKind::NoResponse => "no_response",
        ErrorKind::Length => "length",
        ErrorKind::Certificate => "certificate",
        ErrorKind::Tls => "tls",
    }
}

/// The index of `kind` in [`ERROR_KINDS`] (and [`Tally::errors`]).
pub fn error_index(kind: ErrorKind) -> usize {
    ERROR_KINDS.iter().position(|&k| k == kind).unwrap_or(0)
}

/// Status codes are three digits; one counter each, no map on the hot path.
const STATUS_SLOTS: usize = 1000;

/// Everything one thread (or, merged, the run) measured, in µs since the
/// end of the warm-up.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency from the due time (open loop only).
    pub corrected: Hist,
    /// Latency from the actual send.
    pub uncorrected: Hist,
    /// Responses by status code (index = code).
    pub status: Vec<u64>,
    /// Requests without a response, by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// Sends that found no connection free at their due time.
    pub late_count: u64,
    /// The worst of those, µs after the due time.
    pub late_max_us: u64,
    /// When the last recorded request ended.
    pub last_done_us: u64,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            corrected: new_hist(),
            uncorrected: new_hist(),
            status: vec![0; STATUS_SLOTS],
            errors: [0; ERROR_KINDS.len()],
            late_count: 0,
            late_max_us: 0,
            last_done_us: 0,
        }
    }
}

impl Tally {
    /// Adds another thread's tally into this one.
    pub fn merge(&mut self, other: &Tally) {
        add(&mut self.corrected, &other.corrected);
        add(&mut self.uncorrected, &other.uncorrected);
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
        self.late_count += other.late_count;
        self.late_max_us = self.late_max_us.max(other.late_max_us);
        self.last_done_us = self.last_done_us.max(other.last_done_us);
    }

    /// Responses of any status.
    pub fn responses(&self) -> u64 {
        self.status.iter().sum()
    }

    /// Requests without a response.
    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// `(status code, responses)` of every status seen, by code.
    pub fn statuses(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code, n))
    }

    /// `(error name, requests)` of every error kind seen, in report order.
    pub fn error_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ERROR_KINDS
            .iter()
            .zip(&self.errors)
            .filter(|&(_, &n)| n > 0)
            .map(|(&kind, &n)| (error_name(kind), n))
    }
}

/// One worker thread's recorder.
pub struct BenchRecorder {
    thread: usize,
    warmup_us: u64,
    tally: Tally,
    interval: Interval,
    sink: Option<Arc<IntervalSink>>,
}

impl BenchRecorder {
    /// A recorder for worker `thread`, ignoring requests sent (or due)
    /// before `warmup_us`, shipping finished seconds to `sink` if any.
    pub fn new(thread: usize, warmup_us: u64, sink: Option<Arc<IntervalSink>>) -> BenchRecorder {
        BenchRecorder {
            thread,
            warmup_us,
            tally: Tally::default(),
            interval: Interval::new(0),
            sink,
        }
    }

    /// The thread's totals and its unfinished last second.
    pub fn finish(self) -> (Tally, Interval) {
        (self.tally, self.interval)
    }

    fn add(&mut self, record: &Record, scheduled: Option<Scheduled>) {
        let s = record.sample;
        let from_us = scheduled.map_or(s.start_us, |sch| sch.due_us);
        if from_us < self.warmup_us {
            return;
        }
        // When the request ended, µs since the run's start.
        let end_us = s.start_us + u64::from(s.total_us);
        let done_us = end_us.saturating_sub(self.warmup_us);
        let second = done_us / 1_000_000;
        if second > self.interval.second {
            let finished = std::mem::replace(&mut self.interval, Interval::new(second));
            if let Some(sink) = &self.sink {
                sink.ship(self.thread, finished);
            }
        }
        let t = &mut self.tally;
        t.last_done_us = t.last_done_us.max(done_us);
        self.interval.requests += 1;
        match record.outcome {
            Outcome::Response { status, .. } => {
                let uncorrected = u64::from(s.total_us);
                t.uncorrected.saturating_record(uncorrected);
                let primary = match scheduled {
                    Some(sch) => {
                        let corrected = end_us.saturating_sub(sch.due_us);
                        t.corrected.saturating_record(corrected);
                        // The log's second series (`Tag=uncorrected`).
                        let _ = self
                            .interval
                            .uncorrected
                            .record(uncorrected.min(HIGHEST_US));
                        corrected
                    }
                    None => uncorrected,
                };
                // An auto-resizing histogram: `record` grows it (a
                // saturating record would clamp to its current top).
                let _ = self.interval.hist.record(primary.min(HIGHEST_US));
                t.status[usize::from(status).min(STATUS_SLOTS - 1)] += 1;
            }
            Outcome::Error(kind) => {
                t.errors[error_index(kind)] += 1;
                self.interval.errors += 1;
            }
        }
        if let Some(sch) = scheduled.filter(|sch| sch.late_us > 0) {
            t.late_count += 1;
            t.late_max_us = t.late_max_us.max(sch.late_us);
        }
    }
}

impl Recorder for BenchRecorder {
    fn record(&mut self, record: &Record) {
        self.add(record, None);
    }

    fn record_scheduled(&mut self, record: &Record, scheduled: Scheduled) {
        self.add(record, Some(scheduled));
    }
}
