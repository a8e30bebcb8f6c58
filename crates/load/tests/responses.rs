//! Response framing and failure kinds against small misbehaving servers.

mod support;

use std::time::{Duration, Instant};

use speedup_load::{ErrorKind, Outcome, Record};
use support::{answer_all, closed_port, plan, run_plan, serve, Conn};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nServer: test/1\r\nContent-Length: 5\r\n\r\nhello";

fn outcomes(records: &[Record]) -> Vec<Outcome> {
    records.iter().map(|r| r.outcome).collect()
}

fn errors(records: &[Record]) -> Vec<ErrorKind> {
    records
        .iter()
        .map(|r| match r.outcome {
            Outcome::Error(kind) => kind,
            other => panic!("expected an error, got {other:?}"),
        })
        .collect()
}

#[test]
fn content_length_keep_alive() {
    let server = serve(answer_all(HELLO));
    let mut p = plan(&server.url("/"), 20, 2);
    p.keep_alive = true;
    let (records, _, server_header) = run_plan(&p).unwrap();
    let expected = Outcome::Response {
        status: 200,
        header_bytes: HELLO.len() as u64 - 5,
        body_bytes: 5,
        keep_alive: true,
        write_failed: false,
    };
    assert_eq!(outcomes(&records), vec![expected; 20]);
    assert_eq!(server_header.as_deref(), Some("test/1"));
    assert_eq!(server.stats.accepted(), 2);
    // Reused connections: connect time 0 after the first request of each.
    assert!(records.iter().filter(|r| r.sample.connect_us == 0).count() >= 18);
    for r in &records {
        assert!(r.sample.total_us >= r.sample.wait_us);
    }
}

#[test]
fn chunked_body_counts_raw_bytes() {
    const BODY: &[u8] = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let server = serve(answer_all(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ));
    let mut p = plan(&server.url("/"), 6, 1);
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 6);
    for r in &records {
        assert!(
            matches!(r.outcome, Outcome::Response { status: 200, body_bytes, keep_alive: true, .. } if body_bytes as usize == BODY.len())
        );
    }
    assert_eq!(server.stats.accepted(), 1);
}

#[test]
fn close_delimited_body_reads_to_eof() {
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(b"HTTP/1.0 200 OK\r\n\r\nsome body");
        }
    });
    let mut p = plan(&server.url("/"), 4, 2);
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 4);
    for r in &records {
        assert!(matches!(
            r.outcome,
            Outcome::Response {
                status: 200,
                body_bytes: 9,
                keep_alive: false,
                ..
            }
        ));
    }
    assert_eq!(server.stats.accepted(), 4);
}

#[test]
fn http10_keep_alive_only_when_announced() {
    let with = serve(answer_all(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    ));
    let without = serve(answer_all(
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ));
    for (server, connections) in [(&with, 1), (&without, 5)] {
        let mut p = plan(&server.url("/"), 5, 1);
        p.keep_alive = true;
        let (records, _, _) = run_plan(&p).unwrap();
        assert_eq!(records.len(), 5);
        assert_eq!(server.stats.accepted(), connections);
    }
}

#[test]
fn head_and_no_content_have_no_body() {
    let server = serve(answer_all(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    ));
    let mut p = plan(&server.url("/"), 3, 1);
    p.method = "HEAD".into();
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 3);
    assert!(records
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Response { body_bytes: 0, .. })));
    assert_eq!(server.stats.accepted(), 1);

    let server = serve(answer_all(b"HTTP/1.1 204 No Content\r\n\r\n"));
    let mut p = plan(&server.url("/"), 3, 1);
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert!(records.iter().all(|r| matches!(
        r.outcome,
        Outcome::Response {
            status: 204,
            body_bytes: 0,
            ..
        }
    )));
}

#[test]
fn short_body_then_close_is_a_length_error() {
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        }
    });
    let (records, _, _) = run_plan(&plan(&server.url("/"), 3, 1)).unwrap();
    assert_eq!(errors(&records), vec![ErrorKind::Length; 3]);
}

#[test]
fn reset_mid_body_is_a_read_error() {
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
            conn.reset();
        }
    });
    let (records, _, _) = run_plan(&plan(&server.url("/"), 3, 1)).unwrap();
    assert_eq!(errors(&records), vec![ErrorKind::Read; 3]);
}

#[test]
fn garbage_is_malformed() {
    let server = serve(answer_all(b"SSH-2.0-OpenSSH\r\n\r\n"));
    let (records, _, _) = run_plan(&plan(&server.url("/"), 2, 1)).unwrap();
    assert_eq!(errors(&records), vec![ErrorKind::Malformed; 2]);
}

#[test]
fn silent_server_times_out_within_the_timeout() {
    let server = serve(|mut conn: Conn| {
        conn.read_request();
        conn.drain();
    });
    let mut p = plan(&server.url("/"), 2, 2);
    p.timeout = Duration::from_millis(300);
    let begun = Instant::now();
    let (records, _, _) = run_plan(&p).unwrap();
    let took = begun.elapsed();
    assert_eq!(errors(&records), vec![ErrorKind::Timeout; 2]);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    for r in &records {
        assert!(r.sample.total_us >= 300_000);
    }
}

#[test]
fn refused_connection_is_a_connect_error() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let (records, _, server_header) = run_plan(&plan(&url, 3, 1)).unwrap();
    assert_eq!(errors(&records), vec![ErrorKind::Connect; 3]);
    assert_eq!(server_header, None);
}

#[test]
fn keep_alive_closed_without_an_answer_is_recorded_not_retried() {
    // Promises keep-alive, answers one request, then reads the next one and
    // closes without answering: every reused request goes unanswered.
    let server = serve(|mut conn: Conn| {
        if conn.read_request() {
            conn.write(HELLO);
            conn.read_request();
        }
    });
    let mut p = plan(&server.url("/"), 10, 1);
    p.keep_alive = true;
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 10);
    let unanswered = records
        .iter()
        .filter(|r| r.outcome == Outcome::Error(ErrorKind::NoResponse))
        .count();
    // Answered, unanswered, answered, ... on alternate connections.
    assert_eq!(unanswered, 5, "{records:?}");
    // Each request was sent exactly once: nothing retried behind our back.
    assert_eq!(server.stats.requests(), 10);
    assert_eq!(server.stats.accepted(), 5);
}

#[test]
fn large_body_is_counted_whole() {
    let server = serve(|mut conn: Conn| {
        let body = vec![b'x'; 1_000_000];
        while conn.read_request() {
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
            conn.write(&body);
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
                body_bytes: 1_000_000,
                header_bytes: 44,
                keep_alive: true,
                write_failed: false,
            }
        )),
        "{records:?}"
    );
    assert_eq!(records.len(), 3);
    assert_eq!(server.stats.accepted(), 1);
}

/// Answers on a keep-alive connection until it has been idle for `idle`,
/// then closes it, as servers do at their keep-alive timeout.
fn close_when_idle(idle: Duration, junk: bool) -> impl Fn(Conn) + Send + Sync + 'static {
    move |mut conn: Conn| {
        conn.reader.get_ref().set_read_timeout(Some(idle)).unwrap();
        while conn.read_request() {
            conn.write(HELLO);
        }
        if junk {
            conn.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n");
            // Stays open: only the bytes tell the client.
            std::thread::sleep(Duration::from_secs(5));
        }
    }
}

#[test]
fn a_kept_connection_closed_while_idle_is_replaced_before_sending() {
    // Open loop at 10 requests a second on one connection: it sits idle
    // ~100 ms between requests, and the server closes it after 30 ms.
    let server = serve(close_when_idle(Duration::from_millis(30), false));
    let mut p = plan(&server.url("/"), 6, 1);
    p.keep_alive = true;
    p.rate = Some(10.0);
    let (records, _, _) = run_plan(&p).unwrap();
    assert_eq!(records.len(), 6);
    assert!(
        records
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Response { status: 200, .. })),
        "{records:?}"
    );
    // Every request on a connection of its own, each sent once.
    assert_eq!(server.stats.requests(), 6);
    assert_eq!(server.stats.accepted(), 6);
}

#[test]
fn bytes_on_a_kept_connection_while_idle_fail_the_next_request_unsent() {
    let server = serve(close_when_idle(Duration::from_millis(30), true));
    let mut p = plan(&server.url("/"), 4, 1);
    p.keep_alive = true;
    p.rate = Some(10.0);
    let (records, _, _) = run_plan(&p).unwrap();
    // Answered, then the 408 the idle connection got fails the next one
    // unsent; that one's connection is gone, so the next goes on a new one.
    let kinds: Vec<_> = records
        .iter()
        .map(|r| match r.outcome {
            Outcome::Response { status, .. } => Ok(status),
            Outcome::Error(kind) => Err(kind),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            Ok(200),
            Err(ErrorKind::Malformed),
            Ok(200),
            Err(ErrorKind::Malformed)
        ]
    );
    assert_eq!(server.stats.requests(), 2);
}
