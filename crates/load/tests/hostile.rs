//! Servers that flood, refuse uploads, and clients that panic: the engine
//! bounds what it holds and how long a request runs, hears early answers,
//! and never hangs.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use speedup_load::{run, Control, ErrorKind, Outcome, Record, Recorder, RunError};
use support::{answer_all, plan, run_plan, run_within, serve, Conn, Keep};

/// A 200 response whose first header line carries `len` bytes of value,
/// followed by `rest` (the other headers, the blank line, any body).
fn long_header_line(len: usize, rest: &[u8]) -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', len));
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(rest);
    head
}

#[test]
fn a_one_megabyte_header_line_is_malformed() {
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(&long_header_line(1_000_000, b"Content-Length: 0\r\n\r\n"));
        }
    });
    let (records, _, _) = run_plan(&plan(&server.url("/"), 4, 2)).unwrap();
    let kinds: Vec<_> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(kinds, vec![Outcome::Error(ErrorKind::Malformed); 4]);
}

#[test]
fn a_head_just_under_64_kib_is_read() {
    let server = serve(|mut conn: Conn| {
        while conn.read_request() {
            conn.write(&long_header_line(60_000, b"Content-Length: 2\r\n\r\nok"));
        }
    });
    let mut p = plan(&server.url("/"), 3, 1);
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert!(
        records.iter().all(|r| matches!(
            r.outcome,
            Outcome::Response {
                status: 200,
                body_bytes: 2,
                ..
            }
        )),
        "{records:?}"
    );
}

/// Reads the request head only, answers 405 at once and closes, leaving
/// the upload unread (the kernel then resets the connection).
fn refuse_uploads(mut conn: Conn) {
    if conn.read_request() {
        conn.write(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let _ = conn.reader.get_mut().flush();
    }
}

#[test]
fn an_upload_refused_early_is_answered_not_a_dead_server() {
    let server = serve(refuse_uploads);
    let mut p = plan(&server.url("/"), 6, 2);
    p.method = "POST".into();
    p.body = Some(vec![b'x'; 20 << 20].into());
    p.headers
        .push(("Content-Length".into(), (20 << 20).to_string()));
    let begun = Instant::now();
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 6);
    assert!(
        begun.elapsed() < Duration::from_secs(4),
        "waited on the upload"
    );
    for r in &records {
        // The 405 is heard (usually before the write fails), or, when the
        // reset beat it, the failed write is said as such: never a read
        // error, which ab's rules treat as a broken server.
        match r.outcome {
            Outcome::Response {
                status,
                write_failed,
                ..
            } => {
                assert_eq!((status, write_failed), (405, true), "{r:?}")
            }
            Outcome::Error(kind) => assert_eq!(kind, ErrorKind::Write, "{r:?}"),
        }
    }
    let heard = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Response { .. }))
        .count();
    assert!(heard >= 1, "{records:?}");
}

/// Panics on its first record.
#[derive(Debug)]
struct Panicky(Arc<AtomicBool>);

impl Recorder for Panicky {
    fn record(&mut self, _: &Record) {
        if !self.0.swap(true, Ordering::SeqCst) {
            panic!("recorder bug");
        }
    }
}

#[test]
fn a_panic_in_a_worker_ends_the_run_with_its_message() {
    let server = serve(answer_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    let mut p = plan(&server.url("/"), 1_000_000, 4);
    p.keep_alive = true;
    p.threads = Some(2);
    let fired = Arc::new(AtomicBool::new(false));
    let begun = Instant::now();
    let result = run(&p, || Panicky(Arc::clone(&fired)), &Control::new());
    match result {
        Err(RunError::Panic { message }) => assert_eq!(message, "recorder bug"),
        other => panic!("expected a panic error, got {other:?}"),
    }
    // The other worker stopped too instead of running a million requests.
    assert!(begun.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_body_over_4_gib_is_counted_in_full() {
    const LEN: u64 = 5_000_000_000;
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n").as_bytes());
            let chunk = vec![b'x'; 1 << 20];
            let mut left = LEN;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if conn.reader.get_mut().write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n as u64;
            }
        }
    });
    let mut p = plan(&server.url("/"), 1, 1);
    p.timeout = Duration::from_secs(120);
    let out = run(&p, Keep::default, &Control::new()).unwrap();
    let records: Vec<_> = out.recorders.into_iter().flat_map(|k| k.0).collect();
    assert!(
        matches!(
            records[..],
            [Record {
                outcome: Outcome::Response {
                    body_bytes: LEN,
                    ..
                },
                ..
            }]
        ),
        "{records:?}"
    );
}

/// A chunked body whose trailer section never ends.
fn endless_trailers(mut conn: Conn) {
    if conn.read_request() {
        conn.flood(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
            b"X-Trailer: 0123456789\r\n",
        );
    }
}

/// A valid chunked body that never ends, in 1-byte chunks (the slowest
/// framing to follow, so the client never catches up and its socket is
/// always readable).
fn endless_tiny_chunks(mut conn: Conn) {
    if conn.read_request() {
        conn.flood(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"1\r\nx\r\n",
        );
    }
}

/// A Content-Length body that would take days to send.
fn endless_length(mut conn: Conn) {
    if conn.read_request() {
        conn.flood(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\n",
            &[b'x'; 4096],
        );
    }
}

/// A close-delimited body from a server that never closes.
fn endless_until_close(mut conn: Conn) {
    if conn.read_request() {
        conn.flood(b"HTTP/1.0 200 OK\r\n\r\n", &[b'x'; 4096]);
    }
}

/// Generous for a noisy 2-core machine, far below a hang.
const MARGIN: Duration = Duration::from_millis(1500);
/// How long a test waits for a run that should end, before calling it hung.
const HUNG: Duration = Duration::from_secs(20);

#[test]
fn endless_trailers_are_malformed_after_64_kib() {
    let server = serve(endless_trailers);
    let mut p = plan(&server.url("/"), 2, 1);
    p.timeout = Duration::from_secs(2);
    let (records, took) = run_within(&p, Arc::default(), HUNG);
    let kinds: Vec<_> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(kinds, vec![Outcome::Error(ErrorKind::Malformed); 2]);
    // The trailer cap ended them, not the timeout.
    assert!(took < p.timeout, "{took:?}");
}

#[test]
fn a_response_that_never_ends_times_out_on_time() {
    for (name, server) in [
        ("tiny chunks", serve(endless_tiny_chunks)),
        ("content-length", serve(endless_length)),
        ("until close", serve(endless_until_close)),
    ] {
        let mut p = plan(&server.url("/"), 1, 1);
        p.timeout = Duration::from_secs(1);
        let (records, took) = run_within(&p, Arc::default(), HUNG);
        let kinds: Vec<_> = records.iter().map(|r| r.outcome).collect();
        assert_eq!(kinds, [Outcome::Error(ErrorKind::Timeout)], "{name}");
        assert!(took < p.timeout + MARGIN, "{name}: {took:?}");
    }
}

/// Waits (bounded) until `server` has read `n` requests.
fn until_requests(server: &support::TestServer, n: usize) {
    let begun = Instant::now();
    while server.stats.requests() < n {
        assert!(begun.elapsed() < HUNG, "no request arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn abort_ends_a_run_flooded_with_responses_at_once() {
    let server = serve(endless_tiny_chunks);
    let mut p = plan(&server.url("/"), 4, 2);
    p.timeout = Duration::from_secs(60);
    let control = Arc::new(Control::new());
    let aborter = Arc::clone(&control);
    let watch = std::thread::spawn(move || {
        until_requests(&server, 2);
        std::thread::sleep(Duration::from_millis(100));
        aborter.abort();
        Instant::now()
    });
    let (records, _) = run_within(&p, control, HUNG);
    let aborted = watch.join().unwrap();
    let after = aborted.elapsed();
    assert!(after < MARGIN, "the run ended {after:?} after the abort");
    assert!(records.is_empty(), "{records:?}");
}

#[test]
fn stop_lets_a_flooded_request_end_at_its_timeout() {
    let server = serve(endless_tiny_chunks);
    let mut p = plan(&server.url("/"), 1_000_000, 1);
    p.timeout = Duration::from_secs(1);
    let control = Arc::new(Control::new());
    let stopper = Arc::clone(&control);
    let watch = std::thread::spawn(move || {
        until_requests(&server, 1);
        stopper.stop();
    });
    let (records, took) = run_within(&p, control, HUNG);
    watch.join().unwrap();
    let kinds: Vec<_> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(kinds, [Outcome::Error(ErrorKind::Timeout)]);
    assert!(took < p.timeout + MARGIN, "{took:?}");
}

/// Answers every request on the connection with `response` followed by
/// `extra`, in the same write or (`later`) 5 ms after.
fn answer_then(
    response: &'static [u8],
    extra: &'static [u8],
    later: bool,
) -> impl Fn(Conn) + Send + Sync + 'static {
    move |mut conn: Conn| {
        while conn.read_request() {
            if later {
                conn.write(response);
                std::thread::sleep(Duration::from_millis(5));
                conn.write(extra);
            } else {
                conn.write(&[response, extra].concat());
            }
        }
    }
}

const KEPT: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// The outcome of a kept "hello" response.
fn hello() -> Outcome {
    Outcome::Response {
        status: 200,
        header_bytes: KEPT.len() as u64 - 5,
        body_bytes: 5,
        keep_alive: true,
        write_failed: false,
    }
}

#[test]
fn bytes_after_a_kept_response_fail_the_next_request_however_they_are_split() {
    let malformed = Outcome::Error(ErrorKind::Malformed);
    let every_other: Vec<_> = [hello(), malformed].repeat(5);
    // Junk after the body; a body longer than its Content-Length.
    for extra in [&b"junk!"[..], b" world"] {
        for later in [false, true] {
            let server = serve(answer_then(KEPT, extra, later));
            let mut p = plan(&server.url("/"), 10, 1);
            p.keep_alive = true;
            let (records, _) = run_within(&p, Arc::default(), HUNG);
            let outcomes: Vec<_> = records.iter().map(|r| r.outcome).collect();
            let what = (String::from_utf8_lossy(extra), later);
            assert_eq!(outcomes, every_other, "{what:?}");
            // The response is kept as it was, its connection is not.
            assert_eq!(server.stats.accepted(), 5, "{what:?}");
        }
    }
}

#[test]
fn a_second_response_in_the_same_read_fails_the_next_request() {
    let server = serve(answer_then(KEPT, KEPT, false));
    let mut p = plan(&server.url("/"), 4, 1);
    p.keep_alive = true;
    let (records, _) = run_within(&p, Arc::default(), HUNG);
    let outcomes: Vec<_> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [hello(), Outcome::Error(ErrorKind::Malformed)].repeat(2)
    );
}

#[test]
fn bytes_after_a_response_whose_connection_closes_anyway_are_not_looked_at() {
    const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";
    for (response, keep_alive) in [(CLOSE, true), (KEPT, false)] {
        let server = serve(answer_then(response, b"junk!", false));
        let mut p = plan(&server.url("/"), 4, 1);
        p.keep_alive = keep_alive;
        let (records, _) = run_within(&p, Arc::default(), HUNG);
        assert!(
            records
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Response { status: 200, .. })),
            "{records:?}"
        );
        assert_eq!(server.stats.accepted(), 4);
    }
}
