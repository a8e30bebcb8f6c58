//! `speedup report` and `speedup bench --report`: the page of bench runs
//! from their interval logs, self-contained, with the comparison for two
//! runs; refusals that name the flag; and the page in headless Chromium
//! (`#[ignore = "needs chromium"]`), as a reader sees it.

mod bench_support;
mod browser_support;
mod hlog_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bench_support::{counting_server, scratch};
use browser_support::{assert_drawn, chromium, run_chromium};
use hlog_support::{marked_log, seconds, tagged};

/// An open-loop run's log: `n` seconds of 300 latencies around
/// `centre_us` (corrected), the uncorrected ones a third lower, and a
/// 1.9 ms stall in second 3.
fn open_loop_log(dir: &Path, name: &str, n: u64, centre_us: u64) -> PathBuf {
    let latency = |s: u64, k: u64| {
        let v = centre_us + (s * 7919 + k * 104_729) % 300;
        if s == 3 && k % 10 == 0 {
            1_900
        } else {
            v
        }
    };
    let corrected = seconds(n, 300, latency);
    let uncorrected = seconds(n, 300, |s, k| latency(s, k) * 2 / 3);
    marked_log(dir, name, "corrected", &tagged(&corrected, &uncorrected))
}

fn speedup(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("speedup runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What the page must never hold: anything a browser would fetch or run.
fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href=",
    ] {
        assert!(!lower.contains(banned), "the page holds {banned}");
    }
}

#[test]
fn two_runs_give_one_page_with_the_comparison() {
    let dir = scratch("report-two");
    open_loop_log(&dir, "before.hlog", 8, 1_000);
    open_loop_log(&dir, "after.hlog", 8, 1_200);
    let out = speedup(
        &dir,
        &["report", "-o", "page.html", "before.hlog", "fix=after.hlog"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote page.html (2 runs)"),
        "{}",
        stderr(&out)
    );
    let html = std::fs::read_to_string(dir.join("page.html")).unwrap();
    assert_self_contained(&html);
    for id in [
        "overlay-spectrum",
        "compare-table",
        "run-1-latency",
        "run-2-rps",
        "run-2-percentiles",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    assert!(html.contains("before (corrected)") && html.contains("fix (uncorrected)"));
    assert!(
        html.contains("<td class=\"slower\">slower</td>"),
        "p50 rose 0.2 ms"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_page_never_replaces_a_log_and_a_bad_log_is_named() {
    let dir = scratch("report-refuse");
    let log = open_loop_log(&dir, "a.hlog", 6, 1_000);
    let before = std::fs::read(&log).unwrap();
    let out = speedup(&dir, &["report", "-o", "a.hlog", "a.hlog"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("-o a.hlog is the log a.hlog"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&log).unwrap(), before);
    std::fs::write(dir.join("bad.hlog"), "0.000,1.000,1.000,@@@\n").unwrap();
    let out = speedup(&dir, &["report", "-o", "page.html", "bad.hlog"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bad.hlog:1: the interval's histogram bad base64"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("page.html").exists(), "no half page");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_writes_the_page_of_its_run() {
    let dir = scratch("bench-report");
    let (base, _) = counting_server(Some(std::time::Duration::from_millis(2)));
    let url = format!("{base}/");
    // Without --hdr-log: a temporary log beside the page, removed after.
    let out = speedup(
        &dir,
        &[
            "bench", "--rate", "200", "-c", "10", "-d", "2s", "--report", "run.html", &url,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("run.html")).unwrap();
    assert_self_contained(&html);
    for id in [
        "run-1-spectrum",
        "run-1-latency",
        "run-1-rps",
        "run-1-percentiles",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    assert!(html.contains("run (uncorrected)"), "open loop: both series");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["run.html"], "the temporary log is gone");
    // With --hdr-log, that log; and one file for two outputs is refused.
    let out = speedup(
        &dir,
        &[
            "bench",
            "-c",
            "2",
            "-d",
            "1s",
            "--hdr-log",
            "b.hlog",
            "--report",
            "b.html",
            &url,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(dir.join("b.html")).unwrap();
    assert!(
        html.contains("b (uncorrected)") && html.contains("a closed-loop run"),
        "closed loop, named by the log"
    );
    let out = speedup(
        &dir,
        &[
            "bench", "-d", "1s", "--json", "x.html", "--report", "x.html", &url,
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--report x.html and --json name the same file"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[ignore = "needs chromium"]
fn the_page_renders_in_chromium() {
    let browser = chromium().expect(
        "chromium is not on PATH: install it (`apt-get install -y chromium`; .ci/run does) to run this test",
    );
    let dir = scratch("report-browser");
    open_loop_log(&dir, "before.hlog", 8, 1_000);
    open_loop_log(&dir, "after.hlog", 8, 1_200);
    let out = speedup(
        &dir,
        &["report", "-o", "page.html", "before.hlog", "after.hlog"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let page = dir.join("page.html");
    let dom_path = dir.join("dom.html");
    let status = run_chromium(&browser, &dir, &page, &["--dump-dom".into()], &dom_path);
    assert!(status.success(), "chromium --dump-dom failed: {status}");
    let dom = std::fs::read_to_string(&dom_path).unwrap();
    for id in [
        "overlay-spectrum",
        "overlay-latency",
        "overlay-rps",
        "compare-table",
        "run-1-spectrum",
        "run-2-percentiles",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "#{id} missing from the DOM"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 9, "9 inline charts");
    let shot = dir.join("shot.png");
    let flags = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,2400".into(),
    ];
    let status = run_chromium(&browser, &dir, &page, &flags, &dir.join("shot.out"));
    assert!(status.success(), "chromium --screenshot failed: {status}");
    // Both runs' colours show: the overlay draws each in its own.
    assert_drawn(&shot, 20_000, 200);
    std::fs::remove_dir_all(&dir).ok();
}
