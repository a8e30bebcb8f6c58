//! The series' CPU facts, as models rather than speeds: a computation
//! inline in an async handler holds a runtime worker, so a timer request
//! sent during a burst waits; the CPU pool keeps the workers free; `--gil`
//! makes the blocking pool's threads take turns.
//!
//! The server runs on serving threads of its own, so the clients here are
//! not stalled by them. The probe test uses one: a connection stays on the
//! thread that accepted it, and with two a probe may land on the thread a
//! burst left free (a thread drains the accept queue when it wakes), which
//! the lab's own test shows. `n` is
//! calibrated so one computation takes at least 80 ms in this build.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{fibo_taking, get, TestServer, IO_TIMEOUT};
use speedup_server::{Config, Server};

/// The server on `workers` serving threads of its own.
async fn start(config: Config, workers: usize) -> TestServer {
    TestServer::serve(Server::builder(config).workers(workers)).await
}

/// What one burst did: when the probe and each burst request finished,
/// counted from the burst's start.
#[derive(Debug)]
struct Burst {
    probe: Duration,
    probe_latency: Duration,
    burst: Vec<Duration>,
}

/// Sends `count` requests to `path` at once, and `/async/sleep/0.1` once
/// the first computations are under way.
async fn burst_with_probe(
    addr: SocketAddr,
    path: &str,
    count: usize,
    probe_after: Duration,
) -> Burst {
    let start = Instant::now();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..count {
        let path = path.to_owned();
        burst.spawn(async move {
            let response = get(addr, &path).await;
            assert_eq!(response.status, 200, "{path}");
            start.elapsed()
        });
    }
    tokio::time::sleep(probe_after).await;
    let sent = Instant::now();
    let probe = tokio::time::timeout(IO_TIMEOUT, get(addr, "/async/sleep/0.1"))
        .await
        .expect("probe answered in time");
    assert_eq!(probe.status, 200);
    let probe_latency = sent.elapsed();
    let probe = start.elapsed();
    let mut times = Vec::new();
    while let Some(done) = burst.join_next().await {
        times.push(done.expect("burst client"));
    }
    times.sort();
    Burst {
        probe,
        probe_latency,
        burst: times,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_fibo_stalls_the_loop_and_the_pool_does_not() {
    let compute = Duration::from_millis(80);
    let n = fibo_taking(compute);
    let config = Config {
        cpu_threads: 2,
        ..Config::default()
    };

    let server = start(config.clone(), 1).await;
    let inline = burst_with_probe(server.addr, &format!("/async/fibo/{n}"), 8, compute / 2).await;
    server.stop().await.expect("clean stop");
    // The serving thread was computing when the probe arrived, and seven
    // more computations were queued before it: it waits at least for one.
    assert!(
        inline.probe_latency >= Duration::from_millis(100) + compute / 2,
        "probe during /async/fibo should wait: {inline:?}"
    );

    let server = start(config, 1).await;
    let pooled = burst_with_probe(server.addr, &format!("/pool/fibo/{n}"), 8, compute / 2).await;
    server.stop().await.expect("clean stop");
    // The serving thread stays free: the probe is answered while the burst
    // is still computing (8 computations on 2 pool threads take 4 rounds).
    eprintln!("n={n}\ninline: {inline:?}\npooled: {pooled:?}");
    let last = pooled.burst.last().copied().unwrap_or_default();
    assert!(
        pooled.probe < last,
        "probe during /pool/fibo should finish before the burst: {pooled:?}"
    );
    assert!(
        pooled.probe_latency < inline.probe_latency,
        "pool {pooled:?} vs inline {inline:?}"
    );
}

/// `speedup_gil_waits_total` after four concurrent `/baseline/fibo`.
async fn gil_waits(gil: bool, n: u32) -> f64 {
    let server = start(
        Config {
            gil,
            ..Config::default()
        },
        2,
    )
    .await;
    let addr = server.addr;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        clients.spawn(async move { get(addr, &format!("/baseline/fibo/{n}")).await.status });
    }
    while let Some(status) = clients.join_next().await {
        assert_eq!(status.expect("client"), 200);
    }
    let text = get(addr, "/metrics").await.body_text();
    server.stop().await.expect("clean stop");
    text.lines()
        .find_map(|line| line.strip_prefix("speedup_gil_waits_total "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no speedup_gil_waits_total in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gil_makes_the_baseline_take_turns() {
    let n = fibo_taking(Duration::from_millis(80));
    // Four threads of the pool start at once; with the lock, three wait.
    assert!(gil_waits(true, n).await >= 1.0);
    assert_eq!(gil_waits(false, n).await, 0.0);
}
