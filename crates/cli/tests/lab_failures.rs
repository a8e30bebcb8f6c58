//! `speedup lab` failing fast and never leaving half a report or a stale
//! one: a missing `--compare` server, an unwritable `--out`, a zero sleep,
//! two runs into the same folder.

mod ab_support;
mod lab_support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use ab_support::refused_port;
use lab_support::scratch;

fn lab(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args([
            "lab",
            "--requests",
            "20",
            "--concurrency",
            "5",
            "--sleep",
            "0.01",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("speedup lab runs")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_missing_compare_server_fails_before_any_scenario() {
    let dir = scratch("compare");
    let out_dir = dir.join("report");
    let port = refused_port();
    let begun = Instant::now();
    let out = lab(
        &out_dir,
        &["--compare", &format!("FastAPI=http://127.0.0.1:{port}")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("nothing is listening on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--compare FastAPI="), "{stderr}");
    // No scenario ran (none printed progress) and nothing was left behind.
    assert!(!stderr.contains("requests to"), "{stderr}");
    assert!(begun.elapsed() < Duration::from_secs(20));
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn an_unwritable_out_fails_before_the_run() {
    let dir = scratch("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = lab(&file.join("report"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--out") && stderr.contains("choose a writable place"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("requests to"),
        "ran before failing: {stderr}"
    );
}

#[test]
fn zero_sleep_is_refused_when_parsing() {
    let dir = scratch("sleep");
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["lab", "--sleep", "0", "--out"])
        .arg(dir.join("r"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--sleep must be a number of seconds above 0"),
        "{stderr}"
    );
    assert!(entries(&dir).is_empty());
}

#[test]
fn scenario_names_that_share_a_file_are_refused() {
    let dir = scratch("slugs");
    let out = lab(
        &dir.join("r"),
        &[
            "--scenario",
            "a b=/async/sleep/0.01",
            "--scenario",
            "a-b=/async/sleep/0.01",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("would both write a-b.csv"), "{stderr}");
}

#[test]
fn a_second_run_replaces_the_folder_whole() {
    let dir = scratch("replace");
    let out_dir = dir.join("report");
    let first = lab(
        &out_dir,
        &["--scenario", "first=/async/sleep/0.01", "--no-warmup"],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    std::fs::write(out_dir.join("stale.txt"), "from before").unwrap();
    let second = lab(
        &out_dir,
        &["--scenario", "second=/async/sleep/0.01", "--no-warmup"],
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        entries(&out_dir),
        [
            "cdf.svg",
            "index.html",
            "second.csv",
            "second.txt",
            "summary.json"
        ]
    );
    // No temporary or old folder is left beside it.
    assert_eq!(entries(&dir), ["report"]);
    // The progress line shows the run's real duration, to the millisecond.
    let stderr = String::from_utf8_lossy(&second.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("second: 20 requests in "))
        .unwrap();
    let secs = line.rsplit(' ').nth(1).unwrap();
    assert_eq!(secs.split('.').nth(1).map(str::len), Some(3), "{line}");
}
