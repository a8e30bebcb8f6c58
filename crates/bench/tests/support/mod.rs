//! Shared by the bench tests: a tiny keep-alive HTTP/1.1 server that
//! answers at once, except during one stall window when every response is
//! held until the window ends; and bench runs from command-line flags.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use speedup_bench::{BenchArgs, BenchResult, SeriesWriters};

/// Timing-sensitive runs take turns: two at once on a 2-core machine would
/// disturb each other's figures.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server on `127.0.0.1:0`, one thread per connection, for the life of
/// the test process. With `stall = Some((after, length))`, requests that
/// arrive between `after` and `after + length` (counted from the first
/// request) are answered only when the window ends.
pub fn stalling_server(stall: Option<(Duration, Duration)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let first = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let first = std::sync::Arc::clone(&first);
            thread::spawn(move || serve(stream, stall, &first));
        }
    });
    base
}

fn serve(
    mut stream: TcpStream,
    stall: Option<(Duration, Duration)>,
    first: &std::sync::OnceLock<Instant>,
) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        // One GET head per request; no bodies.
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        buf.drain(..end);
        let start = *first.get_or_init(Instant::now);
        if let Some((after, length)) = stall {
            let now = Instant::now();
            let (from, until) = (start + after, start + after + length);
            if now >= from && now < until {
                thread::sleep(until - now);
            }
        }
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .is_err()
        {
            return;
        }
    }
}

/// The flags `speedup bench ARGS` would get.
pub fn args(args: &[&str]) -> BenchArgs {
    BenchArgs::from_flags(args).expect("valid flags")
}

/// Runs bench with these flags, writing the series to the given writers.
pub fn bench(flags: &[&str], writers: SeriesWriters) -> BenchResult {
    let plan = args(flags).plan().expect("valid plan");
    let control = speedup_load::Control::new();
    speedup_bench::run(&plan, writers, &speedup_bench::Quiet, &control).expect("run")
}

/// A fresh scratch directory for one test.
pub fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A file writer for a series.
pub fn file(path: &std::path::Path) -> Option<Box<dyn Write + Send>> {
    Some(Box::new(std::io::BufWriter::new(
        std::fs::File::create(path).expect("create"),
    )))
}
