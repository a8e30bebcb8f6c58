//! A run second by second, as its interval log holds it: the units a
//! comparison resamples ([`crate::bootstrap`]) and the points of a page's
//! latency-over-time and requests-per-second charts ([`Series::seconds`]).
//!
//! Intervals are grouped by the second they start in (absolute time), so
//! the logs of generators that ran side by side add into the same seconds,
//! and the logs of runs one after another into successive ones. A unit
//! keeps only its non-empty buckets. Memory stays bounded however long the
//! run: past [`MAX_UNITS`] units, neighbouring units are joined into blocks
//! of 2, 4, 8, ... seconds (a block of seconds is as good a resampling
//! unit as a second, and more independent of its neighbours).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

/// The most units a series keeps before joining neighbours into blocks
/// twice as long.
pub const MAX_UNITS: usize = 600;

/// The latencies that ended in one block of seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Unit {
    /// `(lowest equivalent value, count)` of each non-empty bucket, µs, by
    /// rising value.
    pub(crate) counts: Vec<(u64, u64)>,
}

impl Unit {
    /// Values recorded.
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().map(|&(_, n)| n).sum()
    }
}

/// A run's latencies grouped by second (or, for long runs, by block).
#[derive(Debug, Clone)]
pub struct Series {
    /// A histogram of the shape values are bucketed in, for its equivalence
    /// rules (lowest, highest and median equivalent of a value).
    pub(crate) shape: Histogram<u64>,
    /// Seconds per unit: 1, 2, 4, ...
    block_s: u64,
    /// Units by block number (absolute second / `block_s`).
    pub(crate) units: BTreeMap<u64, Unit>,
    /// The length of each absolute second's interval (the longest, when
    /// several logs cover the same second), for rates.
    lengths: BTreeMap<u64, f64>,
}

/// One unit's figures, for a chart over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Second {
    /// When the unit starts, seconds after the series' first unit.
    pub start_s: u64,
    /// How long its intervals lasted, seconds.
    pub length_s: f64,
    /// Values recorded.
    pub count: u64,
    /// Median, 99th percentile and largest value, µs; `None` when empty.
    pub p50_p99_max_us: Option<(u64, u64, u64)>,
}

impl Second {
    /// Values per second over the unit.
    pub fn rate(&self) -> f64 {
        if self.length_s > 0.0 {
            self.count as f64 / self.length_s
        } else {
            0.0
        }
    }
}

impl Series {
    /// An empty series bucketing values as a histogram of `sigfig`
    /// significant digits does (at most 5).
    pub fn new(sigfig: u8) -> Series {
        Series {
            shape: Histogram::new(sigfig.min(5)).expect("1 to 5 significant digits"),
            block_s: 1,
            units: BTreeMap::new(),
            lengths: BTreeMap::new(),
        }
    }

    /// Adds one interval: it started at `start_s` (seconds, absolute), lasted
    /// `length_s` seconds and holds `counts` (`(value, count)` by rising
    /// value, µs). Negative or non-finite times count as 0.
    pub fn add(&mut self, start_s: f64, length_s: f64, counts: &[(u64, u64)]) {
        let second = if start_s.is_finite() && start_s > 0.0 {
            start_s as u64
        } else {
            0
        };
        let length = if length_s.is_finite() {
            length_s.max(0.0)
        } else {
            0.0
        };
        let seen = self.lengths.entry(second).or_insert(0.0);
        *seen = seen.max(length);
        let shape = &self.shape;
        let unit = self.units.entry(second / self.block_s).or_default();
        let mapped = counts
            .iter()
            .filter(|&&(_, n)| n > 0)
            .map(|&(v, n)| (shape.lowest_equivalent(v), n));
        merge_sorted(&mut unit.counts, mapped);
        if self.units.len() > MAX_UNITS {
            self.coarsen();
        }
    }

    /// Seconds per unit (1 until the run grew past [`MAX_UNITS`] seconds).
    pub fn block_s(&self) -> u64 {
        self.block_s
    }

    /// Units in which some value was recorded.
    pub fn units_with_values(&self) -> usize {
        self.units.values().filter(|u| !u.counts.is_empty()).count()
    }

    /// Each unit's figures, in time order, with the empty ones.
    pub fn seconds(&self) -> Vec<Second> {
        let first = self.units.keys().next().copied().unwrap_or(0);
        self.units
            .iter()
            .map(|(&block, unit)| {
                let total = unit.total();
                let figures = (total > 0).then(|| {
                    let at = |q: f64| self.highest_at(&unit.counts, total, q);
                    let max = unit.counts.last().map_or(0, |&(v, _)| v);
                    (at(0.5), at(0.99), self.shape.highest_equivalent(max))
                });
                Second {
                    start_s: (block - first) * self.block_s,
                    length_s: self.length_of(block),
                    count: total,
                    p50_p99_max_us: figures,
                }
            })
            .collect()
    }

    /// The seconds a unit covers, added.
    pub(crate) fn length_of(&self, block: u64) -> f64 {
        let from = block * self.block_s;
        self.lengths
            .range(from..from + self.block_s)
            .map(|(_, l)| l)
            .sum()
    }

    /// HdrHistogram's value at quantile `q` of sorted `counts` adding up to
    /// `total` (> 0): the highest equivalent of the value at rank
    /// `ceil(q · total)`, at least the first.
    fn highest_at(&self, counts: &[(u64, u64)], total: u64, q: f64) -> u64 {
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(v, n) in counts {
            seen += n;
            if seen >= rank {
                return self.shape.highest_equivalent(v);
            }
        }
        counts
            .last()
            .map_or(0, |&(v, _)| self.shape.highest_equivalent(v))
    }

    /// Joins neighbouring units until at most [`MAX_UNITS`] are left.
    fn coarsen(&mut self) {
        while self.units.len() > MAX_UNITS {
            self.block_s *= 2;
            let old = std::mem::take(&mut self.units);
            for (block, unit) in old {
                let into = self.units.entry(block / 2).or_default();
                merge_sorted(&mut into.counts, unit.counts.into_iter());
            }
        }
    }
}

/// Adds `more` (sorted by value, duplicates allowed) into `into` (sorted,
/// one entry per value), keeping it sorted with one entry per value.
fn merge_sorted(into: &mut Vec<(u64, u64)>, more: impl Iterator<Item = (u64, u64)>) {
    let old = std::mem::take(into);
    let mut old = old.into_iter().peekable();
    let mut more = more.peekable();
    let mut push = |(v, n): (u64, u64)| match into.last_mut() {
        Some(last) if last.0 == v => last.1 += n,
        _ => into.push((v, n)),
    };
    loop {
        let next = match (old.peek(), more.peek()) {
            (Some(a), Some(b)) if a.0 <= b.0 => old.next(),
            (Some(_), Some(_)) | (None, Some(_)) => more.next(),
            (Some(_), None) => old.next(),
            (None, None) => break,
        };
        if let Some(entry) = next {
            push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_hold_hdrhistogram_s_figures() {
        let mut series = Series::new(3);
        let mut reference = Histogram::<u64>::new(3).unwrap();
        // Two logs side by side: the same absolute seconds add up.
        for log in 0..2u64 {
            for s in 0..3u64 {
                let counts: Vec<(u64, u64)> = (1..=100).map(|v| (v * 37 + s + log, 1)).collect();
                series.add(1_700_000_000.25 + s as f64, 1.0, &counts);
                if s == 1 {
                    for &(v, n) in &counts {
                        reference.record_n(v, n).unwrap();
                    }
                }
            }
        }
        let seconds = series.seconds();
        assert_eq!(seconds.len(), 3);
        let one = &seconds[1];
        assert_eq!((one.start_s, one.length_s, one.count), (1, 1.0, 200));
        assert_eq!(
            one.p50_p99_max_us,
            Some((
                reference.value_at_quantile(0.5),
                reference.value_at_quantile(0.99),
                reference.max()
            ))
        );
        assert_eq!(one.rate(), 200.0);
    }

    #[test]
    fn long_runs_are_kept_in_blocks() {
        let mut series = Series::new(3);
        for s in 0..(MAX_UNITS as u64 * 3) {
            series.add(s as f64, 1.0, &[(100 + s % 7, 2)]);
        }
        assert_eq!(series.block_s(), 4);
        assert!(series.units.len() <= MAX_UNITS);
        let seconds = series.seconds();
        assert_eq!(seconds[1].start_s, 4);
        assert_eq!((seconds[1].length_s, seconds[1].count), (4.0, 8));
        let total: u64 = seconds.iter().map(|s| s.count).sum();
        assert_eq!(total, MAX_UNITS as u64 * 6);
    }

    #[test]
    fn merging_keeps_one_sorted_entry_per_value() {
        let mut into = vec![(1, 1), (5, 1), (9, 1)];
        merge_sorted(&mut into, [(0, 2), (5, 3), (5, 1), (10, 1)].into_iter());
        assert_eq!(into, [(0, 2), (1, 1), (5, 5), (9, 1), (10, 1)]);
    }
}
