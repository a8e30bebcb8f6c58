//! `speedup serve` as a process: prints its address, shuts down gracefully on
//! SIGTERM/SIGINT with exit status 0, and rejects bad flags by name.
//!
//! A request is known to be in flight when the server's debug log says it
//! started (`RUST_LOG=speedup_server=debug`), so no test sleeps to wait.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound on any single wait.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A running `speedup serve`, killed on drop if a test fails midway.
struct Served {
    child: Child,
    addr: String,
    stderr: Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Forwards each line of `source` to a channel, from a thread.
fn lines_of(source: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits (bounded) for a line containing every one of `needles`.
fn wait_for_line(lines: &Receiver<String>, needles: &[&str]) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if needles.iter().all(|needle| line.contains(needle)) => return line,
            Ok(_) => continue,
            Err(error) => panic!("no line with {needles:?}: {error}"),
        }
    }
}

fn serve(extra: &[&str]) -> Served {
    serve_with_limits("", extra)
}

/// Starts `speedup serve` after `ulimit {ulimit}` (empty: none) in a shell.
fn serve_with_limits(ulimit: &str, extra: &[&str]) -> Served {
    let mut command = if ulimit.is_empty() {
        Command::new(env!("CARGO_BIN_EXE_speedup"))
    } else {
        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            &format!("ulimit {ulimit} && exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_speedup"),
        ]);
        shell
    };
    let mut child = command
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .args(extra)
        .env("RUST_LOG", "info,speedup_server=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start speedup serve");
    let stdout = lines_of(child.stdout.take().expect("piped stdout"));
    let stderr = lines_of(child.stderr.take().expect("piped stderr"));
    let mut served = Served {
        child,
        addr: String::new(),
        stderr,
    };
    let line = wait_for_line(&stdout, &["listening on http://"]);
    served.addr = line
        .trim()
        .trim_start_matches("listening on http://")
        .to_owned();
    served
}

impl Served {
    /// Sends `target` and waits until the server has started handling it.
    fn start_request(&self, target: &str) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("read timeout");
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).expect("send request");
        wait_for_line(&self.stderr, &[target, "started"]);
        stream
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (bounded) for the process to exit.
    fn exit_status(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read_all(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    String::from_utf8_lossy(&received).into_owned()
}

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
    ] {
        // Bounded: a server that accepts the value runs until killed.
        let mut child = Command::new(env!("CARGO_BIN_EXE_speedup"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", flag, value])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run speedup serve");
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        let mut served = Served {
            child,
            addr: String::new(),
            stderr,
        };
        let status = served.exit_status(Duration::from_secs(10));
        assert!(!status.success(), "{flag} {value} accepted");
        // The process has exited, so its stderr ends: this does not block.
        let stderr: Vec<String> = served.stderr.iter().collect();
        assert!(
            stderr.iter().any(|line| line.contains(flag)),
            "{flag} {value}: {stderr:?}"
        );
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
