//! The first things a wrk or oha user types into `speedup bench`, from the
//! outside: a URL without a path, `-n` below `-c`, a fractional rate,
//! compound durations, `-` for any output, a negative rate, batched sends;
//! and a target where nothing listens, which stops the run at once.

mod bench_support;

use std::time::{Duration, Instant};

use bench_support::{counting_server, run_within, text};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_url_without_a_path_is_the_root() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let out = run_within(&["bench", "-n", "3", "-c", "1", &base], LIMIT);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("3 ok (2xx)"), "{stdout}");
    assert_eq!(heads.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn fewer_requests_than_connections_use_as_many_connections_and_say_so() {
    let (base, _) = counting_server(Some(Duration::ZERO));
    let out = run_within(
        &["bench", "-n", "5", "-c", "50", &format!("{base}/")],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: -c 50 is more than -n 5: using 5 connections"),
        "{stderr}"
    );
    assert!(stdout.contains("5 connections"), "{stdout}");
}

#[test]
fn a_fractional_rate_and_a_compound_duration_run() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    // Due at 0 and 2 s: two requests in a 2.5 s run.
    let out = run_within(
        &[
            "bench",
            "--rate",
            "0.5",
            "-d",
            "0m2.5s",
            "-c",
            "2",
            &format!("{base}/"),
        ],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("open loop at 0.5 req/s"), "{stdout}");
    assert_eq!(heads.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn any_one_output_may_be_stdout_and_the_summary_moves_to_stderr() {
    let (base, _) = counting_server(Some(Duration::ZERO));
    let url = format!("{base}/");
    for (flag, first_line) in [
        ("--csv", "Percentage served,Time in ms"),
        ("--timeline", "second,requests,errors,p50_ms,p99_ms,max_ms"),
        ("--json", "{"),
    ] {
        let out = run_within(&["bench", "-n", "20", "-c", "2", flag, "-", &url], LIMIT);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{flag}: {stderr}");
        assert_eq!(stdout.lines().next(), Some(first_line), "{flag}: {stdout}");
        assert!(stderr.contains("speedup bench http://"), "{flag}: {stderr}");
        assert!(!stdout.contains("speedup bench"), "{flag}: {stdout}");
    }
    let out = run_within(&["bench", "--csv", "-", "--json", "-", &url], LIMIT);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--json - and --csv - both write to stdout"),
        "{stderr}"
    );
}

#[test]
fn a_negative_rate_gets_our_own_message() {
    let out = run_within(&["bench", "--rate", "-5", "http://127.0.0.1:1/"], LIMIT);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--rate -5: the rate must be a positive number"),
        "{stderr}"
    );
}

#[test]
fn nothing_listening_stops_the_run_within_seconds() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let begun = Instant::now();
    let out = run_within(
        &["bench", "-d", "30s", &format!("http://127.0.0.1:{port}/")],
        LIMIT,
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        begun.elapsed() < Duration::from_secs(3),
        "{:?}",
        begun.elapsed()
    );
    assert!(stderr.contains("nothing is listening at"), "{stderr}");
}

#[test]
fn batched_sends_wait_for_their_period_and_the_wait_is_the_clients() {
    let (base, heads) = counting_server(Some(Duration::ZERO));
    let url = format!("{base}/");
    // 100/s batched by 50 ms: sends wait 0 to 50 ms (25 ms at the median),
    // all of it the client's; nothing is charged to the server. (Ten
    // connections: a batch of five never waits for a busy one.)
    let out = run_within(
        &[
            "bench",
            "--rate",
            "100",
            "-n",
            "40",
            "-c",
            "10",
            "--batch-sends",
            "50ms",
            "--json",
            "-",
            &url,
        ],
        LIMIT,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["send_batch_us"], 50_000);
    let lateness = v["send_lateness_us"]["p50"].as_f64().unwrap();
    assert!((10_000.0..=50_000.0 + 10_000.0).contains(&lateness), "{v}");
    assert_eq!(v["late_sends"]["count"], 0, "{v}");
    let (c, u) = (
        &v["latency_ms"]["corrected"],
        &v["latency_ms"]["uncorrected"],
    );
    assert_eq!(c["p50"], u["p50"], "{v}");
    assert_eq!(heads.load(std::sync::atomic::Ordering::SeqCst), 40);
    // Refused, naming the flag: without a rate, or zero.
    for args in [
        &[
            "bench",
            "-n",
            "5",
            "--batch-sends",
            "1ms",
            "http://127.0.0.1:1/",
        ][..],
        &[
            "bench",
            "--rate",
            "10",
            "--batch-sends",
            "0s",
            "http://127.0.0.1:1/",
        ][..],
        &[
            "bench",
            "--rate",
            "10",
            "--batch-sends",
            "1s",
            "http://127.0.0.1:1/",
        ][..],
    ] {
        let out = run_within(args, LIMIT);
        let (_, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("--batch-sends: give a period above 0 and at most 100ms"),
            "{stderr}"
        );
    }
}
