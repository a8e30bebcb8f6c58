//! `speedup-stats`: the one place where percentiles, the cumulative
//! distribution and their confidence intervals are computed. Light on
//! purpose (no charts; its only I/O is reading a file the user names within
//! bounds, [`bounded`], which every front end needs): `speedup-ab` and
//! `speedup-bench` use it and compile nothing more than `hdrhistogram`'s
//! core.
//!
//! For samples the rules are Apache Bench 2.3's own, so that a report or
//! CSV built from the same samples matches what `ab` prints to the byte:
//!
//! - table percentiles take the value at index `n * p / 100`;
//! - CDF rows (ab's `-e` CSV) take the value at index `floor(0.5 + n * i / 100)`.
//!
//! Renderers (ab's report, CSV and TSV, the lab's figures, charts) ask this
//! crate; nobody else ranks samples. ab's other summary statistics (its
//! integer mean, sample sd, inverted-parity median) live with ab, in
//! `speedup-ab`.
//!
//! `speedup bench` keeps no samples but HDR histograms; their percentiles,
//! summary and CDF rows are read here too ([`HistSummary`], [`hist_cdf_rows`]),
//! by HdrHistogram's rules (a percentile is the highest value equivalent to
//! the sample at that rank, within 3 significant digits). A run's
//! seconds ([`series`]) and the confidence interval of a change between two
//! runs ([`bootstrap`]) follow the same rules.

pub mod bootstrap;
pub mod bounded;
pub mod series;

pub use series::Series;

/// The header line of ab's `-e` CSV, before its 101 rows ([`cdf_rows`]).
pub const CDF_CSV_HEADER: &str = "Percentage served,Time in ms";

/// The index ab reads for percentile `p` (0..=100) of `n` sorted values in
/// its report table: `n * p / 100`, and the last value for `p >= 100`.
///
/// Returns `None` when `n` is 0. The index is clamped to `n - 1`; for
/// `p < 100` ab's own index never reaches `n`, so the clamp only guards
/// against misuse.
pub fn percentile_index(n: usize, p: u32) -> Option<usize> {
    if n == 0 {
        return None;
    }
    if p >= 100 {
        return Some(n - 1);
    }
    Some((n as u64 * u64::from(p) / 100).min(n as u64 - 1) as usize)
}

/// The value at percentile `p` (0..=100) of `sorted` (ascending), by ab's
/// table rule ([`percentile_index`]). `None` for an empty slice.
pub fn percentile<T: Copy>(sorted: &[T], p: u32) -> Option<T> {
    percentile_index(sorted.len(), p).map(|i| sorted[i])
}

/// The index ab reads for row `i` (0..=100) of its `-e` CSV over `n` sorted
/// values: row 0 is the fastest, row 100 the slowest, and row `i` in between
/// is `floor(0.5 + n * i / 100)` (computed in `f64`, as ab does).
///
/// For small `n` that rounding reaches `n` in the top rows (for `n = 20`,
/// rows 98 and 99 give index 20), where ab reads past the end of its array
/// and prints whatever memory follows. We clamp to the slowest value instead.
/// Returns `None` when `n` is 0.
pub fn cdf_index(n: usize, i: u32) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let index = match i {
        0 => 0,
        i if i >= 100 => n - 1,
        i => (0.5 + n as f64 * f64::from(i) / 100.0) as usize,
    };
    Some(index.min(n - 1))
}

/// The 101 rows `(i, value)` of ab's `-e` CSV, `i` from 0 to 100, over
/// `sorted` (ascending) by [`cdf_index`]. Empty for an empty slice.
pub fn cdf_rows<T: Copy>(sorted: &[T]) -> Vec<(u32, T)> {
    (0..=100)
        .filter_map(|i| cdf_index(sorted.len(), i).map(|k| (i, sorted[k])))
        .collect()
}

/// Milliseconds as a float from µs, as ab's `ap_double_ms`.
pub fn ms_f64(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The percentiles of `speedup bench`'s summary and JSON.
pub const BENCH_PERCENTILES: [f64; 7] = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99];

/// Latency figures of one HDR histogram of µs values.
#[derive(Clone, Debug, PartialEq)]
pub struct HistSummary {
    /// Number of values recorded.
    pub count: u64,
    /// Smallest value, µs (lowest equivalent).
    pub min_us: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Population standard deviation, µs.
    pub stdev_us: f64,
    /// Largest value, µs (highest equivalent).
    pub max_us: u64,
    /// `(percentile, µs)` for each of [`BENCH_PERCENTILES`].
    pub percentiles: Vec<(f64, u64)>,
}

impl HistSummary {
    /// The figures of `h`; `None` when it holds no value.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Option<HistSummary> {
        if h.is_empty() {
            return None;
        }
        Some(HistSummary {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            stdev_us: h.stdev(),
            max_us: h.max(),
            percentiles: BENCH_PERCENTILES
                .iter()
                .map(|&p| (p, h.value_at_percentile(p)))
                .collect(),
        })
    }

    /// The value at percentile `p` (one of [`BENCH_PERCENTILES`]), µs.
    pub fn at(&self, p: f64) -> Option<u64> {
        self.percentiles
            .iter()
            .find(|(q, _)| *q == p)
            .map(|&(_, v)| v)
    }
}

/// The value at percentile `p` (0..=100) of `h`, µs; 0 when empty.
pub fn hist_percentile(h: &hdrhistogram::Histogram<u64>, p: f64) -> u64 {
    h.value_at_percentile(p)
}

/// The 101 rows `(i, µs)` of an ab `-e` CSV from a histogram: row 0 is the
/// smallest value, row 100 the largest, row `i` the value at percentile
/// `i`. Empty for an empty histogram.
pub fn hist_cdf_rows(h: &hdrhistogram::Histogram<u64>) -> Vec<(u32, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    (0..=100u32)
        .map(|i| {
            let v = match i {
                0 => h.min(),
                100 => h.max(),
                i => h.value_at_percentile(f64::from(i)),
            };
            (i, v)
        })
        .collect()
}

/// Points per halving of the distance to 100 % in [`hist_spectrum`], as
/// HdrHistogram's own percentile distribution output uses.
pub const SPECTRUM_TICKS: u32 = 5;

/// The percentile spectrum of `h`: HdrHistogram's percentile distribution,
/// `(percentile, µs)` with [`SPECTRUM_TICKS`] points per halving of the
/// distance to 100 %, so the tail is sampled as finely as the middle on a
/// 1/(1−p) axis. It starts at (0, min) and ends at (100, max). Empty for an
/// empty histogram.
pub fn hist_spectrum(h: &hdrhistogram::Histogram<u64>) -> Vec<(f64, u64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points = vec![(0.0, h.min())];
    for v in h.iter_quantiles(SPECTRUM_TICKS) {
        let pct = v.quantile_iterated_to() * 100.0;
        if pct > 0.0 && pct < 100.0 {
            points.push((pct, v.value_iterated_to()));
        }
    }
    points.push((100.0, h.max()));
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_figures_and_cdf_rows() {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v).unwrap();
        }
        let s = HistSummary::of(&h).unwrap();
        assert_eq!((s.count, s.min_us, s.max_us), (1000, 1, 1000));
        assert_eq!(s.at(50.0), Some(500));
        assert_eq!(s.at(99.0), Some(990));
        assert!((s.mean_us - 500.5).abs() < 0.01);
        let rows = hist_cdf_rows(&h);
        assert_eq!(rows.len(), 101);
        assert_eq!(
            (rows[0], rows[50], rows[100]),
            ((0, 1), (50, 500), (100, 1000))
        );
        assert!(HistSummary::of(&hdrhistogram::Histogram::<u64>::new(3).unwrap()).is_none());
    }

    #[test]
    fn the_spectrum_reaches_into_the_tail_and_ends_at_the_max() {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_max(3_600_000_000, 3).unwrap();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let points = hist_spectrum(&h);
        assert_eq!(points[0], (0.0, 1));
        assert_eq!(*points.last().unwrap(), (100.0, h.max()));
        assert!(points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        // Into the 99.99th percentile, about as finely as around the median.
        assert!(
            points.iter().any(|&(p, _)| p > 99.99 && p < 100.0),
            "{points:?}"
        );
        let p99 = points.iter().find(|&&(p, _)| p >= 99.0).unwrap();
        assert_eq!(p99.1, h.value_at_percentile(p99.0));
        assert!(hist_spectrum(&hdrhistogram::Histogram::<u64>::new(3).unwrap()).is_empty());
    }

    #[test]
    fn cdf_index_follows_ab_and_clamps_past_the_end() {
        assert_eq!(cdf_index(20, 1), Some(0));
        assert_eq!(cdf_index(20, 3), Some(1));
        assert_eq!(cdf_index(20, 97), Some(19));
        // ab reads stats[20] here; we clamp to the slowest.
        assert_eq!(cdf_index(20, 98), Some(19));
        assert_eq!(cdf_index(20, 100), Some(19));
        assert_eq!(cdf_index(0, 50), None);
        assert_eq!(cdf_rows(&[7u32]).len(), 101);
    }

    #[test]
    fn percentile_uses_integer_index() {
        let v: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(6));
        assert_eq!(percentile(&v, 99), Some(10));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile::<u32>(&[], 50), None);
    }
}
