//! HTTP/2 over real sockets, against an in-test `h2` server that
//! misbehaves as told: the streams the server allows are never exceeded; a
//! GOAWAY mid-run moves the run to a new connection without losing or
//! doubling a request; resets are counted by code; a huge header block is
//! an error; a huge body is counted, not kept; a server that will not
//! choose `h2` stops the run; a stall is charged to every request due
//! during it.

#[path = "support/h2_server.rs"]
mod h2_server;
#[path = "support/tls_server.rs"]
mod tls_server;

use std::sync::atomic::Ordering;
use std::time::Duration;

use h2::Reason;
use h2_server::Behaviour;
use speedup_load::{
    run, Control, ErrorKind, Outcome, Plan, Record, Recorder, RunOutput, Scheduled, Target,
};

#[derive(Default)]
struct Keep(Vec<(Record, Option<Scheduled>)>);

impl Recorder for Keep {
    fn record(&mut self, record: &Record) {
        self.0.push((*record, None));
    }

    fn record_scheduled(&mut self, record: &Record, scheduled: Scheduled) {
        self.0.push((*record, Some(scheduled)));
    }
}

/// An HTTP/2 plan of `n` requests over `c` connections × `streams`.
fn plan(base: &str, n: u64, c: u32, streams: u32) -> Plan {
    let mut p = Plan::new(Target::parse(&format!("{base}/")).expect("url"));
    p.http2 = true;
    p.streams = streams;
    p.requests = Some(n);
    p.concurrency = c;
    p.keep_alive = true;
    p.timeout = Duration::from_secs(20);
    p.threads = Some(1);
    p.headers = speedup_load::default_headers(&p.target);
    p
}

fn records(p: &Plan) -> (Vec<(Record, Option<Scheduled>)>, RunOutput<Keep>) {
    let mut out = run(p, Keep::default, &Control::new()).expect("run");
    let all = out.recorders.drain(..).flat_map(|k| k.0).collect();
    (all, out)
}

fn ok(all: &[(Record, Option<Scheduled>)]) -> usize {
    all.iter()
        .filter(|(r, _)| matches!(r.outcome, Outcome::Response { status: 200, .. }))
        .count()
}

#[test]
fn streams_go_at_once_but_never_beyond_what_the_server_allows() {
    let (base, seen) = h2_server::start(Behaviour::default());
    let (all, _) = records(&plan(&base, 200, 1, 8));
    assert_eq!((all.len(), ok(&all)), (200, 200));
    assert!(seen.most_in_flight.load(Ordering::SeqCst) >= 4, "{seen:?}");
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);

    let (base, seen) = h2_server::start(Behaviour {
        max_streams: Some(1),
        ..Behaviour::default()
    });
    let (all, _) = records(&plan(&base, 50, 1, 8));
    assert_eq!((all.len(), ok(&all)), (50, 50));
    assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), 1, "{seen:?}");
}

#[test]
fn a_goaway_moves_the_run_to_a_new_connection_and_counts_stay_right() {
    let (base, seen) = h2_server::start(Behaviour {
        goaway_after: Some(100),
        ..Behaviour::default()
    });
    let (all, _) = records(&plan(&base, 300, 2, 4));
    assert_eq!(all.len(), 300);
    assert_eq!(
        ok(&all),
        300,
        "refused streams go again: {:?}",
        errors(&all)
    );
    // Every request the server took once, none twice.
    assert_eq!(seen.streams.load(Ordering::SeqCst), 300);
    assert!(seen.connections.load(Ordering::SeqCst) >= 3, "{seen:?}");
}

#[test]
fn resets_are_counted_by_their_code() {
    let (base, _) = h2_server::start(Behaviour {
        reset_every: Some((10, Reason::INTERNAL_ERROR)),
        ..Behaviour::default()
    });
    let (all, _) = records(&plan(&base, 100, 1, 4));
    assert_eq!(all.len(), 100);
    assert_eq!(ok(&all), 90);
    assert_eq!(errors(&all), vec![ErrorKind::Reset(0x2); 10]);
}

#[test]
fn a_huge_header_block_is_an_error_and_a_huge_body_is_counted_not_kept() {
    let (base, _) = h2_server::start(Behaviour {
        header_bytes: 1 << 20,
        ..Behaviour::default()
    });
    let (all, _) = records(&plan(&base, 4, 1, 1));
    assert_eq!(all.len(), 4);
    assert_eq!(ok(&all), 0, "{:?}", errors(&all));

    let big = 10 << 20;
    let (base, _) = h2_server::start(Behaviour {
        body_bytes: Some(big),
        ..Behaviour::default()
    });
    let (all, _) = records(&plan(&base, 4, 1, 2));
    for (r, _) in &all {
        assert!(
            matches!(r.outcome, Outcome::Response { status: 200, body_bytes, .. } if body_bytes == big as u64),
            "{r:?}"
        );
    }
}

#[test]
fn a_server_that_does_not_choose_h2_stops_the_run() {
    // The TLS test server offers no ALPN protocol at all.
    let base = tls_server::start();
    let mut p = plan(&base, 20, 2, 1);
    p.insecure = true;
    let (all, out) = records(&p);
    assert_eq!(out.alpn_refused.as_deref(), Some("none"));
    assert!(all.len() < 20, "stopped early: {} records", all.len());
}

#[test]
fn a_stall_is_charged_to_every_request_due_during_it() {
    let (base, _) = h2_server::start(Behaviour {
        stall: Some((Duration::from_millis(500), Duration::from_millis(500))),
        ..Behaviour::default()
    });
    let mut p = plan(&base, 1000, 5, 2);
    p.requests = None;
    p.duration = Some(Duration::from_secs(3));
    p.rate = Some(1000.0);
    let (all, _) = records(&p);
    let mut corrected: Vec<u64> = all
        .iter()
        .map(|(r, s)| {
            s.expect("scheduled")
                .corrected_us(u64::from(r.sample.total_us))
        })
        .collect();
    let mut uncorrected: Vec<u64> = all
        .iter()
        .map(|(r, _)| u64::from(r.sample.total_us))
        .collect();
    corrected.sort_unstable();
    uncorrected.sort_unstable();
    let p99 = |v: &[u64]| v[v.len() * 99 / 100];
    assert_eq!(ok(&all), all.len());
    // About 500 of 3000 requests were due during the stall; only the 10
    // in flight saw it from their send.
    assert!(
        p99(&corrected) >= 200_000,
        "corrected p99 {}",
        p99(&corrected)
    );
    assert!(
        p99(&uncorrected) * 2 < p99(&corrected),
        "uncorrected p99 {}",
        p99(&uncorrected)
    );
}

fn errors(all: &[(Record, Option<Scheduled>)]) -> Vec<ErrorKind> {
    all.iter()
        .filter_map(|(r, _)| match r.outcome {
            Outcome::Error(kind) => Some(kind),
            Outcome::Response { .. } => None,
        })
        .collect()
}
