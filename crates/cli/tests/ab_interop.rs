//! `speedup ab` against the real Apache Bench: same flags, same target,
//! same report lines and counts, CSVs with the same percent rows and
//! times, p50s that agree, and the same failure count against a server
//! that closes kept connections. These need real `ab`: they are
//! `#[ignore = "needs ab"]`, and `.ci/run` installs ab and runs them with
//! `--include-ignored`.

mod ab_support;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use ab_support::{field, read_request, speedup_ab, text, Serve};

/// The tests here compare timings of two runs: one at a time, so that
/// they do not load the machine for each other.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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
#[ignore = "needs ab"]
fn same_report_and_csv_as_ab() {
    let _serial = one_at_a_time();
    let serve = Serve::start();
    // A sleep, so that the CSV's time column is the server's, comparable
    // between two runs, not loopback noise.
    let url = format!("{}/async/sleep/0.05", serve.base);
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
    // The time column: non-decreasing, in ms, and each row near ab's. The margin is wide (two
    // runs on a shared, noisy machine) but catches a wrong unit or rank.
    for rows in [&ours_rows, &theirs_rows] {
        assert!(rows.windows(2).all(|w| w[0].1 <= w[1].1), "{rows:?}");
    }
    // Up to the median: the slower half of two runs on a loaded machine
    // (CI runs other tests beside this one) differs by scheduling noise.
    for (o, t) in ours_rows.iter().zip(&theirs_rows).take(51) {
        let margin = f64::max(20.0, 0.3 * t.1);
        assert!(
            (o.1 - t.1).abs() <= margin,
            "row {}: ours {} ms, ab's {} ms\nours {ours_rows:?}\ntheirs {theirs_rows:?}",
            o.0,
            o.1,
            t.1
        );
    }
    for rows in [&ours_rows, &theirs_rows] {
        assert!(rows[0].1 >= 50.0, "faster than the sleep: {rows:?}");
        assert!((50.0..100.0).contains(&rows[50].1), "{rows:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Answers each connection's first request with keep-alive, then reads
/// the next request and closes without answering. Returns its base URL.
fn closes_kept_connections() -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut c = conn;
                if read_request(&mut c) {
                    let _ = c.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
                    );
                    read_request(&mut c);
                }
            });
        }
    });
    base
}

#[test]
#[ignore = "needs ab"]
fn unanswered_keep_alive_requests_count_as_abs_do() {
    let _serial = one_at_a_time();
    let url = format!("{}/", closes_kept_connections());
    let args = ["-k", "-n", "100", "-c", "4", url.as_str()];
    let theirs = real_ab(&args);
    let out = speedup_ab(&args);
    assert!(out.status.success(), "{}", text(&out).1);
    let ours = text(&out).0;
    let failed = |r: &str| -> i64 { field(r, "Failed requests:").unwrap().parse().unwrap() };
    let (a, b) = (failed(&ours), failed(&theirs));
    assert!(b > 0, "{theirs}");
    assert!(
        a.abs_diff(b) <= 3,
        "failed: ours {a}, ab's {b}\n{ours}\n{theirs}"
    );
}

#[test]
#[ignore = "needs ab"]
fn p50_agrees_with_ab_on_a_sleeping_endpoint() {
    let _serial = one_at_a_time();
    let serve = Serve::start();
    let url = format!("{}/async/sleep/0.1", serve.base);
    let args = ["-n", "60", "-c", "10", url.as_str()];
    let theirs = real_ab(&args);
    let out = speedup_ab(&args);
    assert!(out.status.success(), "{}", text(&out).1);
    let ours = text(&out).0;
    let (a, b) = (p50(&ours), p50(&theirs));
    assert!((100..150).contains(&a), "our p50 {a} ms for a 100 ms sleep");
    // Two runs on a shared 2-core machine: 15 ms apart at most (a wrong
    // unit or rank would be 100 ms or more).
    assert!(a.abs_diff(b) <= 15, "p50: ours {a} ms, ab's {b} ms");
}
