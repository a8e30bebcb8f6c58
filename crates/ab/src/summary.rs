//! ab's summary statistics, by ab 2.3's own rules, so that the report
//! built from the same samples matches what `ab` prints to the byte:
//!
//! - means are integer divisions of integer µs sums;
//! - the standard deviation is the *sample* one (divided by n - 1), taken
//!   around that truncated integer mean, and 0 for a single sample;
//! - the median follows ab's rule, which averages two neighbours when the
//!   count is *odd* (ab's parity test is inverted; we keep it, see
//!   [`median`]);
//! - µs become whole ms by `(us + 500) / 1000`.
//!
//! Percentiles and the CDF are not here: they are computed in one place for
//! everyone, `speedup_stats`.

use speedup_load::Sample;

/// The percentiles of ab's "Percentage of the requests served" table.
pub const AB_PERCENTS: [u32; 9] = [50, 66, 75, 80, 90, 95, 98, 99, 100];

/// Sorts samples by total time, fastest first, as ab does before its
/// percentile table, its `-e` CSV and its `-g` TSV.
///
/// The sort is stable so equal totals keep their completion order.
pub fn sort_by_total(samples: &mut [Sample]) {
    samples.sort_by_key(|s| s.total_us);
}

/// Whole milliseconds from µs, rounded half up, as ab's `ap_round_ms`.
pub fn round_ms(us: u64) -> u64 {
    (us + 500) / 1000
}

/// ab's mean: the integer sum divided (truncating) by the count; 0 for none.
pub fn mean(values: &[u32]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.iter().map(|&v| u64::from(v)).sum::<u64>() / values.len() as u64
}

/// ab's standard deviation: the sample standard deviation around ab's
/// truncated integer `mean`, in the same unit as the values; 0 for fewer
/// than two values.
pub fn sample_sd(values: &[u32], mean: u64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean as f64;
    let sum: f64 = values.iter().map(|&v| (f64::from(v) - m).powi(2)).sum();
    (sum / (values.len() - 1) as f64).sqrt()
}

/// ab's median of `sorted` (ascending); 0 for none.
///
/// ab averages (truncating) the values at `n / 2` and `n / 2 + 1` when the
/// count is odd and above 1, and takes the value at `n / 2` otherwise. That
/// is the textbook rule with the parity inverted; we keep it so our
/// "median" column equals ab's.
pub fn median(sorted: &[u32]) -> u64 {
    let n = sorted.len();
    match n {
        0 => 0,
        n if n > 1 && n % 2 == 1 => (u64::from(sorted[n / 2]) + u64::from(sorted[n / 2 + 1])) / 2,
        n => u64::from(sorted[n / 2]),
    }
}

/// One row of ab's "Connection Times (ms)" table, already in ms as ab
/// prints it: whole ms for min, mean, median and max, fractional for sd.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ColumnStats {
    /// Smallest value, whole ms.
    pub min: u64,
    /// ab's integer mean, then rounded to whole ms.
    pub mean: u64,
    /// ab's sample standard deviation, ms.
    pub sd: f64,
    /// ab's median, whole ms.
    pub median: u64,
    /// Largest value, whole ms.
    pub max: u64,
}

impl ColumnStats {
    /// Computes a table row from µs values by ab's rules. Sorts `values`
    /// in place (ab sorts its array for each median). All zero when empty.
    pub fn from_us(values: &mut [u32]) -> ColumnStats {
        if values.is_empty() {
            return ColumnStats::default();
        }
        values.sort_unstable();
        let m = mean(values);
        ColumnStats {
            min: round_ms(u64::from(values[0])),
            mean: round_ms(m),
            sd: sample_sd(values, m) / 1000.0,
            median: round_ms(median(values)),
            max: round_ms(u64::from(values[values.len() - 1])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_uses_abs_inverted_parity() {
        assert_eq!(median(&[1, 2, 3]), 2); // (2 + 3) / 2, truncated
        assert_eq!(median(&[1, 2, 3, 4]), 3); // sorted[2]
        assert_eq!(median(&[5]), 5);
        assert_eq!(median(&[]), 0);
    }

    #[test]
    fn mean_and_sd_are_abs() {
        assert_eq!(mean(&[1, 2]), 1);
        assert!((sample_sd(&[1, 2], 1) - 1.0f64.sqrt()).abs() < 1e-12);
        assert_eq!(sample_sd(&[5], 5), 0.0);
        assert_eq!(round_ms(1499), 1);
        assert_eq!(round_ms(1500), 2);
    }
}
