//! `speedup serve --unix-socket PATH` from the outside: `speedup bench
//! --unix-socket` and a plain `UnixStream` are answered; the socket goes
//! at shutdown; flags that make no sense with it are refused naming both;
//! a file that is not a socket is never replaced, a live socket is refused
//! and a stale one replaced.
#![cfg(unix)]

mod bench_support;
mod serve_support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use bench_support::{run_within, scratch, text};
use serve_support::{refused, serve_args, Served, TIMEOUT};

/// `speedup serve --unix-socket PATH`, started.
fn serve_on(path: &Path) -> Served {
    let served = serve_args(&["--unix-socket", path.to_str().expect("utf-8 path")]);
    assert_eq!(served.addr, format!("unix:{}", path.display()));
    served
}

/// One HTTP/1.1 request on a new connection to `path`, read to the end.
fn get(path: &Path, target: &str) -> String {
    let mut stream = UnixStream::connect(path).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

#[test]
fn bench_and_a_plain_unix_stream_are_answered_and_the_socket_goes_at_shutdown() {
    let path = scratch("serve-unix").join("speedup.sock");
    let mut served = serve_on(&path);
    let answer = get(&path, "/async/sleep/0");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n\"hello world after 0.0s of sleep\""),
        "{answer}"
    );
    let socket = path.to_str().expect("utf-8 path");
    for http2 in [false, true] {
        let mut args = vec!["bench", "--unix-socket", socket, "-n", "50", "-c", "2"];
        if http2 {
            args.extend(["--http2", "--streams", "4"]);
        }
        args.extend(["--json", "-", "http://localhost/async/sleep/0"]);
        let out = run_within(&args, Duration::from_secs(60));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        let run: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
        assert_eq!(run["status"]["200"], 50, "{run}");
        assert_eq!(run["errors"], serde_json::json!({}), "{run}");
    }
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
    assert!(!path.exists(), "the socket was left behind");
}

#[test]
fn host_and_port_are_refused_with_a_unix_socket_naming_both() {
    let path = scratch("serve-unix-flags").join("s.sock");
    let socket = path.to_str().expect("utf-8 path");
    for (flag, value) in [("--port", "8000"), ("--host", "0.0.0.0")] {
        let stderr = refused(&["--unix-socket", socket, flag, value]);
        assert!(
            stderr.contains("--unix-socket") && stderr.contains(flag),
            "{flag}: {stderr}"
        );
    }
    assert!(!path.exists());
}

#[test]
fn a_file_that_is_not_a_socket_is_refused_and_kept() {
    let path = scratch("serve-unix-file").join("notes.txt");
    std::fs::write(&path, "keep me").expect("write");
    let stderr = refused(&["--unix-socket", path.to_str().expect("utf-8 path")]);
    assert!(
        stderr.contains("is not a socket") && stderr.contains("--unix-socket"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("kept"), "keep me");
}

#[test]
fn a_live_socket_is_refused_and_a_stale_one_replaced() {
    let dir = scratch("serve-unix-live");
    let path = dir.join("s.sock");
    let socket = path.to_str().expect("utf-8 path");
    // Something listens there: refused, and it keeps its socket.
    let live = UnixListener::bind(&path).expect("bind");
    let stderr = refused(&["--unix-socket", socket]);
    assert!(
        stderr.contains("a server listens on it") && stderr.contains("--unix-socket"),
        "{stderr}"
    );
    assert!(path.exists());
    // Closed without removing its path (as a killed server leaves it):
    // replaced.
    drop(live);
    let mut served = serve_on(&path);
    assert!(get(&path, "/async/sleep/0").starts_with("HTTP/1.1 200 OK\r\n"));
    served.signal("TERM");
    assert!(served.exit_status(TIMEOUT).success());
    assert!(!path.exists());
}
