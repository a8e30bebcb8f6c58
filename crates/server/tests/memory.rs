//! Memory a hostile client can make the server hold: the resident set the
//! whole test process gains (read from `/proc/self/status`), per
//! connection, while 1,000 connections send 390 KB request heads (the
//! issue's attack: 1.23 GB for 3,000 before the bound), and while 1,000
//! requests with heads just under the bound sleep. Alone in its test binary so no other test's memory is
//! counted.
#![cfg(target_os = "linux")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{padded_request, wait_until, TestServer, IO_TIMEOUT};
use speedup_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Connections per attack (fewer only if the hard open-files limit is too
/// low for both ends of 1,000 in one process).
const CONNECTIONS: usize = 1000;
const MB: f64 = 1024.0 * 1024.0;
const KB: f64 = 1024.0;

/// The process's resident set in bytes.
fn rss() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024.0
}

/// Room for both ends of every connection in this process; returns how
/// many connections fit.
fn raise_open_files() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let wanted = (2 * CONNECTIONS as u64 + 256).min(hard);
    if limit.current.is_some_and(|soft| soft < wanted) {
        limit.current = Some(wanted);
        setrlimit(Resource::Nofile, limit).expect("raise the soft limit");
    }
    let fit = usize::try_from((wanted - 256) / 2).unwrap_or(CONNECTIONS);
    assert!(fit >= 200, "open-files hard limit {hard} too low");
    fit.min(CONNECTIONS)
}

/// When [`rss_added_by`] measures: once the server has every request in
/// progress (its own count of busy connections), or has answered every
/// one (the clients read the first bytes of the answer).
#[derive(Clone, Copy)]
enum Settled {
    InProgress,
    Answered,
}

/// Opens `count` connections that each send `request`, waits until the
/// server has them all as `settled` says, and returns the RSS added since
/// before the first connect. The connections stay open (and the rest of
/// their responses unread) until the returned set is dropped.
async fn rss_added_by(
    server: &TestServer,
    count: usize,
    request: Vec<u8>,
    settled: Settled,
) -> (f64, JoinSet<()>) {
    let (addr, request) = (server.addr, Arc::new(request));
    let before = rss();
    let (answered, mut all_answered) = mpsc::channel(count);
    let mut clients = JoinSet::new();
    for _ in 0..count {
        let (request, answered) = (Arc::clone(&request), answered.clone());
        clients.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let _ = stream.write_all(&request).await;
            // Hold the connection (bounded): read until closed.
            let mut sink = [0u8; 1024];
            let mut first = true;
            let _ = tokio::time::timeout(IO_TIMEOUT, async {
                while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {
                    if std::mem::take(&mut first) {
                        let _ = answered.try_send(());
                    }
                }
            })
            .await;
        });
    }
    match settled {
        Settled::InProgress => {
            let stats = server.stats().clone();
            wait_until("every request in progress", || {
                stats.busy_connections() == count
            })
            .await;
        }
        Settled::Answered => {
            for _ in 0..count {
                tokio::time::timeout(IO_TIMEOUT, all_answered.recv())
                    .await
                    .expect("every request answered in time");
            }
        }
    }
    (rss() - before, clients)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_heads_and_sleeping_requests_hold_little_memory() {
    let count = raise_open_files();
    let config = Config {
        grace: Duration::from_millis(200),
        ..Config::default()
    };
    let limit = config.max_header_bytes;
    let server = TestServer::start(config).await;
    // Warm up allocator arenas and the runtime on a few requests first.
    for _ in 0..4 {
        assert_eq!(common::get(server.addr, "/async/sleep/0").await.status, 200);
    }

    // Heads just under the bound, kept waiting by a long async sleep.
    let sleeper = padded_request("/async/sleep/30", server.addr, "", limit - 512);
    let (added, clients) = rss_added_by(&server, count, sleeper, Settled::InProgress).await;
    let per_connection = added / count as f64;
    eprintln!(
        "{count} sleeping requests with {} KB heads: +{:.1} MB ({:.1} KB per connection)",
        (limit - 512) / 1024,
        added / MB,
        per_connection / KB
    );
    assert!(
        per_connection < 150.0 * KB,
        "sleeping requests held {:.0} KB each",
        per_connection / KB
    );
    drop(clients);

    let attack = padded_request("/async/sleep/30", server.addr, "", 390 * 1024);
    let (added, clients) = rss_added_by(&server, count, attack, Settled::Answered).await;
    drop(clients);
    let per_connection = added / count as f64;
    eprintln!(
        "{count} x 390 KB heads: +{:.1} MB ({:.1} KB per connection)",
        added / MB,
        per_connection / KB
    );
    // Unbounded, hyper keeps ~400 KB per connection (265 KB measured here,
    // 259 MB for 1,000, before the bound). The target is 150 MB
    // for 3,000: 50 KB each.
    assert!(
        per_connection < 100.0 * KB,
        "oversized heads held {:.0} KB each",
        per_connection / KB
    );

    server.stop().await.expect("clean stop");
}
