//! Shared helpers of the `speedup bench`/`merge` failure tests: the binary
//! run as a terminal would start it (default SIGINT/SIGTERM actions) under an
//! address-space limit, waits bounded in time, real signals, a scratch
//! folder, and a tiny server that counts the requests it receives.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Address space a bench or merge child may map: a regression that reads
/// or allocates without bound fails instead of taking the machine.
pub const ADDRESS_SPACE: u64 = 1 << 30;

/// A `speedup` child whose output is read as it comes: its stderr can be
/// watched while it runs.
pub struct Running {
    child: Child,
    stdout: thread::JoinHandle<Vec<u8>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_done: thread::JoinHandle<()>,
}

/// Starts `speedup ARGS` with SIGINT and SIGTERM at their default action,
/// as a terminal would (cargo's harness may have them ignored), and at most
/// `address_space` bytes of address space (as `prlimit --as` would).
pub fn spawn(args: &[&str], address_space: u64) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_speedup"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork
    // and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            let limit = libc::rlimit {
                rlim_cur: address_space,
                rlim_max: address_space,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start speedup");
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let stdout = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&stderr);
    let stderr_done = thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = err.read(&mut chunk) {
            sink.lock().expect("stderr").extend_from_slice(&chunk[..n]);
        }
    });
    Running {
        child,
        stdout,
        stderr,
        stderr_done,
    }
}

impl Running {
    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr")).into_owned()
    }

    /// Sends `signal` to the child.
    pub fn kill(&self, signal: libc::c_int) {
        // SAFETY: sends a signal to our own child process.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill -{signal}");
    }

    /// Waits for the child at most `limit`; kills it and fails the test if
    /// it is still running then.
    pub fn finish_within(mut self, limit: Duration) -> Output {
        let begun = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if begun.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "speedup still running after {limit:?}; stderr: {}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        let _ = self.stderr_done.join();
        let stderr = std::mem::take(&mut *self.stderr.lock().expect("stderr"));
        Output {
            status,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr,
        }
    }
}

/// Runs `speedup ARGS` to the end within `limit` (see [`spawn`]).
pub fn run_within(args: &[&str], limit: Duration) -> Output {
    spawn(args, ADDRESS_SPACE).finish_within(limit)
}

/// Polls `ready` every 10 ms until it holds; fails the test after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let begun = Instant::now();
    while !ready() {
        assert!(begun.elapsed() < limit, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Both streams of a finished process, as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh scratch folder for one test.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-bench-fail-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A keep-alive server on `127.0.0.1:0`, one thread per connection, that
/// answers each request `delay` after its head arrived (never, with
/// `None`). Returns its base URL and the number of request heads received.
pub fn counting_server(delay: Option<Duration>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&heads);
    thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            let counter = Arc::clone(&counter);
            thread::spawn(move || answer(conn, delay, &counter));
        }
    });
    (base, heads)
}

fn answer(mut c: TcpStream, delay: Option<Duration>, heads: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        buf.drain(..end);
        heads.fetch_add(1, Ordering::SeqCst);
        let Some(delay) = delay else {
            // Hold the connection, silent, until the client leaves.
            while matches!(c.read(&mut chunk), Ok(n) if n > 0) {}
            return;
        };
        thread::sleep(delay);
        if c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}
