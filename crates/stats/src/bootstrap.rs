//! "Did my change make it faster?": two runs' figures, the change, and a
//! 95 % confidence interval of the change from a bootstrap over the runs'
//! seconds.
//!
//! Requests are not independent of each other: a stall, a GC pause or a
//! queue delays every request around it, so resampling single requests
//! would make the interval far too narrow. The per-second intervals of the
//! log are the units instead: a disturbance rarely outlasts a second, so
//! neighbouring seconds are nearly independent, while the requests within a
//! second stay together. Each side's seconds are resampled with replacement
//! (as many as it has), the figure is recomputed from the resampled
//! seconds added up, and the change's 2.5 % and 97.5 % points over the
//! resamples bound the interval. The verdict is `same` when the interval
//! holds 0. What the bootstrap cannot see is a difference between the
//! moments the two runs were made (another process busy during one of
//! them): identical runs made at different times can still differ.
//!
//! The resampling is seeded ([`SplitMix64`]), so a comparison of the same
//! logs gives the same interval every time.

use crate::series::Series;

/// Fewer units with values than this on a side, and no comparison is made.
pub const MIN_UNITS: usize = 5;

/// The confidence of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// What is compared, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Largest latency.
    Max,
    /// Mean latency.
    Mean,
    /// Responses per second.
    Throughput,
}

impl Metric {
    /// Every metric, in output order.
    pub const ALL: [Metric; 7] = [
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::P999,
        Metric::Max,
        Metric::Mean,
        Metric::Throughput,
    ];

    /// Its name in tables and JSON: `p50`, `p99.9`, `throughput`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::P999 => "p99.9",
            Metric::Max => "max",
            Metric::Mean => "mean",
            Metric::Throughput => "throughput",
        }
    }

    /// Whether it is a latency (ms; lower is faster) rather than a rate
    /// (responses per second; higher is faster).
    pub fn is_latency(self) -> bool {
        self != Metric::Throughput
    }

    /// The percentile of a percentile metric.
    fn percentile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(50.0),
            Metric::P90 => Some(90.0),
            Metric::P99 => Some(99.0),
            Metric::P999 => Some(99.9),
            _ => None,
        }
    }
}

/// What the interval says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole interval is on the better side of 0.
    Faster,
    /// The whole interval is on the worse side of 0.
    Slower,
    /// The interval holds 0: no change can be told from the noise.
    Same,
}

impl Verdict {
    /// `faster`, `slower`, `same`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::Same => "same",
        }
    }
}

/// One metric of both runs and its change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Which.
    pub metric: Metric,
    /// The base run's value: ms for a latency, responses/s for throughput.
    pub base: f64,
    /// The new run's value, in the same unit.
    pub new: f64,
    /// `new - base`.
    pub change: f64,
    /// The change in % of `base`; `None` when `base` is 0.
    pub change_pct: Option<f64>,
    /// The confidence interval of the change, low and high.
    pub ci: (f64, f64),
    /// What the interval says.
    pub verdict: Verdict,
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One per [`Metric::ALL`].
    pub changes: Vec<Change>,
    /// Resamples drawn.
    pub resamples: usize,
    /// The seed of the resampling.
    pub seed: u64,
    /// Units with values, base and new.
    pub units: (usize, usize),
    /// Seconds per unit, base and new.
    pub block_s: (u64, u64),
}

/// How to resample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Resamples to draw (at least 100).
    pub resamples: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            resamples: 2000,
            seed: 1,
        }
    }
}

/// A side with too few units to compare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {side} run has {units} second{s} with responses; a comparison needs at least {MIN_UNITS} a side to tell a change from noise: run for longer (e.g. -d 10s)", s = if *units == 1 { "" } else { "s" })]
pub struct TooFew {
    /// `base` or `new`.
    pub side: &'static str,
    /// Its units with values.
    pub units: usize,
}

/// Compares `new` with `base`.
pub fn compare(base: &Series, new: &Series, settings: Settings) -> Result<Comparison, TooFew> {
    let sides = [("base", base), ("new", new)];
    for (side, series) in sides {
        let units = series.units_with_values();
        if units < MIN_UNITS {
            return Err(TooFew { side, units });
        }
    }
    let (b, n) = (Frozen::of(base), Frozen::of(new));
    let (point_b, point_n) = (b.whole(), n.whole());
    let resamples = settings.resamples.max(100);
    let mut rng = SplitMix64::new(settings.seed);
    let mut diffs: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); Metric::ALL.len()];
    let mut scratch = Scratch::default();
    for _ in 0..resamples {
        let fb = b.resampled(&mut rng, &mut scratch);
        let fn_ = n.resampled(&mut rng, &mut scratch);
        for (i, d) in diffs.iter_mut().enumerate() {
            d.push(fn_[i] - fb[i]);
        }
    }
    let changes = Metric::ALL
        .iter()
        .enumerate()
        .map(|(i, &metric)| {
            let d = &mut diffs[i];
            d.sort_by(f64::total_cmp);
            let tail = (1.0 - CONFIDENCE) / 2.0;
            let lo = d[(d.len() as f64 * tail).floor() as usize];
            let hi = d[(d.len() as f64 * (1.0 - tail)).ceil() as usize - 1];
            let (base, new) = (point_b[i], point_n[i]);
            let better_up = !metric.is_latency();
            let verdict = if lo > 0.0 {
                if better_up {
                    Verdict::Faster
                } else {
                    Verdict::Slower
                }
            } else if hi < 0.0 {
                if better_up {
                    Verdict::Slower
                } else {
                    Verdict::Faster
                }
            } else {
                Verdict::Same
            };
            Change {
                metric,
                base,
                new,
                change: new - base,
                change_pct: (base != 0.0).then(|| (new - base) / base * 100.0),
                ci: (lo, hi),
                verdict,
            }
        })
        .collect();
    Ok(Comparison {
        changes,
        resamples,
        seed: settings.seed,
        units: (base.units_with_values(), new.units_with_values()),
        block_s: (base.block_s(), new.block_s()),
    })
}

/// A series ready to resample: its distinct values indexed once, each unit
/// as `(index, count)` pairs, and every unit's count and length for rates.
struct Frozen {
    /// Highest equivalent of each distinct value (what percentiles report).
    highest: Vec<u64>,
    /// Median equivalent of each distinct value (what the mean adds up).
    median: Vec<u64>,
    /// Units with values.
    units: Vec<Vec<(u32, u64)>>,
    /// Every unit, empty ones too: `(count, length in seconds)`.
    rates: Vec<(u64, f64)>,
}

/// Buffers reused from resample to resample.
#[derive(Default)]
struct Scratch {
    counts: Vec<u64>,
}

impl Frozen {
    fn of(series: &Series) -> Frozen {
        let mut values: Vec<u64> = series
            .units
            .values()
            .flat_map(|u| u.counts.iter().map(|&(v, _)| v))
            .collect();
        values.sort_unstable();
        values.dedup();
        let index = |v: u64| values.binary_search(&v).expect("a value of the series") as u32;
        let units = series
            .units
            .values()
            .filter(|u| !u.counts.is_empty())
            .map(|u| u.counts.iter().map(|&(v, n)| (index(v), n)).collect())
            .collect();
        let rates = series
            .units
            .iter()
            .map(|(&block, u)| (u.total(), series.length_of(block)))
            .collect();
        Frozen {
            highest: values
                .iter()
                .map(|&v| series.shape.highest_equivalent(v))
                .collect(),
            median: values
                .iter()
                .map(|&v| series.shape.median_equivalent(v))
                .collect(),
            units,
            rates,
        }
    }

    /// Every metric of one resample: as many units as there are, drawn
    /// uniformly with replacement (and the same for the rates).
    fn resampled(&self, rng: &mut SplitMix64, scratch: &mut Scratch) -> [f64; 7] {
        scratch.counts.clear();
        scratch.counts.resize(self.highest.len(), 0);
        for _ in 0..self.units.len() {
            for &(i, n) in &self.units[rng.below(self.units.len())] {
                scratch.counts[i as usize] += n;
            }
        }
        let (mut count, mut length) = (0, 0.0);
        for _ in 0..self.rates.len() {
            let (c, l) = self.rates[rng.below(self.rates.len())];
            count += c;
            length += l;
        }
        self.metrics(&scratch.counts, count, length)
    }

    /// Every metric of the whole series.
    fn whole(&self) -> [f64; 7] {
        let mut counts = vec![0; self.highest.len()];
        for unit in &self.units {
            for &(i, n) in unit {
                counts[i as usize] += n;
            }
        }
        let count = self.rates.iter().map(|r| r.0).sum();
        let length = self.rates.iter().map(|r| r.1).sum();
        self.metrics(&counts, count, length)
    }

    /// The metrics of `counts` (per distinct value), latencies in ms, and
    /// the rate of `count` responses over `length` seconds.
    fn metrics(&self, counts: &[u64], count: u64, length: f64) -> [f64; 7] {
        let total: u64 = counts.iter().sum();
        let mut out = [0.0; 7];
        let ms = |us: u64| us as f64 / 1000.0;
        let ranks: Vec<(usize, u64)> = Metric::ALL
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.percentile().map(|p| (i, p)))
            .map(|(i, p)| (i, (((p / 100.0) * total as f64).ceil() as u64).max(1)))
            .collect();
        let (mut seen, mut next, mut sum) = (0u64, 0usize, 0.0);
        for (v, &n) in counts.iter().enumerate().filter(|(_, &n)| n > 0) {
            seen += n;
            sum += self.median[v] as f64 * n as f64;
            while next < ranks.len() && seen >= ranks[next].1 {
                out[ranks[next].0] = ms(self.highest[v]);
                next += 1;
            }
            out[4] = ms(self.highest[v]);
        }
        if total > 0 {
            out[5] = sum / total as f64 / 1000.0;
        }
        out[6] = if length > 0.0 {
            count as f64 / length
        } else {
            0.0
        };
        out
    }
}

/// A tiny, fast, seedable generator (Steele, Lea and Flood's SplitMix64):
/// plenty for drawing resamples, and the same numbers on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by Lemire's multiply-shift.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests;
