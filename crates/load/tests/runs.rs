//! Run-level behaviour: exact request counts, concurrency, keep-alive
//! reuse, time limits, the stop switch, threads, and limits.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use speedup_load::{run, Control, Outcome, Record, Recorder, RunError};
use support::{answer_all, plan, run_plan, serve};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn exact_count_and_concurrency_with_keep_alive() {
    let server = serve(answer_all(HELLO));
    let mut p = plan(&server.url("/x"), 500, 7);
    p.keep_alive = true;
    p.threads = Some(2);
    let (records, elapsed, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 500);
    assert_eq!(server.stats.requests(), 500);
    assert_eq!(server.stats.accepted(), 7);
    assert_eq!(server.stats.max_open(), 7);
    assert!(records
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Response { status: 200, .. })));
    let last = records
        .iter()
        .map(|r| r.sample.start_us + u64::from(r.sample.total_us))
        .max()
        .unwrap();
    // Elapsed runs to the last record.
    assert!(elapsed.as_micros() as u64 >= last);
}

#[test]
fn without_keep_alive_every_request_connects() {
    let server = serve(answer_all(HELLO));
    let (records, _, _) = run_plan(&plan(&server.url("/"), 40, 4)).unwrap();
    assert_eq!(records.len(), 40);
    assert_eq!(server.stats.accepted(), 40);
    assert!(records
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Response { status: 200, .. })));
}

#[test]
fn time_limit_stops_the_run() {
    let server = serve(answer_all(HELLO));
    let mut p = plan(&server.url("/"), 1, 3);
    p.requests = None;
    p.duration = Some(Duration::from_millis(300));
    p.keep_alive = true;
    let begun = Instant::now();
    let (records, elapsed, _) = run_plan(&p).unwrap();
    let took = begun.elapsed();
    assert!(!records.is_empty());
    assert_eq!(records.len(), server.stats.requests());
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    // No request starts after the limit.
    assert!(records.iter().all(|r| r.sample.start_us < 300_000));
}

/// Stops the run after a few records.
struct StopAfter {
    control: Arc<Control>,
    seen: u64,
}

impl Recorder for StopAfter {
    fn record(&mut self, _: &Record) {
        self.seen += 1;
        if self.seen == 5 {
            self.control.stop();
        }
    }
}

#[test]
fn stop_switch_ends_the_run() {
    let server = serve(answer_all(HELLO));
    let mut p = plan(&server.url("/"), 100_000, 1);
    p.keep_alive = true;
    let control = Arc::new(Control::new());
    let make = || StopAfter {
        control: Arc::clone(&control),
        seen: 0,
    };
    let out = run(&p, make, &control).unwrap();
    assert_eq!(out.recorders.len(), 1);
    assert_eq!(out.recorders[0].seen, 5);
    assert_eq!(control.completed(), 5);
    assert!(control.is_stopped());
}

#[test]
fn plan_errors_and_open_file_limit_are_reported() {
    let server = serve(answer_all(HELLO));
    let p = plan(&server.url("/"), 2, 3);
    assert!(matches!(run_plan(&p), Err(RunError::Plan(_))));
    let mut p = plan(&server.url("/"), 1, 1);
    p.requests = None;
    p.duration = Some(Duration::from_millis(100));
    p.concurrency = 2_000_000_000;
    match run_plan(&p) {
        Err(e @ RunError::OpenFiles { .. }) => assert!(e.to_string().contains("ulimit -n")),
        other => panic!("expected OpenFiles, got {:?}", other.map(|r| r.0.len())),
    }
    assert_eq!(server.stats.accepted(), 0);
}

#[test]
fn abort_abandons_in_flight_requests() {
    let server = serve(|mut conn: support::Conn| {
        conn.read_request();
        conn.drain();
    });
    let p = plan(&server.url("/"), 2, 2); // 5 s timeout
    let control = Control::new();
    let begun = Instant::now();
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            control.abort();
        });
        run(&p, support::Keep::default, &control).unwrap()
    });
    let took = begun.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(out.recorders.iter().all(|k| k.0.is_empty()));
    assert!(control.is_stopped());
}
