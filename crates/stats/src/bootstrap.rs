//! "Did my change make it faster?": two runs' figures, the change, and a
//! 95 % confidence interval of the change from a bootstrap over the runs'
//! seconds.
//!
//! Requests are not independent of each other: a stall, a GC pause or a
//! queue delays every request around it, so resampling single requests
//! would make the interval far too narrow. The per-second intervals of the
//! log are the units instead, the requests within a second kept together;
//! and since a disturbance can outlast a second, they are resampled in
//! blocks of consecutive seconds ([`block_len`]: 3 for a 10-second run, 4
//! for a minute), a circular block bootstrap. Each side is resampled to as
//! many seconds as it has, the figure is recomputed from the resampled
//! seconds added up, and the change's 2.5 % and 97.5 % points over the
//! resamples bound the interval.
//!
//! What the bootstrap cannot see is a difference between the moments the
//! two runs were made (another process busy during one of them): identical
//! runs made one after the other differ by about 1 % at the median on a
//! quiet machine, more on a busy one, and their intervals, which know only
//! the noise within each run, often exclude 0. So, as criterion does for
//! microbenchmarks, a change is only called one when its whole interval
//! lies beyond a noise band ([`Settings::noise_pct`], 1 % of the base by
//! default): `slower` above it, `faster` below it, `same` when the interval
//! holds 0 or reaches into the band. And a percentile is only compared when
//! each run has at least [`MIN_TAIL`] values above it (p99 needs 2000
//! responses, p99.9 20000): below that it rests on a handful of requests,
//! and reads `same`, marked too few. The max, a single request, has none
//! above it: it is shown with its interval and never judged.
//!
//! The resampling is seeded ([`SplitMix64`]), so a comparison of the same
//! logs gives the same interval every time.

use crate::series::Series;

/// Fewer units with values than this on a side, and no comparison is made.
pub const MIN_UNITS: usize = 5;

/// The confidence of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// A percentile is compared only when each run has this many values above
/// it.
pub const MIN_TAIL: f64 = 20.0;

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

    /// Its name with its unit, for a table: `p50 (ms)`, `throughput (/s)`.
    pub fn label(self) -> String {
        if self.is_latency() {
            format!("{} (ms)", self.name())
        } else {
            format!("{} (/s)", self.name())
        }
    }

    /// The decimals a table shows: 3 for ms (to the µs), 1 for a rate.
    pub fn decimals(self) -> usize {
        if self.is_latency() {
            3
        } else {
            1
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
    /// The interval holds 0 or reaches into the noise band (or the runs
    /// have too few values for the percentile): no change can be told from
    /// the noise.
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
    /// A percentile with fewer than [`MIN_TAIL`] values above it in a run,
    /// or the max (one request): its verdict is `same`, whatever the
    /// interval.
    pub too_few: bool,
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
    /// The noise band used, in % of the base.
    pub noise_pct: f64,
    /// Units with values, base and new.
    pub units: (usize, usize),
    /// Seconds per unit, base and new.
    pub block_s: (u64, u64),
}

/// How to resample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Resamples to draw (at least 100).
    pub resamples: usize,
    /// The seed.
    pub seed: u64,
    /// The noise band, in % of the base: a change whose interval reaches
    /// into ±this is `same`.
    pub noise_pct: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            resamples: 2000,
            seed: 1,
            noise_pct: 1.0,
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
    let values = (b.values(), n.values());
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
            // The max is one request: no values above it, never judged.
            let too_few = metric == Metric::Max
                || metric.percentile().is_some_and(|p| {
                    let fewest = values.0.min(values.1) as f64;
                    fewest * (1.0 - p / 100.0) < MIN_TAIL
                });
            let band = base.abs() * settings.noise_pct / 100.0;
            Change {
                metric,
                base,
                new,
                change: new - base,
                change_pct: (base != 0.0).then(|| (new - base) / base * 100.0),
                ci: (lo, hi),
                verdict: if too_few {
                    Verdict::Same
                } else {
                    verdict(metric, (lo, hi), band)
                },
                too_few,
            }
        })
        .collect();
    Ok(Comparison {
        changes,
        resamples,
        seed: settings.seed,
        noise_pct: settings.noise_pct,
        units: (base.units_with_values(), new.units_with_values()),
        block_s: (base.block_s(), new.block_s()),
    })
}

/// What an interval `ci` of a change says, beyond a noise band of `band`
/// either side of 0: a latency above it is `slower`, a rate above it
/// `faster`.
fn verdict(metric: Metric, (lo, hi): (f64, f64), band: f64) -> Verdict {
    let (up, down) = if metric.is_latency() {
        (Verdict::Slower, Verdict::Faster)
    } else {
        (Verdict::Faster, Verdict::Slower)
    };
    if lo > band {
        up
    } else if hi < -band {
        down
    } else {
        Verdict::Same
    }
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

    /// Every metric of one resample: as many units as there are, in
    /// circular blocks of consecutive units drawn uniformly with replacement
    /// (and the same for the rates).
    fn resampled(&self, rng: &mut SplitMix64, scratch: &mut Scratch) -> [f64; 7] {
        scratch.counts.clear();
        scratch.counts.resize(self.highest.len(), 0);
        for u in blocks(self.units.len(), rng) {
            for &(i, n) in &self.units[u] {
                scratch.counts[i as usize] += n;
            }
        }
        let (mut count, mut length) = (0, 0.0);
        for u in blocks(self.rates.len(), rng) {
            let (c, l) = self.rates[u];
            count += c;
            length += l;
        }
        self.metrics(&scratch.counts, count, length)
    }

    /// Values recorded in all units.
    fn values(&self) -> u64 {
        self.units.iter().flatten().map(|&(_, n)| n).sum()
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

/// The length of a resampling block over `n` units in time order:
/// ⌈n^(1/3)⌉ (3 for a 10-second run, 4 for a minute), the order of block
/// length that suits a bootstrap of dependent data.
pub fn block_len(n: usize) -> usize {
    ((n as f64).cbrt().ceil() as usize).clamp(1, n.max(1))
}

/// The indexes of one circular block bootstrap draw over `n` units (`n >
/// 0`): blocks of [`block_len`] consecutive units, wrapping at the end, from
/// uniform starts, until `n` are drawn.
fn blocks(n: usize, rng: &mut SplitMix64) -> impl Iterator<Item = usize> + '_ {
    let b = block_len(n);
    let starts = n.div_ceil(b);
    (0..starts)
        .flat_map(move |_| {
            let start = rng.below(n);
            (0..b).map(move |j| (start + j) % n)
        })
        .take(n)
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
