//! The lab measures the server users run: its embedded server is `speedup
//! serve`'s thread per core, where a connection lives on the thread that
//! accepted it. A request that blocks its serving thread (`/stall`, like
//! `/async/fibo`'s computations) delays the requests of the connections on
//! that thread only: others, and new connections, are served at once by the
//! other thread. (A work-stealing runtime would serve them all at once; one
//! serving thread would delay them all.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use speedup_lab::EmbeddedServer;

/// Upper bound on any single wait.
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long the stall holds its thread.
const STALL: &str = "1";
/// Longer than any request not stuck behind the stall takes here, shorter
/// than the stall.
const SLOW: Duration = Duration::from_millis(500);

/// A keep-alive connection to `addr`.
fn connect(addr: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    BufReader::new(stream)
}

/// Sends `GET path` on `conn`.
fn send(conn: &mut BufReader<TcpStream>, addr: &str, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    conn.get_mut()
        .write_all(request.as_bytes())
        .expect("send request");
}

/// Reads one response (framed by `content-length`); returns its status.
fn status(conn: &mut BufReader<TcpStream>) -> u16 {
    let mut line = String::new();
    conn.read_line(&mut line).expect("status line");
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
    let mut length = 0;
    loop {
        let mut header = String::new();
        conn.read_line(&mut header).expect("header");
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().expect("content-length");
            }
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).expect("body");
    status.unwrap_or_else(|| panic!("bad status line {line:?}"))
}

/// `GET path` on `conn`, timed from the send to the whole answer.
fn timed(conn: &mut BufReader<TcpStream>, addr: &str, path: &str) -> Duration {
    let sent = Instant::now();
    send(conn, addr, path);
    assert_eq!(status(conn), 200, "{path}");
    sent.elapsed()
}

/// `speedup_http_requests_in_flight` of the server, read in-process.
fn in_flight(server: &EmbeddedServer) -> u64 {
    let text = server.metrics().expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix("speedup_http_requests_in_flight "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no in-flight gauge in\n{text}"))
}

/// One round: a stall sent on connection `stalled` of `conns`, then a
/// quick request on each other connection and on a new one; returns how
/// long those took (the new connection's last).
fn round(
    server: &EmbeddedServer,
    conns: &mut [BufReader<TcpStream>],
    stalled: usize,
) -> Vec<Duration> {
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    send(&mut conns[stalled], &addr, &format!("/stall/sleep/{STALL}"));
    // The stall holds its thread once the app has it (this read counts
    // itself in flight too).
    let until = Instant::now() + TIMEOUT;
    while in_flight(server) < 2 {
        assert!(Instant::now() < until, "the stall never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    let times = std::thread::scope(|s| {
        let mut clients: Vec<_> = conns
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| *i != stalled)
            .map(|(_, conn)| s.spawn(|| timed(conn, &addr, "/async/sleep/0")))
            .collect();
        clients.push(s.spawn(|| timed(&mut connect(&addr), &addr, "/async/sleep/0")));
        clients
            .into_iter()
            .map(|client| client.join().expect("client"))
            .collect()
    });
    assert_eq!(status(&mut conns[stalled]), 200, "the stall");
    times
}

#[test]
fn a_blocked_serving_thread_delays_only_its_own_connections() {
    let config = speedup_server::Config::default();
    let server = EmbeddedServer::with_workers(config, 2).expect("start");
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    // Eight keep-alive connections, each served once: spread over the two
    // threads somehow, at least four on one of them.
    let mut conns: Vec<_> = (0..8)
        .map(|_| {
            let mut conn = connect(&addr);
            timed(&mut conn, &addr, "/async/sleep/0");
            conn
        })
        .collect();
    // A stall on a connection that shares its thread with no other shows
    // no delay: try the connections in turn until one shares.
    for stalled in 0..conns.len() {
        let times = round(&server, &mut conns, stalled);
        eprintln!("stall on connection {stalled}: {times:?}");
        let new_connection = times.last().copied().unwrap_or_default();
        assert!(
            new_connection < SLOW,
            "a new connection waited {new_connection:?} behind a stall: one serving thread?"
        );
        if times.iter().any(|took| *took >= SLOW) {
            assert!(
                times.iter().any(|took| *took < SLOW),
                "every connection waited behind the stall: {times:?}"
            );
            server.stop().expect("clean stop");
            return;
        }
    }
    panic!("no connection ever waited behind a stall on its thread: a work-stealing runtime?");
}
