//! `speedup lab` end to end with small numbers: the report folder, the
//! summary's schema, the pool model in the figures, the exit status on
//! non-2xx, and the page in a real browser (headless Chromium: those tests,
//! the article's page and the series' with `--chapter` and `--sweep`, are
//! `#[ignore = "needs chromium"]`; `.ci/run` installs Chromium and runs them
//! with `--include-ignored`).

mod browser_support;
mod lab_support;

use std::path::Path;
use std::process::Command;

use browser_support::{assert_drawn, chromium, run_chromium};
use lab_support::scratch;

/// Runs `speedup lab` with small numbers into `out`, bounded by the
/// engine's per-request timeout and the small request counts.
fn lab(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args([
            "lab",
            "--requests",
            "200",
            "--concurrency",
            "50",
            "--sleep",
            "0.05",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("speedup lab runs")
}

#[test]
fn lab_writes_the_report_and_shows_the_pool_model() {
    let dir = scratch("report");
    let out = lab(&dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lab failed:\n{stdout}\n{stderr}");
    for file in [
        "baseline.csv",
        "baseline.txt",
        "async.csv",
        "async.txt",
        "summary.json",
        "cdf.svg",
        "index.html",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    // The CSVs are ab's -e format: a header and 101 rows.
    let csv = std::fs::read_to_string(dir.join("baseline.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("Percentage served,Time in ms"));
    assert_eq!(csv.lines().count(), 102);
    assert!(std::fs::read_to_string(dir.join("async.txt"))
        .unwrap()
        .contains("Complete requests:      200"));

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    // The marker the next run into this folder recognises, and the files
    // it may replace: exactly what is there.
    assert_eq!(summary["schema"], "speedup-lab/1");
    let mut listed: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, lab_support::entries(&dir));
    assert_eq!(summary["requests"], 200);
    assert_eq!(summary["concurrency"], 50);
    assert_eq!(summary["ideal_ms"], 50.0);
    let scenarios = summary["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    for s in scenarios {
        for key in [
            "name",
            "url",
            "requests",
            "concurrency",
            "rps",
            "p50_ms",
            "p90_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "failures",
            "non_2xx",
        ] {
            assert!(!s[key].is_null(), "summary entry lacks {key}: {s}");
        }
        assert_eq!(s["requests"], 200);
        assert_eq!(s["failures"], 0);
        assert_eq!(s["non_2xx"], 0);
    }
    let p95 = |i: usize| scenarios[i]["p95_ms"].as_f64().unwrap();
    // The pool model: 50 clients on 40 threads, so a fifth of the requests
    // queue behind a full 50 ms sleep before their own: p95 is at least two
    // sleeps (less a margin). Timers serve everyone in one round.
    assert!(
        p95(0) >= 90.0,
        "baseline p95 {} ms: expected two rounds of 50 ms",
        p95(0)
    );
    assert!(
        p95(1) < p95(0),
        "async p95 {} ms not below baseline p95 {} ms",
        p95(1),
        p95(0)
    );
    assert!(
        stdout.contains("baseline") && stdout.contains("report:"),
        "{stdout}"
    );

    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs chromium"]
fn the_page_renders_in_chromium() {
    let dir = scratch("browser");
    let out = lab(&dir, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    browser_check(&dir);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs chromium"]
fn the_series_page_renders_in_chromium() {
    let dir = scratch("series-browser");
    let out = lab(&dir, &["--chapter", "io", "--chapter", "mixed", "--sweep"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    browser_check(&dir);
    let dom = std::fs::read_to_string(dir.join("dom.html")).unwrap();
    for id in [
        "mixed",
        "mixed-chart",
        "mixed-table",
        "mixed-why",
        "sweep",
        "sweep-chart",
        "sweep-grid",
        "sweep-why",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "#{id} missing from the DOM"
        );
    }
    assert!(
        dom.contains("pool size 40"),
        "the sweep chart's pool mark is missing"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lab_fails_loudly_on_non_2xx() {
    let dir = scratch("typo");
    let out = lab(
        &dir,
        &["--scenario", "typo=/asnyc/sleep/0.05", "--no-warmup"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a 404 scenario must fail the lab");
    assert!(stderr.contains("200 non-2xx"), "{stderr}");
    assert!(stderr.contains("asnyc"), "{stderr}");
    // The report is still written, so the user can look.
    assert!(dir.join("typo.csv").is_file());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn custom_scenarios_are_told_as_run_with_no_ideal() {
    let dir = scratch("custom");
    let out = lab(
        &dir,
        &["--scenario", "fibo=/baseline/fibo/10", "--no-warmup"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("fibo (<code>/baseline/fibo/10</code>)"),
        "the page says what ran"
    );
    assert!(html.contains("no ideal time"));
    for gone in [
        "p95 ÷ ideal",
        "ideal (the sleep)",
        "50 ms sleep",
        "The dashed line is the ideal",
    ] {
        assert!(!html.contains(gone), "{gone} on a page of custom paths");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let row = &summary["scenarios"][0];
    assert_eq!(row["name"], "fibo");
    assert_eq!(
        row.as_object().unwrap().len(),
        14,
        "summary.json's row keeps its keys: {row}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lab_rejects_bad_flags_by_name() {
    let dir = scratch("flags");
    let out = lab(&dir, &["--scenario", "nopath"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scenario"));
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["lab", "--requests", "10", "--concurrency", "20"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--concurrency 20"));
    std::fs::remove_dir_all(&dir).ok();
}

/// The page in headless Chromium: the DOM has the chart and the table, and
/// a screenshot is not blank and shows both series' colours.
fn browser_check(dir: &Path) {
    let browser = chromium().expect(
        "chromium is not on PATH: install it (`apt-get install -y chromium`; .ci/run does) to run this test",
    );
    let page = dir.join("index.html");
    let dom_path = dir.join("dom.html");
    let status = run_chromium(&browser, dir, &page, &["--dump-dom".into()], &dom_path);
    assert!(status.success(), "chromium --dump-dom failed: {status}");
    let dom = std::fs::read_to_string(&dom_path).unwrap();
    assert!(
        dom.contains("id=\"cdf-chart\""),
        "chart figure missing from the DOM"
    );
    assert!(dom.contains("<svg"), "inline SVG missing from the DOM");
    assert!(
        dom.contains("id=\"summary-table\""),
        "table missing from the DOM"
    );
    assert!(
        dom.contains("baseline") && dom.contains("async"),
        "scenario names missing"
    );

    let shot = dir.join("shot.png");
    let flags = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,900".into(),
    ];
    let status = run_chromium(&browser, dir, &page, &flags, &dir.join("shot.out"));
    assert!(status.success(), "chromium --screenshot failed: {status}");
    let size = image::image_dimensions(&shot).expect("screenshot is a PNG");
    assert_eq!(size, (1200, 900));
    // The chart's lines are visible: pixels close to the series colours.
    assert_drawn(&shot, 10_000, 100);
}
