//! With `--targets`: what each target measured, beside the run's totals.
//!
//! Each target has its own pair of histograms, 2 significant digits (1 %)
//! and growing only as far as its values reach, so a thousand targets cost
//! a few tens of MB at most, and its own status and error counts: a small
//! list of the statuses it saw, not a slot per possible code.

use hdrhistogram::Histogram;

use crate::hist::{add, Hist, HIGHEST_US};
use crate::recorder::{error_index, error_name, ERROR_KINDS};

/// One target's figures.
#[derive(Debug, Clone)]
pub struct TargetTally {
    /// Latency from the due time plus any wait for a connection (open loop).
    pub corrected: Hist,
    /// Latency from the send.
    pub uncorrected: Hist,
    /// `(status, responses)`, in the order first seen.
    pub status: Vec<(u16, u64)>,
    /// Requests without a response, by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
}

impl Default for TargetTally {
    fn default() -> TargetTally {
        // Auto-resizing from a few buckets: 2 digits is valid precision.
        let small = || Histogram::new(2).expect("valid histogram precision");
        TargetTally {
            corrected: small(),
            uncorrected: small(),
            status: Vec::new(),
            errors: [0; ERROR_KINDS.len()],
        }
    }
}

impl TargetTally {
    /// Counts a response of `status`.
    pub fn response(&mut self, status: u16) {
        match self.status.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.status.push((status, 1)),
        }
    }

    /// Counts an error.
    pub fn error(&mut self, kind: speedup_load::ErrorKind) {
        self.errors[error_index(kind)] += 1;
    }

    /// Records a latency (µs): from the send, and corrected if open loop.
    pub fn latency(&mut self, uncorrected: u64, corrected: Option<u64>) {
        let _ = self.uncorrected.record(uncorrected.min(HIGHEST_US));
        if let Some(c) = corrected {
            let _ = self.corrected.record(c.min(HIGHEST_US));
        }
    }

    /// Adds another thread's figures for the same target.
    pub fn merge(&mut self, other: &TargetTally) {
        add(&mut self.corrected, &other.corrected);
        add(&mut self.uncorrected, &other.uncorrected);
        for &(status, n) in &other.status {
            match self.status.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => self.status.push((status, n)),
            }
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
    }

    /// Responses of any status.
    pub fn responses(&self) -> u64 {
        self.status.iter().map(|(_, n)| n).sum()
    }

    /// Responses with a 2xx status.
    pub fn ok(&self) -> u64 {
        self.status
            .iter()
            .filter(|(s, _)| (200..300).contains(s))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests without a response.
    pub fn error_count(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// `(status, responses)` by status code.
    pub fn statuses(&self) -> Vec<(u16, u64)> {
        let mut all = self.status.clone();
        all.sort_unstable();
        all
    }

    /// `(error name, requests)` of every kind seen, in report order.
    pub fn error_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ERROR_KINDS
            .iter()
            .zip(&self.errors)
            .filter(|&(_, &n)| n > 0)
            .map(|(&kind, &n)| (error_name(kind), n))
    }
}
