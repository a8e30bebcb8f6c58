//! One second's counts by kind (responses by status code, errors by kind,
//! late sends), carried by each [`crate::intervals::Interval`] for the live
//! `/metrics` ([`crate::live`]).
//!
//! They cost nothing per request: the recorder already counts every
//! request into its run totals ([`Tally`]), so when a second is shipped
//! (once a second per thread) its counts are the growth of those totals
//! since the previous ship ([`Baseline::take`]), a scan of the 1,000 status
//! slots and a small vector of the codes seen.

use crate::recorder::{Tally, ERROR_KINDS, STATUS_SLOTS};

/// What one second (of one thread, or merged) counted, besides latencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecondCounts {
    /// Responses by status code, `(code, count)`, codes in rising order.
    pub status: Vec<(u16, u64)>,
    /// Requests without a response, by [`ERROR_KINDS`] index.
    pub errors: [u64; ERROR_KINDS.len()],
    /// Sends that found every connection busy at their due time.
    pub late_sends: u64,
}

impl SecondCounts {
    /// Adds another second's (another thread's) counts.
    pub fn absorb(&mut self, other: &SecondCounts) {
        for &(code, n) in &other.status {
            match self.status.binary_search_by_key(&code, |&(c, _)| c) {
                Ok(i) => self.status[i].1 += n,
                Err(i) => self.status.insert(i, (code, n)),
            }
        }
        for (a, b) in self.errors.iter_mut().zip(&other.errors) {
            *a += b;
        }
        self.late_sends += other.late_sends;
    }
}

/// A thread's totals as of its last shipped second.
#[derive(Debug, Clone)]
pub struct Baseline {
    status: Vec<u64>,
    errors: [u64; ERROR_KINDS.len()],
    late_sends: u64,
}

impl Default for Baseline {
    fn default() -> Baseline {
        Baseline {
            status: vec![0; STATUS_SLOTS],
            errors: [0; ERROR_KINDS.len()],
            late_sends: 0,
        }
    }
}

impl Baseline {
    /// The counts `tally` gained since the last call, which become the
    /// new baseline.
    pub fn take(&mut self, tally: &Tally) -> SecondCounts {
        let mut counts = SecondCounts::default();
        for (code, (now, then)) in tally.status.iter().zip(&mut self.status).enumerate() {
            if *now != *then {
                counts.status.push((code as u16, *now - *then));
                *then = *now;
            }
        }
        for ((out, now), then) in counts
            .errors
            .iter_mut()
            .zip(&tally.errors)
            .zip(&mut self.errors)
        {
            *out = now - *then;
            *then = *now;
        }
        counts.late_sends = tally.late_count - self.late_sends;
        self.late_sends = tally.late_count;
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_gets_what_the_totals_gained() {
        let mut tally = Tally::default();
        let mut base = Baseline::default();
        tally.status[200] = 5;
        tally.status[503] = 1;
        tally.errors[3] = 2;
        tally.late_count = 4;
        let first = base.take(&tally);
        assert_eq!(first.status, [(200, 5), (503, 1)]);
        assert_eq!((first.errors[3], first.late_sends), (2, 4));
        tally.status[200] = 7;
        tally.status[404] = 1;
        let mut second = base.take(&tally);
        assert_eq!(second.status, [(200, 2), (404, 1)]);
        assert_eq!((second.errors[3], second.late_sends), (0, 0));
        assert_eq!(base.take(&tally), SecondCounts::default());
        second.absorb(&first);
        assert_eq!(second.status, [(200, 7), (404, 1), (503, 1)]);
        assert_eq!((second.errors[3], second.late_sends), (2, 4));
    }
}
