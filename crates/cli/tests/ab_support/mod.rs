//! Shared helpers of the `speedup ab` tests: running the binary (bounded in
//! time, or in memory too), Ctrl-C, starting `speedup serve` on a free
//! port, a tiny misbehaving server, a counting server for any handler, a
//! scratch folder, and a port nothing listens on (which the lab's tests
//! use too).

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `speedup ab ARGS` to the end, bounded by the test's own flags.
pub fn speedup_ab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .arg("ab")
        .args(args)
        .output()
        .expect("run speedup ab")
}

/// Starts `speedup ab ARGS` with piped output.
pub fn spawn_ab(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .arg("ab")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start speedup ab")
}

/// Waits for `child` at most `limit`; kills it and fails the test if it
/// is still running then.
pub fn finish_within(mut child: Child, limit: Duration) -> Output {
    let begun = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if begun.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("still running after {limit:?}: {:?}", text(&out));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `speedup ab ARGS`, failing the test if it runs longer than `limit`.
pub fn ab_within(args: &[&str], limit: Duration) -> Output {
    finish_within(spawn_ab(args), limit)
}

/// Runs `speedup ab ARGS` with its address space limited to `bytes` (as
/// `prlimit --as` would), so that a regression that reads without bound
/// fails the test instead of taking the machine.
pub fn ab_within_memory(args: &[&str], bytes: u64, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_speedup"));
    command
        .arg("ab")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let limit_as = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit is async-signal-safe and only reads `limit_as`,
    // which the closure owns.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit_as) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    finish_within(command.spawn().expect("start speedup ab"), limit)
}

/// A server running `handle` on each connection; counts requests it reads
/// through the returned counter (the handler bumps it).
pub fn server(handle: fn(TcpStream, &AtomicUsize)) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            let counter = Arc::clone(&counter);
            thread::spawn(move || handle(conn, &counter));
        }
    });
    (base, count)
}

/// Sends SIGINT to `child`, as Ctrl-C in a terminal would.
pub fn sigint(child: &Child) {
    // SAFETY: sends a signal to our own child process.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill -INT");
}

/// Both streams of a finished process, as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `speedup serve` child on a free loopback port, killed on drop.
pub struct Serve {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Serve {
    /// Starts the server and waits (bounded) for its `listening on` line.
    pub fn start() -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_speedup"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start speedup serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("speedup serve printed no `listening on` line within 30 s");
        Serve { child, base }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This test process's scratch folder for output and input files, created
/// if missing.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-ab-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A loopback port with nothing listening on it.
pub fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A server that misbehaves by path, one thread per connection, for the
/// life of the test process. Returns its base URL. Paths:
/// `/ok` 200 "hello"; `/short` promises 10 bytes and sends 5; `/reset`
/// sends part of the body then resets; `/404`; `/var` alternates 5- and
/// 6-byte bodies; `/hang` never answers; `/echo` answers with the request
/// head it received as the body; `/trailers` a chunked body whose trailer
/// lines never end; `/flood` a chunked body of 1-byte chunks that never
/// ends; `/junk` and `/junk-later` answer every request on the connection
/// with a keep-alive 200 "hello" followed by 5 bytes of junk, in the same
/// write or 5 ms later; `/garbage` answers bytes that are not HTTP;
/// `/close` closes without a byte.
pub fn misbehaving() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        let mut n = 0u64;
        for conn in listener.incoming().map_while(Result::ok) {
            n += 1;
            let odd = n % 2 == 1;
            thread::spawn(move || serve_one(conn, odd));
        }
    });
    base
}

/// Reads one request head, a byte at a time so nothing after it is
/// consumed; false on EOF or error.
pub fn read_request(c: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match c.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    true
}

fn serve_one(mut c: TcpStream, odd: bool) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let target = text.split(' ').nth(1).unwrap_or("");
    let path = target.split('?').next().unwrap_or("").to_owned();
    let reply = |c: &mut TcpStream, status: &str, body: &[u8]| {
        let h = format!(
            "HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = c.write_all(h.as_bytes());
        let _ = c.write_all(body);
    };
    match path.as_str() {
        "/short" => {
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhello");
        }
        "/reset" => {
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhel");
            reset_on_close(&c);
            return;
        }
        "/404" => reply(&mut c, "404 Not Found", b"nope!"),
        "/var" => reply(&mut c, "200 OK", if odd { b"hello" } else { b"hello!" }),
        "/hang" => {
            thread::sleep(Duration::from_secs(20));
        }
        "/echo" => reply(&mut c, "200 OK", &head),
        "/garbage" => {
            let _ = c.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01garbage");
        }
        "/close" => {}
        "/trailers" => flood(
            &mut c,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
            b"X-Trailer: 0123456789\r\n",
            &AtomicUsize::new(0),
        ),
        "/flood" => never_ending(&mut c, &AtomicUsize::new(0)),
        "/junk" | "/junk-later" => {
            let later = path == "/junk-later";
            while answer_then_junk(&mut c, later) && read_request(&mut c) {}
        }
        _ => reply(&mut c, "200 OK", b"hello"),
    }
    let _ = c.shutdown(Shutdown::Write);
}

/// Writes `head`, then `unit` over and over in 1 MiB blocks, counting
/// them in `blocks`, until the client goes away: a server that never
/// stops sending.
fn flood(c: &mut TcpStream, head: &[u8], unit: &[u8], blocks: &AtomicUsize) {
    if c.write_all(head).is_err() {
        return;
    }
    let mut block = Vec::with_capacity((1 << 20) + unit.len());
    while block.len() < 1 << 20 {
        block.extend_from_slice(unit);
    }
    while c.write_all(&block).is_ok() {
        blocks.fetch_add(1, Ordering::SeqCst);
    }
}

/// A valid chunked response that never ends, in 1-byte chunks: the
/// slowest framing to follow, so the client's socket is always readable.
pub fn never_ending(c: &mut TcpStream, blocks: &AtomicUsize) {
    flood(
        c,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"1\r\nx\r\n",
        blocks,
    );
}

/// A keep-alive 200 "hello" then 5 bytes no request asked for, in the same
/// write or (`later`) 5 ms after; false once the client is gone.
fn answer_then_junk(c: &mut TcpStream, later: bool) -> bool {
    const KEPT: &[u8] =
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello";
    const JUNK: &[u8] = b"junk!";
    if later {
        let sent = c.write_all(KEPT).is_ok();
        thread::sleep(Duration::from_millis(5));
        sent && c.write_all(JUNK).is_ok()
    } else {
        c.write_all(&[KEPT, JUNK].concat()).is_ok()
    }
}

/// Sets SO_LINGER to 0 so that closing the socket sends a reset.
fn reset_on_close(c: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a plain setsockopt on a socket we own, with a correctly
    // sized option value.
    unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The value after `label` on the report line that starts with it.
pub fn field<'a>(report: &'a str, label: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}
