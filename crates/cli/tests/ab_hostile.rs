//! `speedup ab` against servers that break the exchange rather than the
//! connection: a response that never ends (at full speed, or as endless
//! trailers) and bytes after a keep-alive response that no request asked
//! for. Each test bounds its own wait on the child process.

mod ab_support;

use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ab_support::{
    ab_within, field, finish_within, misbehaving, never_ending, read_request, server, sigint,
    spawn_ab, text,
};

/// Reads one request and answers with a response that never ends,
/// counting the request and then every MiB sent.
fn endless(mut c: TcpStream, count: &AtomicUsize) {
    if read_request(&mut c) {
        count.fetch_add(1, Ordering::SeqCst);
        never_ending(&mut c, count);
    }
}

#[test]
fn a_response_that_never_ends_is_cut_at_the_timeout() {
    let base = misbehaving();
    let begun = Instant::now();
    let out = ab_within(
        &["-n", "1", "-s", "2", &format!("{base}/flood")],
        Duration::from_secs(30),
    );
    let took = begun.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("took longer than the 2 s timeout"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn endless_trailers_are_an_exception_not_a_hang() {
    let base = misbehaving();
    let begun = Instant::now();
    let out = ab_within(
        &["-r", "-n", "2", "-s", "2", &format!("{base}/trailers")],
        Duration::from_secs(30),
    );
    let took = begun.elapsed();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(field(&stdout, "Complete requests:"), Some("2"), "{stdout}");
    assert!(
        stdout.contains("(Connect: 0, Receive: 0, Length: 0, Exceptions: 2)"),
        "{stdout}"
    );
    // The 64 KiB trailer cap ends them, well before the timeout.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn ctrl_c_ends_a_run_whose_response_never_ends() {
    let (base, count) = server(endless);
    let child = spawn_ab(&["-n", "1", "-s", "60", &format!("{base}/")]);
    let begun = Instant::now();
    // The request and 32 MiB of response: more than any socket buffer
    // holds, so the client is deep in reading it.
    while count.load(Ordering::SeqCst) < 1 + 32 {
        assert!(
            begun.elapsed() < Duration::from_secs(30),
            "the flood did not get going"
        );
        thread::sleep(Duration::from_millis(10));
    }
    sigint(&child);
    let signalled = Instant::now();
    let out = finish_within(child, Duration::from_secs(30));
    let took = signalled.elapsed();
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn bytes_after_a_kept_response_are_exceptions_however_they_are_split() {
    let base = misbehaving();
    for path in ["/junk", "/junk-later"] {
        let url = format!("{base}{path}");
        let out = ab_within(
            &["-k", "-r", "-n", "10", "-c", "1", &url],
            Duration::from_secs(30),
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{path}: {stdout}\n{stderr}");
        // Every other request: the kept response is fine, the request due
        // next on its connection is the exception.
        assert_eq!(
            field(&stdout, "Complete requests:"),
            Some("10"),
            "{path}: {stdout}"
        );
        assert_eq!(
            field(&stdout, "Failed requests:"),
            Some("5"),
            "{path}: {stdout}"
        );
        assert!(
            stdout.contains("(Connect: 0, Receive: 0, Length: 0, Exceptions: 5)"),
            "{path}: {stdout}"
        );
        assert_eq!(
            field(&stdout, "Keep-Alive requests:"),
            Some("5"),
            "{path}: {stdout}"
        );
        // Without -r the first one stops the run, as a receive error does.
        let out = ab_within(
            &["-k", "-n", "10", "-c", "1", &url],
            Duration::from_secs(30),
        );
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{path}: {stdout}\n{stderr}");
        assert!(
            stderr.contains("bytes that are not a valid response"),
            "{path}: {stderr}"
        );
    }
}
