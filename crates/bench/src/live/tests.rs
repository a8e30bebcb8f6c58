use std::io::{Read, Write};
use std::net::TcpStream;

use super::http::{MetricsServer, CLIENT_TIME};
use super::*;
use crate::counts::SecondCounts;
use crate::recorder::error_index;

#[test]
fn buckets_are_r20_from_50us_to_63s() {
    assert_eq!(BOUNDS_US[..8], [50, 56, 63, 71, 80, 90, 100, 112]);
    assert_eq!(
        BOUNDS_US[BOUNDS_US.len() - 3..],
        [50_000_000, 56_000_000, 63_000_000]
    );
    for pair in BOUNDS_US.windows(2) {
        let ratio = pair[1] as f64 / pair[0] as f64;
        assert!((1.10..1.15).contains(&ratio), "{pair:?}");
    }
}

/// A second with 200×3, 503×1, two timeouts, one late send, and latencies
/// of 50 µs (on a bound: its bucket), 51 µs (the next), 1 s (see below) and 2 hours
/// (above every bound).
fn second() -> Interval {
    let mut i = Interval::new(0);
    for us in [50, 51, 1_000_000, 7_200_000_000] {
        i.hist.record(us).unwrap();
    }
    let mut c = SecondCounts {
        status: vec![(200, 3), (503, 1)],
        late_sends: 1,
        ..SecondCounts::default()
    };
    c.errors[error_index(speedup_load::ErrorKind::Timeout)] = 2;
    i.counts = c;
    i
}

#[test]
fn a_second_adds_to_every_family_in_both_formats() {
    let live = LiveMetrics::new(Some(250.0));
    live.add(&second());
    live.add(&second());
    let om = live.render(true);
    for line in [
        "speedup_bench_requests_total{status=\"200\"} 6",
        "speedup_bench_requests_total{status=\"503\"} 2",
        "speedup_bench_errors_total{kind=\"timeout\"} 4",
        "speedup_bench_errors_total{kind=\"connect\"} 0",
        "speedup_bench_late_sends_total 2",
        "speedup_bench_target_rate 250.0",
        "speedup_bench_latency_seconds_count 8",
        "speedup_bench_latency_seconds_bucket{le=\"0.00005\"} 2",
        "speedup_bench_latency_seconds_bucket{le=\"0.000056\"} 4",
        // 1 s exactly shares its HDR bucket (3 digits) with values up to
        // 0.05% above: counted above the bound, never below its value.
        "speedup_bench_latency_seconds_bucket{le=\"1.0\"} 4",
        "speedup_bench_latency_seconds_bucket{le=\"1.12\"} 6",
        "speedup_bench_latency_seconds_bucket{le=\"63.0\"} 6",
        "speedup_bench_latency_seconds_bucket{le=\"+Inf\"} 8",
        "# TYPE speedup_bench_requests counter",
        "# EOF",
    ] {
        assert!(om.lines().any(|l| l == line), "{line} not in\n{om}");
    }
    let sum: f64 = om
        .lines()
        .find_map(|l| l.strip_prefix("speedup_bench_latency_seconds_sum "))
        .unwrap()
        .parse()
        .unwrap();
    // 2 × (50 µs + 51 µs + 1 s + 2 h), within the HDR buckets' 0.1%.
    let exact = 2.0 * (0.000_101 + 1.0 + 7200.0);
    assert!((sum - exact).abs() / exact < 1e-3, "{sum}");
    let classic = live.render(false);
    assert!(classic.contains("# TYPE speedup_bench_requests_total counter\n"));
    assert!(!classic.contains("# EOF"));
    let closed = LiveMetrics::new(None).render(false);
    assert!(
        closed.contains("speedup_bench_target_rate 0.0\n"),
        "{closed}"
    );
}

fn get(server: &MetricsServer, request: &str) -> String {
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_metrics_and_refuses_the_rest_within_bounds() {
    let live = Arc::new(LiveMetrics::new(None));
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::clone(&live)).unwrap();
    live.add(&second());
    let out = get(&server, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(
        out.contains("content-type: text/plain; version=0.0.4"),
        "{out}"
    );
    assert!(out.contains("speedup_bench_requests_total{status=\"200\"} 3\n"));
    let out = get(
        &server,
        "GET /metrics?x=1 HTTP/1.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n",
    );
    assert!(out.contains("application/openmetrics-text") && out.ends_with("# EOF\n"));
    let head = get(&server, "HEAD /metrics HTTP/1.0\r\n\r\n");
    assert!(head.ends_with("\r\n\r\n"), "{head}");
    assert!(get(&server, "GET / HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404"));
    assert!(get(&server, "POST /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405"));
    // A peer that sends half a head and waits is answered (or dropped)
    // within the bound, and the next scrape is served.
    let begun = std::time::Instant::now();
    let mut slow = TcpStream::connect(server.local_addr()).unwrap();
    slow.write_all(b"GET /metr").unwrap();
    let out = get(&server, "GET /metrics HTTP/1.0\r\n\r\n");
    assert!(out.starts_with("HTTP/1.0 200 OK"), "{out}");
    assert!(begun.elapsed() < CLIENT_TIME * 3, "{:?}", begun.elapsed());
    drop(slow);
    // Stopping wakes the accept: drop returns promptly.
    let begun = std::time::Instant::now();
    drop(server);
    assert!(begun.elapsed() < CLIENT_TIME * 2);
}

#[test]
fn addresses_name_the_fix() {
    assert_eq!(parse_addr("127.0.0.1:9100").unwrap().port(), 9100);
    assert!(parse_addr("localhost:0").unwrap().ip().is_loopback());
    let e = parse_addr("9100").unwrap_err();
    assert!(e.contains("use HOST:PORT"), "{e}");
}
