//! `speedup ab` against the real Apache Bench: same flags, same target,
//! same report lines and counts, CSVs that parse the same way, and p50s
//! that agree. Skipped (with a note) when `ab` is not on PATH.

mod ab_support;

use std::path::Path;
use std::process::Command;

use ab_support::{field, speedup_ab, text, Serve};

fn ab_available() -> bool {
    let found = Command::new("ab")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: `ab` (apache2-utils) is not on PATH; skipping the interop test");
    }
    found
}

fn real_ab(args: &[&str]) -> String {
    let out = Command::new("ab").args(args).output().expect("run ab");
    assert!(out.status.success(), "ab failed: {}", text(&out).1);
    text(&out).0
}

/// The labels of the report lines, from "Server Software:" on, without
/// ab's reliability warnings (they depend on timing noise).
fn labels(report: &str) -> Vec<String> {
    let start = report.find("Server Software:").expect("a report");
    report[start..]
        .lines()
        .filter(|l| !l.starts_with("ERROR:") && !l.starts_with("WARNING:"))
        .filter(|l| !l.starts_with("       ") || l.trim().starts_with('('))
        .map(|l| match l.find(':') {
            Some(i) if !l.trim_start().starts_with('(') => l[..i].to_owned(),
            _ => l.split_whitespace().next().unwrap_or("").to_owned(),
        })
        .collect()
}

fn csv_rows(path: &Path) -> Vec<(u32, f64)> {
    let csv = std::fs::read_to_string(path).expect("read csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Percentage served,Time in ms"));
    lines
        .map(|l| {
            let (p, t) = l.split_once(',').expect("two columns");
            (
                p.parse().expect("integer percent"),
                t.parse().expect("float ms"),
            )
        })
        .collect()
}

fn p50(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("50%"))
        .expect("a 50% line")
        .trim()
        .parse()
        .expect("whole ms")
}

#[test]
fn same_report_and_csv_as_ab() {
    if !ab_available() {
        return;
    }
    let serve = Serve::start();
    let url = format!("{}/async/sleep/0", serve.base);
    let dir = std::env::temp_dir().join(format!("speedup-ab-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ours_csv, theirs_csv) = (dir.join("ours.csv"), dir.join("theirs.csv"));
    let theirs = real_ab(&[
        "-n",
        "200",
        "-c",
        "20",
        "-e",
        theirs_csv.to_str().unwrap(),
        &url,
    ]);
    let out = speedup_ab(&[
        "-n",
        "200",
        "-c",
        "20",
        "-e",
        ours_csv.to_str().unwrap(),
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
    let ours = text(&out).0;

    assert_eq!(
        labels(&ours),
        labels(&theirs),
        "ours:\n{ours}\ntheirs:\n{theirs}"
    );
    for label in [
        "Server Hostname:",
        "Server Port:",
        "Document Path:",
        "Document Length:",
        "Concurrency Level:",
        "Complete requests:",
        "Failed requests:",
        "HTML transferred:",
        "Total transferred:",
    ] {
        assert_eq!(field(&ours, label), field(&theirs, label), "{label}");
    }
    let (ours_rows, theirs_rows) = (csv_rows(&ours_csv), csv_rows(&theirs_csv));
    assert_eq!(ours_rows.len(), 101);
    assert_eq!(theirs_rows.len(), 101);
    let percents = |rows: &[(u32, f64)]| rows.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(percents(&ours_rows), percents(&theirs_rows));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn p50_agrees_with_ab_on_a_sleeping_endpoint() {
    if !ab_available() {
        return;
    }
    let serve = Serve::start();
    let url = format!("{}/async/sleep/0.1", serve.base);
    let args = ["-n", "60", "-c", "10", url.as_str()];
    let theirs = real_ab(&args);
    let out = speedup_ab(&args);
    assert!(out.status.success(), "{}", text(&out).1);
    let ours = text(&out).0;
    let (a, b) = (p50(&ours), p50(&theirs));
    assert!((100..150).contains(&a), "our p50 {a} ms for a 100 ms sleep");
    assert!(a.abs_diff(b) <= 5, "p50: ours {a} ms, ab's {b} ms");
}
