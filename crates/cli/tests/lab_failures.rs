//! `speedup lab` failing fast and never leaving half a report: a missing
//! `--compare` server, an unwritable `--out`, a zero sleep, scenario names
//! that share a file. What `--out` may hold is `lab_out.rs`'s.

mod ab_support;
mod lab_support;

use std::process::Command;
use std::time::{Duration, Instant};

use ab_support::refused_port;
use lab_support::{entries, lab_output as lab, scratch};

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
