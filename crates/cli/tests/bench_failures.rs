//! `speedup bench` when a run is cut short or its outputs collide: SIGINT
//! and SIGTERM (a Ctrl-C, a pod stopped) keep the run's summary and files,
//! SIGKILL keeps every completed second of the series, an existing result
//! file is never emptied before the new one is whole, and two outputs on
//! one path are refused. Every child runs under an address-space limit and
//! every wait is bounded.

mod bench_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bench_support::{
    counting_server, run_within, scratch, spawn, text, wait_until, Running, ADDRESS_SPACE,
};

const OLD: &str = "the previous run's result\n";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files left in `dir` besides the ones named.
fn leftovers(dir: &Path, expected: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !expected.contains(&name.as_str()))
        .collect()
}

#[test]
fn a_stop_signal_waits_for_the_requests_in_flight_and_keeps_the_summary_and_every_file() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        // Each answer takes 300 ms: at any moment 4 requests are in flight.
        let (base, heads) = counting_server(Some(Duration::from_millis(300)));
        let dir = scratch(&format!("stop-{name}"));
        let (j, c, t, h) = (
            dir.join("run.json"),
            dir.join("run.csv"),
            dir.join("run.timeline.csv"),
            dir.join("run.hlog"),
        );
        std::fs::write(&j, OLD).unwrap();
        std::fs::write(&c, OLD).unwrap();
        let url = format!("{base}/");
        let child = spawn(
            &[
                "bench",
                "-c",
                "4",
                "-d",
                "60s",
                "--timeout",
                "5s",
                "--json",
                j.to_str().unwrap(),
                "--csv",
                c.to_str().unwrap(),
                "--timeline",
                t.to_str().unwrap(),
                "--hdr-log",
                h.to_str().unwrap(),
                &url,
            ],
            ADDRESS_SPACE,
        );
        wait_until(Duration::from_secs(30), "requests arriving", || {
            heads.load(Ordering::SeqCst) >= 8
        });
        // Nothing of the previous result is lost while the run goes on.
        assert_eq!(read(&j), OLD);
        assert_eq!(read(&c), OLD);
        child.kill(signal);
        let out = child.finish_within(Duration::from_secs(20));
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!("interrupted by {name}")),
            "{name}: {stderr}"
        );
        assert!(stdout.starts_with("speedup bench "), "{stdout}");
        // Every request the server received was waited for and recorded.
        let v = json(&j);
        let sent = heads.load(Ordering::SeqCst) as u64;
        assert_eq!(v["requests"]["total"], sent, "{name}: {v}");
        assert_eq!(v["status"]["200"], sent, "{name}: {v}");
        assert_eq!(v["requests"]["errors"], 0, "{name}: {v}");
        assert_eq!(read(&c).lines().count(), 102, "{name}: ab's -e rows");
        let timeline = read(&t);
        let rows: u64 = timeline
            .lines()
            .skip(1)
            .map(|l| {
                l.split(',')
                    .nth(1)
                    .expect("requests column")
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(rows, sent, "{name}: {timeline}");
        let merged = run_within(
            &["merge", "--json", "-", h.to_str().unwrap()],
            Duration::from_secs(20),
        );
        assert!(merged.status.success(), "{}", text(&merged).1);
        let m: serde_json::Value = serde_json::from_slice(&merged.stdout).expect("merge JSON");
        assert_eq!(m["requests"]["total"], sent, "{name}: {m}");
        let left = leftovers(
            &dir,
            &["run.json", "run.csv", "run.timeline.csv", "run.hlog"],
        );
        assert!(left.is_empty(), "{name}: temporary files left: {left:?}");
    }
}

/// `speedup bench -c 2 --timeout TIMEOUT --json run.json` against a server
/// that never answers, once both requests are in flight there.
fn in_flight_forever(tag: &str, timeout: &str) -> (Running, PathBuf) {
    let (base, heads) = counting_server(None);
    let j = scratch(tag).join("run.json");
    let url = format!("{base}/");
    let child = spawn(
        &[
            "bench",
            "-c",
            "2",
            "-d",
            "60s",
            "--timeout",
            timeout,
            "--json",
            j.to_str().unwrap(),
            &url,
        ],
        ADDRESS_SPACE,
    );
    wait_until(Duration::from_secs(30), "requests arriving", || {
        heads.load(Ordering::SeqCst) >= 2
    });
    (child, j)
}

#[test]
fn a_stop_signal_waits_no_longer_than_the_timeout() {
    let (child, j) = in_flight_forever("silent", "2s");
    let signalled = Instant::now();
    child.kill(libc::SIGTERM);
    let out = child.finish_within(Duration::from_secs(30));
    let waited = signalled.elapsed();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("waiting up to 2s"), "{stderr}");
    // Within the 2 s timeout plus the recording margin, with room for a
    // busy machine.
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // The requests in flight end as timeouts, recorded.
    let v = json(&j);
    assert_eq!(v["errors"]["timeout"], 2, "{v}");
    assert_eq!(v["requests"]["total"], 2, "{v}");
}

#[test]
fn a_stop_signal_ends_a_schedule_waiting_for_its_next_request_at_once() {
    // One request every 20 s: after the first answer, the thread waits
    // for the next due time with nothing in flight, and the stop must
    // wake it (the workers are told, not left to find out).
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let url = format!("{base}/");
    let child = spawn(
        &["bench", "--rate", "0.05", "-c", "1", "-d", "60s", &url],
        ADDRESS_SPACE,
    );
    wait_until(Duration::from_secs(30), "the first request", || {
        heads.load(Ordering::SeqCst) >= 1
    });
    let signalled = Instant::now();
    child.kill(libc::SIGTERM);
    let out = child.finish_within(Duration::from_secs(30));
    let waited = signalled.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("requests:   1 in"), "{stdout}");
    // Nothing was in flight: no wait for it, with room for a busy machine
    // (the next request was 20 s away).
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn a_second_signal_cuts_the_requests_in_flight_and_still_writes_the_files() {
    let (child, j) = in_flight_forever("second", "60s");
    child.kill(libc::SIGTERM);
    // Two signals sent at once may arrive as one: wait for the first's word.
    wait_until(Duration::from_secs(10), "the first signal handled", || {
        child.stderr().contains("stopping")
    });
    child.kill(libc::SIGINT);
    let out = child.finish_within(Duration::from_secs(15));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("cutting the requests in flight"),
        "{stderr}"
    );
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    // Cut requests have no record: the run recorded nothing, and says so.
    assert_eq!(json(&j)["requests"]["total"], 0);
    assert!(stdout.contains("requests:   0 in"), "{stdout}");
}

#[test]
fn sigkill_leaves_every_completed_second_of_the_series_on_disk() {
    let (base, _) = counting_server(Some(Duration::from_millis(1)));
    let dir = scratch("sigkill");
    let (t, h) = (dir.join("t.csv"), dir.join("run.hlog"));
    let url = format!("{base}/");
    let child = spawn(
        &[
            "bench",
            "-c",
            "2",
            "-d",
            "60s",
            "--timeline",
            t.to_str().unwrap(),
            "--hdr-log",
            h.to_str().unwrap(),
            &url,
        ],
        ADDRESS_SPACE,
    );
    // The header and two complete seconds, on disk while the run goes on.
    wait_until(Duration::from_secs(30), "two seconds in --timeline", || {
        std::fs::read_to_string(&t).is_ok_and(|s| s.lines().count() >= 3)
    });
    wait_until(Duration::from_secs(10), "two seconds in --hdr-log", || {
        std::fs::read_to_string(&h).is_ok_and(|s| {
            s.lines()
                .filter(|l| l.starts_with(char::is_numeric))
                .count()
                >= 2
        })
    });
    child.kill(libc::SIGKILL);
    let out = child.finish_within(Duration::from_secs(10));
    assert_eq!(out.status.code(), None, "killed by the signal");
    // Whole lines only: every completed second, nothing half-written.
    let timeline = read(&t);
    assert!(timeline.ends_with('\n'), "{timeline:?}");
    assert!(
        timeline.starts_with("second,requests,errors,"),
        "{timeline}"
    );
    let merged = run_within(&["merge", h.to_str().unwrap()], Duration::from_secs(20));
    let (stdout, stderr) = text(&merged);
    assert!(merged.status.success(), "{stderr}");
    assert!(
        stderr.is_empty(),
        "no warning for a log cut between seconds: {stderr}"
    );
    assert!(stdout.contains("speedup merge: 1 logs"), "{stdout}");
}

#[test]
fn two_outputs_on_one_path_are_refused_before_the_run() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let dir = scratch("same");
    let x = dir.join("x");
    std::fs::write(&x, OLD).unwrap();
    let url = format!("{base}/");
    let same = x.to_str().unwrap();
    let dotted = format!("{}/./x", dir.display());
    for (a, b, args) in [
        ("--json", "--csv", vec!["--json", same, "--csv", same]),
        (
            "--timeline",
            "--hdr-log",
            vec!["--timeline", same, "--hdr-log", &dotted],
        ),
        (
            "--json",
            "--hdr-log",
            vec!["--json", &dotted, "--hdr-log", same],
        ),
        (
            "--csv",
            "--timeline",
            vec!["--csv", same, "--timeline", same],
        ),
    ] {
        let out = run_within(
            &[&["bench", "-n", "1", "-c", "1"], args.as_slice(), &[&url]].concat(),
            Duration::from_secs(20),
        );
        let (_, stderr) = text(&out);
        assert!(!out.status.success());
        assert!(
            stderr.contains(a) && stderr.contains(b) && stderr.contains("same file"),
            "{args:?}: {stderr}"
        );
        assert_eq!(read(&x), OLD, "{args:?}");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 0, "nothing was sent");
    // `--json -` is stdout, not a file named "-".
    let out = run_within(
        &[
            "bench", "-n", "1", "-c", "1", "--json", "-", "--csv", same, &url,
        ],
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn a_failed_run_leaves_the_previous_result_and_no_temporary_file() {
    let dir = scratch("failed");
    let (j, c) = (dir.join("run.json"), dir.join("run.csv"));
    std::fs::write(&j, OLD).unwrap();
    let out = run_within(
        &[
            "bench",
            "-n",
            "1",
            "-c",
            "1",
            "--json",
            j.to_str().unwrap(),
            "--csv",
            c.to_str().unwrap(),
            "http://nonexistent.invalid/",
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("cannot resolve host"),
        "{}",
        text(&out).1
    );
    assert_eq!(read(&j), OLD);
    let left = leftovers(&dir, &["run.json"]);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_body_file_without_end_or_above_the_limit_is_refused_before_the_run() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let url = format!("{base}/");
    // 1 GiB and one byte, sparse: no disk used.
    let big = scratch("body").join("big.bin");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len((1 << 30) + 1))
        .expect("sparse file");
    for (file, needle) in [
        ("/dev/zero", "--body-file /dev/zero: not a regular file"),
        (
            big.to_str().unwrap(),
            "1073741825 bytes, above the 1 GiB limit on a request body",
        ),
    ] {
        let begun = Instant::now();
        let out = run_within(
            &[
                "bench",
                "-n",
                "1",
                "-c",
                "1",
                "-m",
                "POST",
                "--body-file",
                file,
                &url,
            ],
            Duration::from_secs(30),
        );
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{file}: {stderr}");
        assert!(stderr.contains(needle), "{file}: {stderr}");
        assert!(begun.elapsed() < Duration::from_secs(10), "{file}: at once");
    }
    assert_eq!(heads.load(Ordering::SeqCst), 0, "nothing was sent");
    // A small regular file is sent as the body.
    let small = scratch("body-ok").join("body.txt");
    std::fs::write(&small, "hello").unwrap();
    let out = run_within(
        &[
            "bench",
            "-n",
            "1",
            "-c",
            "1",
            "-m",
            "POST",
            "--body-file",
            small.to_str().unwrap(),
            &url,
        ],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out).1);
}
