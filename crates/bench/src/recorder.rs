//! What one worker thread records: totals (histograms and counts) for the
//! whole run, and the current second's histogram, handed to the
//! [`IntervalSink`] when the second is over. Nothing grows per request.

use std::sync::Arc;

use speedup_load::{ErrorKind, Outcome, Record, Recorder, Scheduled};

use crate::counts::Baseline;
use crate::hist::{add, new_hist, Hist, HIGHEST_US};
use crate::intervals::{Interval, IntervalSink};
use crate::per_target::TargetTally;

/// The error kinds bench counts, in report order (every HTTP/2 reset is
/// one kind here, `Reset(0)`; by code they are in [`Tally::resets`]).
pub const ERROR_KINDS: [ErrorKind; 12] = [
    ErrorKind::Connect,
    ErrorKind::Read,
    ErrorKind::Write,
    ErrorKind::Timeout,
    ErrorKind::Malformed,
    ErrorKind::NoResponse,
    ErrorKind::Length,
    ErrorKind::Certificate,
    ErrorKind::Tls,
    ErrorKind::Reset(0),
    ErrorKind::GoAway,
    ErrorKind::Protocol,
];

/// HTTP/2 error codes counted one by one (RFC 9113 §7: 0x0 to 0xd); any
/// other code counts in the last slot.
pub const RESET_CODES: usize = 15;

/// The name of an HTTP/2 error code (`REFUSED_STREAM`), or its number.
pub fn reset_name(code: usize) -> String {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    NAMES
        .get(code)
        .map_or_else(|| "other code".to_string(), |n| n.to_string())
}

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
        ErrorKind::Reset(_) => "reset",
        ErrorKind::GoAway => "goaway",
        ErrorKind::Protocol => "protocol",
    }
}

/// The index of `kind` in [`ERROR_KINDS`] (and [`Tally::errors`]).
pub fn error_index(kind: ErrorKind) -> usize {
    let kind = match kind {
        ErrorKind::Reset(_) => ErrorKind::Reset(0),
        other => other,
    };
    ERROR_KINDS.iter().position(|&k| k == kind).unwrap_or(0)
}

/// Status codes are three digits; one counter each, no map on the hot path.
pub const STATUS_SLOTS: usize = 1000;

/// A send the client itself made later than this (its timer, a busy thread)
/// is counted as a client-late send: the generator did not keep its schedule.
pub const CLIENT_LATE_US: u64 = 1_000;

/// Everything one thread (or, merged, the run) measured, in µs since the
/// end of the warm-up.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Latency from the due time, plus the wait for a free connection
    /// (open loop only; timeouts recorded at the timeout).
    pub corrected: Hist,
    /// Latency from the actual send (timeouts recorded at the timeout).
    pub uncorrected: Hist,
    /// Open loop: how late the client itself sent each request after it
    /// could have, `S − max(D, F)`; never part of the latencies.
    pub send_lateness: Hist,
    /// Responses by status code (index = code).
    pub status: Vec<u64>,
    /// Requests without a response, by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// HTTP/2 streams reset by the server, by error code (see
    /// [`RESET_CODES`]).
    pub resets: [u64; RESET_CODES],
    /// Sends that found no connection free at their due time (the
    /// server's doing: every connection was waiting on it).
    pub late_count: u64,
    /// The worst of those, µs after the due time.
    pub late_max_us: u64,
    /// Sends the client made late by more than [`CLIENT_LATE_US`].
    pub client_late_count: u64,
    /// Open loop: the send window, from the first recorded request's due
    /// time to the last recorded send, µs since the run's start.
    pub send_window_us: Option<(u64, u64)>,
    /// When the last recorded request ended.
    pub last_done_us: u64,
    /// With several targets: each one's figures, in the mix's order.
    pub targets: Vec<TargetTally>,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            corrected: new_hist(),
            uncorrected: new_hist(),
            send_lateness: new_hist(),
            status: vec![0; STATUS_SLOTS],
            errors: [0; ERROR_KINDS.len()],
            resets: [0; RESET_CODES],
            late_count: 0,
            late_max_us: 0,
            client_late_count: 0,
            send_window_us: None,
            last_done_us: 0,
            targets: Vec::new(),
        }
    }
}

impl Tally {
    /// Adds another thread's tally into this one.
    pub fn merge(&mut self, other: &Tally) {
        add(&mut self.corrected, &other.corrected);
        add(&mut self.uncorrected, &other.uncorrected);
        add(&mut self.send_lateness, &other.send_lateness);
        for (a, b) in self.status.iter_mut().zip(&other.status) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
        for (a, b) in self.resets.iter_mut().zip(&other.resets) {
            *a += b;
        }
        self.late_count += other.late_count;
        self.late_max_us = self.late_max_us.max(other.late_max_us);
        self.client_late_count += other.client_late_count;
        if let Some((first, last)) = other.send_window_us {
            self.widen_send_window(first, last);
        }
        self.last_done_us = self.last_done_us.max(other.last_done_us);
        if self.targets.len() < other.targets.len() {
            self.targets
                .resize_with(other.targets.len(), TargetTally::default);
        }
        for (a, b) in self.targets.iter_mut().zip(&other.targets) {
            a.merge(b);
        }
    }

    /// Makes the send window cover `first` to `last`.
    fn widen_send_window(&mut self, first: u64, last: u64) {
        self.send_window_us = Some(match self.send_window_us {
            Some((a, b)) => (a.min(first), b.max(last)),
            None => (first, last),
        });
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

    /// `(error code name, streams)` of every HTTP/2 reset seen, by code.
    pub fn reset_counts(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.resets
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (reset_name(code), n))
    }
}

/// One worker thread's recorder.
pub struct BenchRecorder {
    thread: usize,
    warmup_us: u64,
    timeout_us: u64,
    tally: Tally,
    interval: Interval,
    sink: Option<Arc<IntervalSink>>,
    /// The totals as of the last shipped second (its counts by kind are
    /// what they gained since).
    baseline: Baseline,
}

impl BenchRecorder {
    /// A recorder for worker `thread`, ignoring requests sent (or due)
    /// before `warmup_us`, recording timed-out requests at `timeout_us`,
    /// with figures of their own for each of `targets` (when more than
    /// one), shipping finished seconds to `sink` if any.
    pub fn new(
        thread: usize,
        warmup_us: u64,
        timeout_us: u64,
        targets: usize,
        sink: Option<Arc<IntervalSink>>,
    ) -> BenchRecorder {
        let mut tally = Tally::default();
        if targets > 1 {
            tally.targets.resize_with(targets, TargetTally::default);
        }
        BenchRecorder {
            thread,
            warmup_us,
            timeout_us,
            tally,
            interval: Interval::new(0),
            sink,
            baseline: Baseline::default(),
        }
    }

    /// The thread's totals and its unfinished last second.
    pub fn finish(mut self) -> (Tally, Interval) {
        self.interval.counts = self.baseline.take(&self.tally);
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
            let mut finished = std::mem::replace(&mut self.interval, Interval::new(second));
            // Once a second: the totals do not yet hold this record.
            finished.counts = self.baseline.take(&self.tally);
            if let Some(sink) = &self.sink {
                sink.ship(self.thread, finished);
            }
        }
        let t = &mut self.tally;
        t.last_done_us = t.last_done_us.max(done_us);
        self.interval.requests += 1;
        // A timed-out request took at least the timeout: it is in the tail,
        // at the timeout, as well as counted as an error.
        let mut target = t.targets.get_mut(record.target as usize);
        let took_us = match record.outcome {
            Outcome::Response { status, .. } => {
                t.status[usize::from(status).min(STATUS_SLOTS - 1)] += 1;
                if let Some(target) = target.as_deref_mut() {
                    target.response(status);
                }
                Some(u64::from(s.total_us))
            }
            Outcome::Error(kind) => {
                t.errors[error_index(kind)] += 1;
                if let ErrorKind::Reset(code) = kind {
                    t.resets[(code as usize).min(RESET_CODES - 1)] += 1;
                }
                self.interval.errors += 1;
                if let Some(target) = target.as_deref_mut() {
                    target.error(kind);
                }
                (kind == ErrorKind::Timeout).then_some(self.timeout_us)
            }
        };
        if let Some(uncorrected) = took_us {
            t.uncorrected.saturating_record(uncorrected);
            let corrected = scheduled.map(|sch| sch.corrected_us(uncorrected));
            if let Some(c) = corrected {
                t.corrected.saturating_record(c);
                // The log's second series (`Tag=uncorrected`).
                let _ = self
                    .interval
                    .uncorrected
                    .record(uncorrected.min(HIGHEST_US));
            }
            if let Some(target) = target {
                target.latency(uncorrected, corrected);
            }
            // An auto-resizing histogram: `record` grows it (a saturating
            // record would clamp to its current top).
            let primary = corrected.unwrap_or(uncorrected);
            let _ = self.interval.hist.record(primary.min(HIGHEST_US));
        }
        if let Some(sch) = scheduled {
            t.widen_send_window(sch.due_us, s.start_us);
            t.send_lateness.saturating_record(sch.send_lateness_us);
            if sch.late_us > 0 {
                t.late_count += 1;
                t.late_max_us = t.late_max_us.max(sch.late_us);
            }
            if sch.send_lateness_us > CLIENT_LATE_US {
                t.client_late_count += 1;
            }
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
