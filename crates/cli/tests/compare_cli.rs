//! `speedup compare` on forged interval logs: a known shift reads `slower`
//! with an interval around it, identical runs read `same`, the JSON has
//! the issue's schema, `--fail-if-slower` exits 2, and comparisons that
//! cannot mean anything are refused, naming why.

mod bench_support;
mod hlog_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::scratch;
use hlog_support::{marked_log, seconds};

/// A log of `n` seconds of 200 latencies spread over 900..1100 µs, plus
/// `shift` µs, its header saying `latency`.
fn run(dir: &Path, name: &str, n: u64, shift: u64, latency: &str) -> PathBuf {
    let lines = seconds(n, 200, |s, k| 900 + (s * 7919 + k * 104_729) % 200 + shift);
    marked_log(dir, name, latency, &lines)
}

fn compare(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .arg("compare")
        .args(args)
        .output()
        .expect("speedup compare runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_known_slowdown_reads_slower_with_the_issue_s_json() {
    let dir = scratch("compare-shift");
    let base = run(&dir, "base.hlog", 10, 0, "corrected");
    let new = run(&dir, "new.hlog", 10, 100, "corrected");
    let (code, stdout, stderr) = compare(&["--json", "-", path(&base), path(&new)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("corrected latencies") && stderr.contains("slower: p50"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["schema"], "speedup-compare/1");
    let metrics = v["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["p50", "p90", "p99", "p99.9", "max", "mean", "throughput"]
    );
    let p50 = &metrics[0];
    let keys: Vec<&String> = p50.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "base_ms",
            "change_ms",
            "change_pct",
            "ci_ms",
            "name",
            "new_ms",
            "too_few",
            "verdict"
        ]
    );
    assert_eq!(p50["verdict"], "slower");
    let change = p50["change_ms"].as_f64().unwrap();
    assert!((change - 0.1).abs() < 0.01, "{p50}");
    let (lo, hi) = (
        p50["ci_ms"][0].as_f64().unwrap(),
        p50["ci_ms"][1].as_f64().unwrap(),
    );
    assert!(0.0 < lo && lo <= change && change <= hi, "{p50}");
    assert_eq!(metrics[6]["base_rps"], 200.0);
    assert_eq!(metrics[6]["verdict"], "same");

    // For CI: 10 % slower fails a 5 % budget, passes a 50 % one.
    let (code, _, stderr) = compare(&["--fail-if-slower", "5", path(&base), path(&new)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("slower by more than 5% (--fail-if-slower): p50 +"),
        "{stderr}"
    );
    let (code, _, stderr) = compare(&["--fail-if-slower", "50", path(&base), path(&new)]);
    assert_eq!(code, Some(0), "{stderr}");
    // The other way round it is faster, and the same seed gives the same table.
    let (code, first, _) = compare(&[path(&new), path(&base)]);
    assert_eq!(code, Some(0));
    assert!(first.contains("faster: p50"), "{first}");
    assert_eq!(compare(&[path(&new), path(&base)]).1, first);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_same_run_twice_reads_same_and_several_logs_a_side_merge() {
    let dir = scratch("compare-same");
    let a = run(&dir, "a.hlog", 8, 0, "uncorrected");
    let b = run(&dir, "b.hlog", 8, 0, "uncorrected");
    let (code, stdout, stderr) = compare(&["--fail-if-slower", "0", path(&a), path(&b)]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("no change told apart from the noise"),
        "{stdout}"
    );
    // Two generators side by side: the same seconds add up, twice the rate.
    let (code, stdout, stderr) = compare(&[
        "--json",
        "-",
        "--base",
        path(&a),
        "--new",
        path(&a),
        "--new",
        path(&b),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["new"]["files"].as_array().unwrap().len(), 2);
    assert_eq!(v["new"]["units"], 8);
    let rate = &v["metrics"][6];
    assert_eq!(
        (rate["base_rps"].as_f64(), rate["new_rps"].as_f64()),
        (Some(200.0), Some(400.0))
    );
    assert_eq!(rate["verdict"], "faster");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn comparisons_that_cannot_mean_anything_are_refused() {
    let dir = scratch("compare-refuse");
    let open = run(&dir, "open.hlog", 8, 0, "corrected");
    let closed = run(&dir, "closed.hlog", 8, 0, "uncorrected");
    let short = run(&dir, "short.hlog", 4, 0, "corrected");
    let (code, stdout, stderr) = compare(&[path(&open), path(&closed)]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "the base logs hold corrected latencies but the new logs hold uncorrected ones"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = compare(&[path(&open), path(&short)]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the new run has 4 seconds with responses; a comparison needs at least 5"),
        "{stderr}"
    );
    // Within a side, too.
    let (code, _, stderr) = compare(&[
        "--base",
        path(&open),
        "--base",
        path(&closed),
        "--new",
        path(&open),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("the base logs: ") && stderr.contains("cannot be added"),
        "{stderr}"
    );
    for (args, says) in [
        (vec![path(&open)], "give two logs, BASE then NEW, not 1"),
        (vec!["--base", path(&open)], "name both runs"),
        (
            vec![path(&open), path(&open), "--new", path(&open)],
            "not both",
        ),
        (
            vec!["--resamples", "5", path(&open), path(&open)],
            "--resamples 5 is out of range",
        ),
        (
            vec!["--fail-if-slower", "-1", path(&open), path(&open)],
            "--fail-if-slower takes",
        ),
        (
            vec!["--json", path(&open), path(&open), path(&closed)],
            "is the log",
        ),
    ] {
        let (code, _, stderr) = compare(&args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
