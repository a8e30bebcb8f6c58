//! `speedup bench --metrics-addr`: `/metrics` of a running bench, parsed
//! (and checked by `promtool`), grows while the run goes on, equals the
//! JSON's counts at the end, and stays up for `--metrics-linger`.

mod bench_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use bench_support::{scratch, spawn, text, wait_until, Running, ADDRESS_SPACE};

/// The address `speedup bench` said it serves metrics at.
fn metrics_addr(run: &Running) -> String {
    let mut addr = String::new();
    wait_until(Duration::from_secs(10), "the metrics address", || {
        let err = run.stderr();
        match err.split("serving metrics at http://").nth(1) {
            Some(rest) => {
                addr = rest.split('/').next().unwrap_or("").to_string();
                true
            }
            None => false,
        }
    });
    addr
}

/// The body of `GET /metrics`, classic text format.
fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to /metrics");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    body.to_string()
}

/// The value of the sample `series` (name and labels as written), if any.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn bench(dir: &Path, url: &str, linger: &str) -> Running {
    let json = dir.join("run.json");
    let args = [
        "bench",
        "--rate",
        "200",
        "-c",
        "4",
        "-d",
        "2s",
        "--metrics-addr",
        "127.0.0.1:0",
        "--metrics-linger",
        linger,
        "--json",
        json.to_str().unwrap(),
        url,
    ];
    spawn(&args, ADDRESS_SPACE)
}

#[test]
fn metrics_grow_during_the_run_equal_the_json_at_the_end_and_linger() {
    let server =
        speedup_lab::EmbeddedServer::start(speedup_server::Config::default()).expect("serve");
    let url = format!("{}/async/sleep/0.001", server.base_url());
    let dir = scratch("metrics");
    let json = dir.join("run.json");
    let run = bench(&dir, &url, "3s");
    let addr = metrics_addr(&run);
    // While it runs: the counts appear and grow.
    let ok = "speedup_bench_requests_total{status=\"200\"}";
    let mut seen = 0.0;
    wait_until(Duration::from_secs(10), "requests in /metrics", || {
        seen = value(&scrape(&addr), ok).unwrap_or(0.0);
        seen > 0.0
    });
    assert!(!json.exists(), "scraped during the run");
    assert_eq!(
        value(&scrape(&addr), "speedup_bench_target_rate"),
        Some(200.0)
    );
    // The run ends (its JSON written); /metrics stays up with the final counts.
    wait_until(Duration::from_secs(15), "the end of the run", || {
        json.exists()
    });
    let ended = Instant::now();
    let text_at_end = scrape(&addr);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let total = v["requests"]["total"].as_f64().unwrap();
    assert!(seen < total, "{seen} of {total} seen while running");
    assert_eq!(
        value(&text_at_end, ok),
        v["status"]["200"].as_f64(),
        "{text_at_end}"
    );
    let count = "speedup_bench_latency_seconds_count";
    assert_eq!(
        value(&text_at_end, count),
        v["latency_ms"]["corrected"]["count"].as_f64()
    );
    assert_eq!(
        value(&text_at_end, "speedup_bench_late_sends_total"),
        v["late_sends"]["count"].as_f64()
    );
    assert_eq!(
        value(&text_at_end, "speedup_bench_errors_total{kind=\"timeout\"}"),
        Some(0.0)
    );
    assert_eq!(
        value(
            &text_at_end,
            "speedup_bench_latency_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(total)
    );
    // Every request took at least the 1 ms the server sleeps: none in the
    // buckets below 1 ms, all of them within 1 s.
    let below = "speedup_bench_latency_seconds_bucket{le=\"0.0009\"}";
    assert_eq!(value(&text_at_end, below), Some(0.0));
    let second = "speedup_bench_latency_seconds_bucket{le=\"1.0\"}";
    assert_eq!(value(&text_at_end, second), Some(total));
    let out = run.finish_within(Duration::from_secs(15));
    assert!(out.status.success(), "{}", text(&out).1);
    let lingered = ended.elapsed();
    assert!(
        lingered >= Duration::from_secs(2),
        "exited {lingered:?} after the run, before --metrics-linger 3s"
    );
    assert!(
        text(&out).1.contains("--metrics-linger"),
        "{}",
        text(&out).1
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "closed after the linger"
    );
}

#[test]
fn a_taken_port_fails_before_any_file_is_replaced() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = scratch("metrics-taken");
    let timeline = dir.join("keep.csv");
    std::fs::write(&timeline, "mine\n").unwrap();
    let args = [
        "bench",
        "-n",
        "1",
        "--metrics-addr",
        &addr,
        "--timeline",
        timeline.to_str().unwrap(),
        "http://127.0.0.1:1/",
    ];
    let out = spawn(&args, ADDRESS_SPACE).finish_within(Duration::from_secs(15));
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("--metrics-addr {addr}: cannot listen there")),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&timeline).unwrap(), "mine\n");
}

#[test]
#[ignore = "needs promtool"]
fn promtool_accepts_the_exposition_of_a_running_bench() {
    let server =
        speedup_lab::EmbeddedServer::start(speedup_server::Config::default()).expect("serve");
    let url = format!("{}/async/sleep/0.001", server.base_url());
    let dir = scratch("metrics-promtool");
    let run = bench(&dir, &url, "0s");
    let addr = metrics_addr(&run);
    let mut exposition = String::new();
    wait_until(Duration::from_secs(10), "requests in /metrics", || {
        exposition = scrape(&addr);
        exposition.contains("speedup_bench_requests_total{")
    });
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool on PATH (apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let checked = child.wait_with_output().expect("promtool ran");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{exposition}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let out = run.finish_within(Duration::from_secs(15));
    assert!(out.status.success(), "{}", text(&out).1);
}
