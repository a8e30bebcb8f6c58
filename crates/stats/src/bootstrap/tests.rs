//! The verdict on synthetic runs: a known shift is found with an interval
//! around it, no shift reads `same` about as often as 95 % promises, the
//! figures are HdrHistogram's own, and the resampling is deterministic.

use super::*;
use hdrhistogram::Histogram;

/// `seconds` one-second intervals of `per_second` latencies each, around
/// `centre_us` with ±20 % spread drawn from `seed`, plus `shift_us`.
fn run(seed: u64, seconds: u64, per_second: u64, centre_us: u64, shift_us: i64) -> Series {
    let mut rng = SplitMix64::new(seed);
    let mut series = Series::new(3);
    for s in 0..seconds {
        let mut values: Vec<u64> = (0..per_second)
            .map(|_| {
                let spread = centre_us * 2 / 5;
                let v = centre_us - centre_us / 5 + rng.next_u64() % spread;
                (v as i64 + shift_us) as u64
            })
            .collect();
        values.sort_unstable();
        let counts: Vec<(u64, u64)> = values.iter().map(|&v| (v, 1)).collect();
        series.add(1_700_000_000.0 + s as f64, 1.0, &counts);
    }
    series
}

fn change(c: &Comparison, metric: Metric) -> &Change {
    c.changes.iter().find(|ch| ch.metric == metric).unwrap()
}

#[test]
fn a_two_ms_slowdown_is_found_with_an_interval_around_it() {
    let base = run(1, 30, 300, 10_000, 0);
    let new = run(2, 30, 300, 10_000, 2_000);
    let c = compare(&base, &new, Settings::default()).unwrap();
    let p50 = change(&c, Metric::P50);
    assert_eq!(p50.verdict, Verdict::Slower, "{p50:?}");
    assert!((p50.change - 2.0).abs() < 0.2, "{p50:?}");
    assert!(
        p50.ci.0 > 1.5 && p50.ci.1 < 2.5 && p50.ci.0 < p50.ci.1,
        "{p50:?}"
    );
    assert!((p50.change_pct.unwrap() - 20.0).abs() < 2.0, "{p50:?}");
    assert_eq!(change(&c, Metric::Mean).verdict, Verdict::Slower);
    // Same number of responses in the same seconds: the rate did not move.
    let rate = change(&c, Metric::Throughput);
    assert_eq!(
        (rate.base, rate.new, rate.verdict),
        (300.0, 300.0, Verdict::Same)
    );
    // And the other way round, faster.
    let c = compare(&new, &base, Settings::default()).unwrap();
    assert_eq!(change(&c, Metric::P50).verdict, Verdict::Faster);
}

#[test]
fn a_change_inside_the_noise_band_is_same() {
    // 0.5 % slower, surely (the interval excludes 0), but within the 1 %
    // by which identical runs differ.
    let base = run(21, 30, 300, 10_000, 0);
    let new = run(22, 30, 300, 10_000, 50);
    let pure = Settings {
        noise_pct: 0.0,
        ..Settings::default()
    };
    let c = compare(&base, &new, pure).unwrap();
    let p50 = change(&c, Metric::P50);
    assert_eq!(p50.verdict, Verdict::Slower, "{p50:?}");
    let c = compare(&base, &new, Settings::default()).unwrap();
    let p50 = change(&c, Metric::P50);
    assert!(p50.ci.0 > 0.0, "{p50:?}");
    assert_eq!((p50.verdict, c.noise_pct), (Verdict::Same, 1.0), "{p50:?}");
}

#[test]
fn a_percentile_with_few_values_above_it_is_not_compared() {
    // 9000 values a run: 90 above p99, 9 above p99.9.
    let base = run(23, 30, 300, 10_000, 0);
    let new = run(24, 30, 300, 10_000, 3_000);
    let c = compare(&base, &new, Settings::default()).unwrap();
    let (p99, p999) = (change(&c, Metric::P99), change(&c, Metric::P999));
    assert_eq!(
        (p99.too_few, p99.verdict),
        (false, Verdict::Slower),
        "{p99:?}"
    );
    assert_eq!(
        (p999.too_few, p999.verdict),
        (true, Verdict::Same),
        "{p999:?}"
    );
    assert!(p999.ci.0 > 0.0, "the interval is still given: {p999:?}");
    // The max is one request: never judged, the mean always.
    let max = change(&c, Metric::Max);
    assert_eq!((max.too_few, max.verdict), (true, Verdict::Same), "{max:?}");
    assert!(max.ci.0 > 0.0, "{max:?}");
    assert!(!change(&c, Metric::Mean).too_few);
}

#[test]
fn more_responses_a_second_is_faster_throughput() {
    let base = run(3, 10, 100, 5_000, 0);
    let new = run(4, 10, 200, 5_000, 0);
    let c = compare(&base, &new, Settings::default()).unwrap();
    let rate = change(&c, Metric::Throughput);
    assert_eq!((rate.base, rate.new), (100.0, 200.0));
    assert_eq!(rate.verdict, Verdict::Faster);
}

#[test]
fn no_shift_reads_same_about_as_often_as_promised() {
    // 40 pairs of runs drawn from one distribution: at 95 % each metric
    // should call about 2 of them different, rarely more than 6.
    // The bootstrap alone: no noise band.
    let settings = Settings {
        resamples: 400,
        seed: 9,
        noise_pct: 0.0,
    };
    let mut wrong = [0; 7];
    for pair in 0..40 {
        let base = run(100 + pair, 12, 100, 10_000, 0);
        let new = run(200 + pair, 12, 100, 10_000, 0);
        let c = compare(&base, &new, settings).unwrap();
        for (i, ch) in c.changes.iter().enumerate() {
            if ch.verdict != Verdict::Same {
                wrong[i] += 1;
            }
        }
    }
    for (metric, wrong) in Metric::ALL.iter().zip(wrong) {
        assert!(
            wrong <= 6,
            "{} called {wrong} of 40 identical pairs different",
            metric.name()
        );
    }
    eprintln!("identical pairs called different, per metric: {wrong:?}");
    assert_eq!(wrong[6], 0, "equal rates are never different");
}

#[test]
fn the_figures_are_those_of_one_histogram_of_the_run() {
    let base = run(5, 8, 250, 20_000, 0);
    let new = run(6, 8, 250, 20_000, 0);
    let mut h = Histogram::<u64>::new(3).unwrap();
    for unit in base.units.values() {
        for &(v, n) in &unit.counts {
            h.record_n(v, n).unwrap();
        }
    }
    let c = compare(&base, &new, Settings::default()).unwrap();
    let ms = |us: u64| us as f64 / 1000.0;
    for (metric, want) in [
        (Metric::P50, ms(h.value_at_percentile(50.0))),
        (Metric::P90, ms(h.value_at_percentile(90.0))),
        (Metric::P99, ms(h.value_at_percentile(99.0))),
        (Metric::P999, ms(h.value_at_percentile(99.9))),
        (Metric::Max, ms(h.max())),
    ] {
        assert_eq!(change(&c, metric).base, want, "{}", metric.name());
    }
    assert!((change(&c, Metric::Mean).base - h.mean() / 1000.0).abs() < 1e-9);
    assert_eq!(change(&c, Metric::Throughput).base, 250.0);
}

#[test]
fn the_same_seed_gives_the_same_interval() {
    let base = run(7, 10, 100, 1_000, 0);
    let new = run(8, 10, 100, 1_000, 30);
    let a = compare(&base, &new, Settings::default()).unwrap();
    let b = compare(&base, &new, Settings::default()).unwrap();
    assert_eq!(a, b);
    let other = compare(
        &base,
        &new,
        Settings {
            seed: 2,
            ..Settings::default()
        },
    )
    .unwrap();
    assert_ne!(a.changes[0].ci, other.changes[0].ci);
}

#[test]
fn too_few_seconds_are_refused_naming_the_side() {
    let base = run(9, 4, 100, 1_000, 0);
    let new = run(10, 10, 100, 1_000, 0);
    let err = compare(&base, &new, Settings::default()).unwrap_err();
    assert_eq!(
        err,
        TooFew {
            side: "base",
            units: 4
        }
    );
    assert!(
        err.to_string()
            .contains("the base run has 4 seconds with responses"),
        "{err}"
    );
    let err = compare(&new, &run(11, 1, 100, 1_000, 0), Settings::default()).unwrap_err();
    assert!(
        err.to_string().contains("the new run has 1 second with"),
        "{err}"
    );
}

#[test]
fn draws_are_uniform_and_seeded() {
    let mut rng = SplitMix64::new(42);
    let mut seen = [0u32; 10];
    for _ in 0..10_000 {
        seen[rng.below(10)] += 1;
    }
    assert!(seen.iter().all(|&n| (900..1100).contains(&n)), "{seen:?}");
    assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
}

#[test]
fn resamples_draw_blocks_of_consecutive_seconds() {
    let lens = [1, 10, 11, 60, 600].map(block_len);
    assert_eq!(lens, [1, 3, 3, 4, 9]);
    let mut rng = SplitMix64::new(3);
    let drawn: Vec<usize> = blocks(10, &mut rng).collect();
    assert_eq!(drawn.len(), 10);
    for block in drawn.chunks(3) {
        for pair in block.windows(2) {
            assert_eq!(pair[1], (pair[0] + 1) % 10, "{drawn:?}");
        }
    }
}
