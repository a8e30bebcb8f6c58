//! `speedup merge` against logs that lie: a histogram header claiming 4 GB,
//! timestamps past any clock, counts that add up past 2^53, a last line cut
//! short, an input that never ends, `--json` naming one of the logs, the
//! same log twice, and logs that are empty or missing.
//! Each runs the binary under a small address-space limit, bounded in time:
//! every refusal is an error naming the file and line, never a crash.

mod bench_support;
mod hlog_support;

use std::time::Duration;

use bench_support::{scratch, spawn, text};
use hlog_support::{histogram, log, marked_log};

/// The address space a merge may map here: the forged header asks for 4 GB.
const SMALL: u64 = 256 << 20;

/// `speedup merge ARGS` under [`SMALL`], within 20 s: (exit code, stdout, stderr).
fn merge(args: &[&str]) -> (Option<i32>, String, String) {
    let out = spawn(&[&["merge"], args].concat(), SMALL).finish_within(Duration::from_secs(20));
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn a_histogram_header_claiming_gigabytes_is_refused_within_a_small_address_space() {
    let dir = scratch("forged");
    for (name, claimed) in [("4g.hlog", 0xf000_0000u32), ("1g.hlog", 1 << 30)] {
        let forged = histogram(&[(1000, 1)], Some(claimed));
        let path = log(&dir, name, &[format!("0.000,1.000,1.000,{forged}")]);
        assert!(std::fs::metadata(&path).unwrap().len() < 400, "a small log");
        let (code, _, stderr) = merge(&[path.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{name}:5: the interval's histogram claims a {claimed}-byte payload"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_impossible_timestamp_is_refused_naming_the_file_and_line() {
    let dir = scratch("timestamp");
    let h = histogram(&[(1000, 1)], None);
    let path = log(
        &dir,
        "ts.hlog",
        &[
            format!("0.000,1.000,1.000,{h}"),
            format!("18446744073709551615.999,1.000,1.000,{h}"),
        ],
    );
    let (code, _, stderr) = merge(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "ts.hlog:6: the interval's start of 18446744073709552000 s is past the year 2286"
        ),
        "{stderr}"
    );
}

#[test]
fn counts_past_any_run_are_refused() {
    let dir = scratch("saturated");
    let h = histogram(&[(1000, i64::MAX)], None);
    let line = format!("0.000,1.000,1.000,{h}");
    let path = log(&dir, "sat.hlog", &[line.clone(), line]);
    let (code, stdout, stderr) = merge(&[path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("sat.hlog:5: the interval's histogram its counts add up to more than 2^53"),
        "{stderr}"
    );
    // Below the limit, many intervals add up exactly.
    let h = histogram(&[(1000, 1 << 40)], None);
    let path = log(&dir, "big.hlog", &vec![format!("0.000,1.000,1.000,{h}"); 4]);
    let (code, stdout, stderr) = merge(&["--json", "-", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["requests"]["total"], 4u64 << 40);
}

#[test]
fn a_log_cut_short_loses_only_its_last_line_with_a_warning() {
    let dir = scratch("cut");
    let line = |second: u64, index: u64| {
        format!(
            "{second}.000,1.000,1.000,{}",
            histogram(&[(index, 10)], None)
        )
    };
    let path = log(
        &dir,
        "cut.hlog",
        &[line(0, 100), line(1, 200), line(2, 300)],
    );
    let whole = std::fs::read_to_string(&path).unwrap();
    // A run killed in the middle of writing its last line.
    std::fs::write(&path, &whole[..whole.len() - 7]).unwrap();
    let (code, stdout, stderr) = merge(&["--json", "-", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("cut.hlog: the last line has no newline"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["intervals"], 2);
    assert_eq!(v["requests"]["total"], 20);
    assert_eq!(v["latency_ms"]["uncorrected"]["max"], 0.2);
    assert!(v["latency_ms"]["corrected"].is_null(), "{v}");
}

#[test]
fn an_input_that_never_ends_is_refused() {
    let (code, _, stderr) = merge(&["/dev/zero"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/zero:1: a line longer than 4 MiB"),
        "{stderr}"
    );
}

#[test]
fn the_merged_json_never_replaces_a_log() {
    let dir = scratch("json-log");
    let path = log(
        &dir,
        "a.hlog",
        &[format!("0.000,1.000,1.000,{}", histogram(&[(5, 1)], None))],
    );
    let before = std::fs::read(&path).unwrap();
    let dotted = format!("{}/./a.hlog", dir.display());
    let (code, _, stderr) = merge(&["--json", &dotted, path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is the log"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn corrected_and_uncorrected_logs_are_never_added() {
    let dir = scratch("mixed");
    let line = format!("0.000,1.000,1.000,{}", histogram(&[(500, 3)], None));
    let open = marked_log(&dir, "open.hlog", "corrected", std::slice::from_ref(&line));
    let closed = marked_log(&dir, "closed.hlog", "uncorrected", &[line]);
    let (code, stdout, stderr) = merge(&[open.to_str().unwrap(), closed.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("open.hlog holds corrected latencies but")
            && stderr.contains("closed.hlog holds uncorrected ones"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn the_uncorrected_series_is_merged_apart_and_other_tags_left_out() {
    let dir = scratch("tags");
    let h = |index| histogram(&[(index, 4)], None);
    let path = marked_log(
        &dir,
        "open.hlog",
        "corrected; the Tag=uncorrected intervals hold the same requests",
        &[
            format!("0.000,1.000,0.9,{}", h(900)),
            format!("Tag=uncorrected,0.000,1.000,0.1,{}", h(100)),
            format!("Tag=other,0.000,1.000,0.1,{}", h(7)),
        ],
    );
    let (code, stdout, stderr) = merge(&["--json", "-", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["intervals"], 1);
    assert_eq!(v["requests"]["total"], 4);
    assert_eq!(v["schema"], "speedup-merge/2");
    assert_eq!(v["latency"], "corrected");
    assert_eq!(v["latency_ms"]["corrected"]["max"], 0.9);
    assert_eq!(v["latency_ms"]["uncorrected"]["max"], 0.1);
    assert!(
        stderr.contains("corrected") && stderr.contains("uncorrected"),
        "both columns: {stderr}"
    );
    assert!(stderr.contains("1 interval tagged otherwise"), "{stderr}");
}

#[test]
fn the_same_log_twice_is_refused_under_any_name() {
    let dir = scratch("twice");
    let line = format!("0.000,1.000,1.000,{}", histogram(&[(5, 1)], None));
    let path = log(&dir, "a.hlog", &[line]);
    let dotted = format!("{}/./a.hlog", dir.display());
    for again in [path.to_str().unwrap(), dotted.as_str()] {
        let (code, stdout, stderr) = merge(&[path.to_str().unwrap(), again]);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(
            stderr.contains("a.hlog is named twice") && stderr.contains("name it once"),
            "{stderr}"
        );
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn an_empty_or_unreadable_log_is_refused_naming_it() {
    let dir = scratch("empty");
    let line = format!("0.000,1.000,1.000,{}", histogram(&[(5, 1)], None));
    let good = log(&dir, "good.hlog", &[line]);
    let empty = dir.join("empty.hlog");
    std::fs::write(&empty, "").unwrap();
    let headers_only = log(&dir, "headers.hlog", &[]);
    for bad in [&empty, &headers_only] {
        let (code, _, stderr) = merge(&[good.to_str().unwrap(), bad.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("{} holds no interval", bad.display())),
            "{stderr}"
        );
    }
    let missing = dir.join("missing.hlog");
    let (code, _, stderr) = merge(&[good.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}", missing.display())),
        "{stderr}"
    );
}
