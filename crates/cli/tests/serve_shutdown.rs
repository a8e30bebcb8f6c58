//! `speedup serve`'s stop under the signals a process really gets: shutdown
//! is bounded by `--grace` (and cut short by a second signal) even when every
//! serving thread is stuck inside a handler; SIGHUP shuts down gracefully and
//! SIGUSR1 is ignored; and a client that gave up while queued beyond
//! `--max-connections` is not served.
#![cfg(unix)]

mod serve_support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serve_support::{read_all, serve, wait_for_line, Served, TIMEOUT};

/// Both serving threads of `--workers 2` stuck in a blocking sleep (the
/// `/stall` mistake): a thread stuck on the first stall takes no other
/// connection, so the second goes to the other thread.
fn stall_both(served: &Served) -> [TcpStream; 2] {
    [
        served.start_request("/stall/sleep/30"),
        served.start_request("/stall/sleep/29"),
    ]
}

#[test]
fn grace_bounds_the_exit_even_with_every_serving_thread_stuck_in_a_handler() {
    let mut served = serve(&["--workers", "2", "--grace", "1"]);
    let mut stalled = stall_both(&served);
    // Nobody can accept this one: it waits in the listen backlog.
    let mut waiting = served.send_request("/async/sleep/0");
    let signalled = Instant::now();
    served.signal("TERM");
    // It used to wait for the stuck handlers: 29 s and more.
    let status = served.exit_status(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    for stream in &mut stalled {
        assert_eq!(read_all(stream), "", "a cut request got an answer");
    }
    let answer = read_all(&mut waiting);
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer:?}"
    );
    let log = served.rest_of_stderr().join("\n");
    assert!(log.contains("cut 2 request(s)"), "{log}");
}

#[test]
fn a_second_signal_stops_at_once_even_with_every_serving_thread_stuck() {
    let mut served = serve(&["--workers", "2", "--grace", "30"]);
    let mut stalled = stall_both(&served);
    served.signal("TERM");
    wait_for_line(&served.stderr, &["received SIGTERM"]);
    let signalled = Instant::now();
    served.signal("INT");
    let status = served.exit_status(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    for stream in &mut stalled {
        assert_eq!(read_all(stream), "", "a cut request got an answer");
    }
    let log = served.rest_of_stderr().join("\n");
    assert!(log.contains("cut 2 request(s)"), "{log}");
}

/// A terminal that closes sends SIGHUP: a graceful stop, as SIGTERM.
#[test]
fn sighup_shuts_down_gracefully() {
    let mut served = serve(&[]);
    let mut stream = served.start_request("/async/sleep/0.5");
    served.signal("HUP");
    wait_for_line(&served.stderr, &["received SIGHUP"]);
    let answer = read_all(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    let status = served.exit_status(TIMEOUT);
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn sigusr1_is_logged_and_changes_nothing() {
    let mut served = serve(&[]);
    let mut stream = served.start_request("/async/sleep/0.5");
    served.signal("USR1");
    wait_for_line(&served.stderr, &["received SIGUSR1", "ignored"]);
    let answer = read_all(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    let answer = served.get("/async/sleep/0");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
}

/// Past `--max-connections`, a client that sent its request and then gave
/// up (closed) while it waited in the backlog is dropped when its turn
/// comes, before its request runs; one still waiting is served.
#[test]
fn a_client_that_left_while_queued_beyond_the_cap_is_not_served() {
    let served = serve(&["--workers", "1", "--max-connections", "1"]);
    let holder = served.start_request("/async/sleep/30");
    {
        let mut gone = TcpStream::connect(&served.addr).expect("connect");
        let request = format!(
            "GET /baseline/sleep/0.1 HTTP/1.1\r\nHost: {}\r\n\r\n",
            served.addr
        );
        gone.write_all(request.as_bytes()).expect("send");
    }
    let mut waiting = served.send_request("/async/sleep/0");
    // Frees the only slot: a reset cancels the holder's request.
    reset(holder);
    wait_for_line(&served.stderr, &["left while waiting in the backlog"]);
    let answer = read_all(&mut waiting);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    let metrics = served.get("/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics:?}");
    assert!(
        !metrics.contains("speedup_http_requests_total{route=\"/baseline/sleep/{n}\""),
        "the request of a client that left was served: {metrics}"
    );
}

/// Closes `stream` with a reset (`SO_LINGER` 0) instead of a FIN.
fn reset(stream: TcpStream) {
    rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO)).expect("SO_LINGER");
    drop(stream);
}
