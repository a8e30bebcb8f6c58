//! `speedup lab --sweep` end to end, in its own test binary so no CPU-bound
//! chapter runs beside it: the knee at the pool size, read back from
//! `summary.json` as a model (rounds of sleeps), never as speeds.

mod lab_support;

use std::process::Command;

use lab_support::{lab, num, scratch};

#[test]
fn sweep_shows_the_knee_at_the_pool_size() {
    let dir = scratch("sweep");
    let summary = lab(
        &dir,
        &["--sweep", "--requests", "40", "--concurrency", "20"],
    );
    let sweep = &summary["sweep"];
    assert_eq!(sweep["pool_threads"], 40);
    let at = |endpoint: &str, c: u64, key: &str| {
        let point = sweep["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["endpoint"] == endpoint && p["concurrency"] == c)
            .unwrap_or_else(|| panic!("no {endpoint} c={c} in {sweep}"));
        assert_eq!(point["bad"], 0, "{point}");
        num(&point[key])
    };
    let p95 = |endpoint: &str, c: u64| at(endpoint, c, "p95_ms");
    let p50 = |endpoint: &str, c: u64| at(endpoint, c, "p50_ms");
    let max = |endpoint: &str, c: u64| at(endpoint, c, "max_ms");
    let sleep = 100.0;
    // What the chart draws above the median: the slowest request of the step.
    for c in [1, 40, 200] {
        assert!(
            max("baseline", c) >= p95("baseline", c),
            "max below p95 at c={c}"
        );
    }
    assert!(
        max("baseline", 200) >= 4.0 * sleep,
        "200 clients on 40 threads: 5 rounds"
    );
    // Up to the pool size every request has a thread: one sleep each (the
    // median: a step of ten requests has its p95 at its slowest one, which
    // a busy machine can delay).
    for c in [1, 10, 20, 40] {
        assert!(
            p50("baseline", c) < 2.0 * sleep,
            "baseline c={c}: {} ms",
            p50("baseline", c)
        );
    }
    // Past it, requests queue: 200 clients on 40 threads wait several sleeps.
    assert!(
        p95("baseline", 200) >= 3.0 * sleep,
        "baseline c=200: {}",
        p95("baseline", 200)
    );
    assert!(p95("baseline", 100) > p95("baseline", 40));
    // Timers: flat, but for the cost of more connections, which both
    // endpoints pay; the baseline also queues for threads, whole sleeps.
    let growth = |endpoint| p95(endpoint, 200) - p95(endpoint, 40);
    assert!(
        growth("baseline") > growth("async"),
        "from 40 to 200 clients p95 grew {} ms (baseline) and {} ms (async)",
        growth("baseline"),
        growth("async")
    );

    let svg = dir.join("again.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["plot", "--sweep", "-o"])
        .arg(&svg)
        .arg(dir.join("summary.json"))
        .output()
        .expect("speedup plot runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("pool size 40") && drawn.contains("baseline max"));
    assert!(dir.join("sweep.svg").is_file());
    std::fs::remove_dir_all(&dir).ok();
}
