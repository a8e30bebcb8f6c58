//! Shared helpers of the `speedup serve` tests: the real binary as a child
//! process (with the signal dispositions a terminal gives it), its log lines,
//! raw HTTP/1.1 requests, and signals.
//!
//! A request is known to be in flight when the server's debug log says it
//! started (`RUST_LOG=speedup_server=debug`), so no test sleeps to wait.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound on any single wait.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The signals the tests send, back to their default action in the child.
const SIGNALS: [libc::c_int; 5] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// `speedup ARGS`, started [as from a terminal](from_a_terminal).
pub fn speedup(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_speedup"));
    command.args(args);
    from_a_terminal(&mut command);
    command
}

/// Closes stdin and puts the signals the tests send back to their default
/// disposition, unblocked, as a terminal starts a program (a test runner in
/// the background may have SIGINT ignored, which a child inherits).
pub fn from_a_terminal(command: &mut Command) {
    command.stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (signal, sigemptyset,
    // sigaddset, sigprocmask) between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in SIGNALS {
                libc::signal(signal, libc::SIG_DFL);
                libc::sigaddset(&mut set, signal);
            }
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}

/// A running `speedup serve`, killed on drop if a test fails midway.
pub struct Served {
    pub child: Child,
    /// `HOST:PORT` (or `unix:PATH`) as printed on its `listening on` line.
    pub addr: String,
    pub stderr: Receiver<String>,
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
pub fn lines_of(source: impl Read + Send + 'static) -> Receiver<String> {
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
pub fn wait_for_line(lines: &Receiver<String>, needles: &[&str]) -> String {
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

/// `speedup serve --host 127.0.0.1 --port 0 EXTRA...`, started.
pub fn serve(extra: &[&str]) -> Served {
    let mut args = vec!["--host", "127.0.0.1", "--port", "0"];
    args.extend_from_slice(extra);
    serve_args(&args)
}

/// `speedup serve ARGS...` (no address flags added), started: waits
/// (bounded) for its `listening on` line.
pub fn serve_args(args: &[&str]) -> Served {
    let mut command = speedup(&["serve"]);
    command.args(args);
    spawn_served(command)
}

/// Starts `speedup serve` after `ulimit {ulimit}` in a shell (which then
/// replaces itself with `speedup`, keeping the child's signal dispositions).
pub fn serve_with_limits(ulimit: &str, extra: &[&str]) -> Served {
    let mut command = Command::new("sh");
    let script = format!("ulimit {ulimit} && exec \"$0\" \"$@\"");
    command
        .args(["-c", &script, env!("CARGO_BIN_EXE_speedup")])
        .args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .args(extra);
    from_a_terminal(&mut command);
    spawn_served(command)
}

fn spawn_served(mut command: Command) -> Served {
    let mut child = command
        .env("RUST_LOG", "info,speedup_server=debug")
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
    // `listening on http://HOST:PORT`, or `listening on unix:PATH`.
    let line = wait_for_line(&stdout, &["listening on "]);
    served.addr = line
        .trim()
        .trim_start_matches("listening on ")
        .trim_start_matches("http://")
        .to_owned();
    served
}

impl Served {
    /// Sends `target` on a new connection, without waiting for anything.
    pub fn send_request(&self, target: &str) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("read timeout");
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes()).expect("send request");
        stream
    }

    /// Sends `target` and waits until the server has started handling it.
    pub fn start_request(&self, target: &str) -> TcpStream {
        let stream = self.send_request(target);
        wait_for_line(&self.stderr, &[target, "started"]);
        stream
    }

    /// The whole answer to a GET of `target` (status line to body).
    pub fn get(&self, target: &str) -> String {
        read_all(&mut self.send_request(target))
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (bounded) for the process to exit.
    pub fn exit_status(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {limit:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stderr line still to come; only once the process has exited
    /// (its stderr then ends, so this does not block).
    pub fn rest_of_stderr(&self) -> Vec<String> {
        self.stderr.iter().collect()
    }
}

/// Everything the server sends until it closes (or the read times out).
pub fn read_all(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    String::from_utf8_lossy(&received).into_owned()
}

/// Runs `speedup serve ARGS...`, which must refuse to start: waits (bounded:
/// a server that accepts the arguments runs until killed) for it to exit
/// unsuccessfully, and returns its stderr.
pub fn refused(args: &[&str]) -> String {
    let mut child = speedup(&["serve"])
        .args(args)
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
    assert!(!status.success(), "{args:?} accepted");
    served.rest_of_stderr().join("\n")
}
