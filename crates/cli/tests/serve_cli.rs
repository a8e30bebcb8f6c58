//! `speedup serve` as a process: prints its address, shuts down gracefully on
//! SIGTERM/SIGINT with exit status 0, rejects bad flags by name, binds
//! loopback unless told otherwise, and refuses a port already in use.
#![cfg(unix)]

mod serve_support;

use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serve_support::{
    lines_of, read_all, refused, serve, serve_args, serve_with_limits, speedup, wait_for_line,
    Served, TIMEOUT,
};

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let mut served = serve(&[]);
    let mut stream = served.start_request("/baseline/sleep/0.5");
    served.signal("TERM");
    let response = read_all(&mut stream);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
    assert!(
        response.ends_with("\r\n\r\n\"hello world after 0.5s of sleep\""),
        "{response:?}"
    );
    let status = served.exit_status(TIMEOUT);
    assert!(status.success(), "exit status {status:?}");
}

/// A default start is quiet: one `listening on` line (stdout, which
/// scripts parse), nothing on stderr (a default `--max-connections` above
/// the open-files limit is fitted without a word); SIGTERM then gives the
/// signal's line and one summary, whatever the number of serving threads.
#[test]
fn a_default_start_says_one_line_and_its_stop_one_summary() {
    let mut child = speedup(&["serve", "--port", "0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start speedup serve");
    let stdout = lines_of(child.stdout.take().expect("stdout"));
    let stderr = lines_of(child.stderr.take().expect("stderr"));
    let mut served = Served {
        child,
        addr: String::new(),
        stderr,
    };
    let listening = wait_for_line(&stdout, &["listening on http://127.0.0.1:"]);
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
    let rest: Vec<String> = stdout.iter().collect();
    assert!(
        rest.is_empty(),
        "more on stdout after {listening:?}: {rest:?}"
    );
    // Without the timestamp.
    let log: Vec<String> = served
        .rest_of_stderr()
        .iter()
        .map(|line| {
            line.split_once(' ')
                .map_or("", |(_, rest)| rest)
                .trim_start()
                .to_owned()
        })
        .collect();
    assert_eq!(
        log,
        [
            "INFO speedup::serve::signals: received SIGTERM: shutting down (send it again to \
             stop at once)",
            "INFO speedup_server::summary: stopped: 0 open connection(s) finished; \
             0 waiting connection(s) answered 503",
        ]
    );
}

#[test]
fn sigint_exits_zero_after_grace_even_with_a_stuck_blocking_sleep() {
    let mut served = serve(&["--grace", "0.3"]);
    let mut stream = served.start_request("/baseline/sleep/30");
    let signalled = Instant::now();
    served.signal("INT");
    let status = served.exit_status(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    assert_eq!(read_all(&mut stream), "", "abandoned request got an answer");
}

#[test]
fn invalid_flags_are_named() {
    for (flag, value) in [
        ("--threads", "0"),
        ("--max-sleep", "inf"),
        ("--header-timeout", "0"),
        // Durations that pass a `Duration` but overflow deadlines: every
        // connection task used to panic on them while the server ran on.
        ("--keep-alive", "1e19"),
        ("--header-timeout", "1e19"),
        ("--grace", "1e19"),
        ("--max-sleep", "1e19"),
        ("--first-byte-timeout", "0"),
        ("--max-header-bytes", "100"),
        ("--max-streams", "0"),
        ("--max-streams", "65536"),
    ] {
        let stderr = refused(&["--host", "127.0.0.1", "--port", "0", flag, value]);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}

#[test]
fn a_second_signal_stops_at_once_and_says_what_it_cut() {
    let mut served = serve(&["--grace", "30"]);
    let mut stream = served.start_request("/async/sleep/30");
    served.signal("TERM");
    wait_for_line(&served.stderr, &["shutting down"]);
    let signalled = Instant::now();
    served.signal("INT");
    let status = served.exit_status(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "exit took {took:?} with a 30 s grace"
    );
    wait_for_line(&served.stderr, &["cutting 1 open connection"]);
    assert_eq!(read_all(&mut stream), "", "the cut request got an answer");
}

#[test]
fn the_soft_open_files_limit_is_raised_for_max_connections() {
    let mut served = serve_with_limits("-Sn 256", &["--max-connections", "1000"]);
    wait_for_line(&served.stderr, &["raised the open-files limit from 256"]);
    // Above the old soft limit: 300 connections open at once, all served.
    let streams: Vec<TcpStream> = (0..300)
        .map(|_| served.start_request("/async/sleep/0.5"))
        .collect();
    for mut stream in streams {
        assert!(read_all(&mut stream).starts_with("HTTP/1.1 200 OK\r\n"));
    }
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
}

#[test]
fn a_hard_limit_too_low_for_max_connections_is_reported_and_respected() {
    // No process can raise its limit beyond fs.nr_open (at most 2^30 on Linux).
    let mut served = serve(&["--max-connections", "2000000000"]);
    let line = wait_for_line(
        &served.stderr,
        &["open-files hard limit", "serving at most"],
    );
    assert!(line.contains("--max-connections 2000000000"), "{line}");
    let response = {
        let mut stream = served.start_request("/async/sleep/0");
        read_all(&mut stream)
    };
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
}

#[test]
fn a_connection_cap_too_large_says_what_the_maximum_is() {
    // One above the largest cap a semaphore holds: it used to be refused
    // with "must be at least 1".
    let stderr = refused(&["--port", "0", "--max-connections", "2305843009213693952"]);
    assert!(stderr.contains("--max-connections"), "{stderr}");
    assert!(stderr.contains("2305843009213693951"), "{stderr}");
    assert!(!stderr.contains("at least 1"), "{stderr}");
}

#[test]
fn no_mistakes_cannot_be_combined_with_gil() {
    let stderr = refused(&["--port", "0", "--no-mistakes", "--gil"]);
    assert!(
        stderr.contains("--no-mistakes") && stderr.contains("--gil"),
        "{stderr}"
    );
}

/// As uvicorn does: reachable from this machine only, unless `--host`
/// says otherwise.
#[test]
fn the_default_address_is_loopback() {
    let mut served = serve_args(&["--port", "0"]);
    assert!(served.addr.starts_with("127.0.0.1:"), "{}", served.addr);
    let answer = served.get("/async/sleep/0");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
}

/// `--no-mistakes` leaves out the endpoints that hold a serving thread
/// (`/stall/*`, `/async/fibo*`): they answer as FastAPI answers a path it
/// does not know, redirects included; the others are unchanged.
#[test]
fn no_mistakes_leaves_out_the_endpoints_that_hold_a_serving_thread() {
    let mut served = serve(&["--no-mistakes"]);
    for target in [
        "/stall/sleep/0",
        "/stall/sleep/0/",
        "/async/fibo/1",
        "/async/fibo/1/",
        "/async/fibo_sleep/1",
    ] {
        let answer = served.get(target);
        assert!(
            answer.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{target}: {answer:?}"
        );
        assert!(
            answer.contains("content-type: application/json\r\n"),
            "{target}: {answer:?}"
        );
        assert!(
            answer.ends_with("\r\n\r\n{\"detail\":\"Not Found\"}"),
            "{target}: {answer:?}"
        );
    }
    for (target, body) in [
        ("/async/sleep/0", "\"hello world after 0.0s of sleep\""),
        ("/baseline/fibo/10", "\"55\""),
        ("/pool/fibo/10", "\"55\""),
        ("/baseline/fibo_sleep/1", "\"hello after 1e-06s of sleep\""),
    ] {
        let answer = served.get(target);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with(body),
            "{target}: {answer:?}"
        );
    }
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
}

/// A second server on a port in use is refused, as every server refuses
/// it, instead of silently taking a share of the first one's connections.
#[test]
fn a_second_server_on_the_same_port_is_refused() {
    let mut first = serve(&["--workers", "2"]);
    let port = first.addr.rsplit(':').next().expect("port").to_owned();
    let stderr = refused(&["--host", "127.0.0.1", "--port", &port]);
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(stderr.contains("--port"), "{stderr}");
    // The first one still answers every connection.
    for _ in 0..10 {
        let answer = first.get("/async/sleep/0");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    }
    first.signal("TERM");
    assert!(first.exit_status(TIMEOUT).success());
}

/// The other way round: a socket of another program sharing the port with
/// `SO_REUSEPORT` is there first; `speedup serve` must not join it.
#[test]
fn a_port_shared_with_so_reuseport_elsewhere_is_refused() {
    let holder = reuseport_listener();
    let port = holder.local_addr().expect("addr").port().to_string();
    let stderr = refused(&["--host", "127.0.0.1", "--port", &port]);
    assert!(stderr.contains("in use"), "{stderr}");
}

/// A loopback listener on a free port with `SO_REUSEPORT` set.
fn reuseport_listener() -> std::net::TcpListener {
    use rustix::net::{bind, listen, socket, sockopt, AddressFamily, SocketType};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
    sockopt::set_socket_reuseport(&fd, true).expect("SO_REUSEPORT");
    let loopback = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0));
    bind(&fd, &loopback).expect("bind");
    listen(&fd, 16).expect("listen");
    std::net::TcpListener::from(fd)
}
