//! Out of file descriptors: the accept loop keeps failing ("too many open
//! files") but warns at most once per period, with a count of the rest, and
//! serves again as soon as descriptors free up. Alone in its test binary:
//! it fills this process's descriptor table on purpose.
#![cfg(target_os = "linux")]

mod common;

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{read_response, request_bytes, send, wait_until, TestServer, IO_TIMEOUT};
use speedup_server::Config;
use tokio::net::TcpStream;

/// Log lines, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Opens files until the descriptor table is full (bounded by a lowered
/// soft limit), then closes one so the caller can use exactly that slot.
fn fill_descriptor_table() -> Vec<File> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = Some(limit.current.map_or(256, |soft| soft.min(256)));
    setrlimit(Resource::Nofile, limit).expect("lower the soft limit");
    let mut files = Vec::new();
    while let Ok(file) = File::open("/dev/null") {
        files.push(file);
        assert!(files.len() <= 256, "the soft limit did not apply");
    }
    files.pop();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_errors_are_warned_about_at_most_every_few_seconds() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();
    let server = TestServer::start(Config::default()).await;

    let filler = fill_descriptor_table();
    // The last free descriptor goes to this client: the server cannot
    // accept it, and retries every 50 ms.
    let mut stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(server.addr))
        .await
        .expect("connect in time")
        .expect("connect");
    send(
        &mut stream,
        &request_bytes("GET", "/async/sleep/0", server.addr),
    )
    .await;
    // Ten failures at least (one per 50 ms back-off, on each thread).
    let stats = server.stats().clone();
    wait_until("accepts fail", || stats.accept_failures() >= 10).await;
    drop(filler);

    // Descriptors are back: the waiting client is served.
    let response = read_response(&mut stream, false).await.expect("served");
    assert_eq!(response.status, 200);
    let text = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    let warnings = text.matches("accept failed").count();
    // Ten failures or more, well within 5 s: one warning.
    assert_eq!(warnings, 1, "accept warnings not rate-limited:\n{text}");
    assert!(text.contains("Too many open files"), "{text}");
    server.stop().await.expect("clean stop");
}
