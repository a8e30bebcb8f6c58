//! The two concurrency models, observed from outside: 80 concurrent sleeps of
//! 0.2 s on 40 threads take two rounds; 80 async sleeps take one.
//!
//! The baseline assertions are hard invariants (40 threads cannot finish
//! more than 40 sleeps of 0.2 s before 0.4 s); the async one is relative
//! (its burst ends before the baseline's on the same machine, in the same
//! test), since an absolute upper bound fails on a noisy CI machine.

mod common;

use std::time::{Duration, Instant};

use common::{get, TestServer, IO_TIMEOUT};
use speedup_server::Config;
use tokio::task::JoinSet;

const CLIENTS: usize = 80;
const SLEEP: &str = "0.2";
/// Just under two sleeps: the end of round two.
const TWO_ROUNDS: Duration = Duration::from_millis(380);

/// Fires `CLIENTS` concurrent requests; returns each one's completion time
/// since the start, sorted, and the total.
async fn burst(server: &TestServer, route: &str) -> (Vec<Duration>, Duration) {
    let target = format!("{route}/{SLEEP}");
    let started = Instant::now();
    let mut requests = JoinSet::new();
    for _ in 0..CLIENTS {
        let (addr, target) = (server.addr, target.clone());
        requests.spawn(async move {
            let response = get(addr, &target).await;
            assert_eq!(response.status, 200, "{target}: {}", response.body_text());
            started.elapsed()
        });
    }
    let mut done = Vec::with_capacity(CLIENTS);
    while let Some(finished) = tokio::time::timeout(IO_TIMEOUT, requests.join_next())
        .await
        .expect("burst timed out")
    {
        done.push(finished.expect("request task panicked"));
    }
    done.sort();
    (done, started.elapsed())
}

fn config() -> Config {
    Config {
        threads: 40,
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_queues_beyond_forty_threads() {
    let server = TestServer::start(config()).await;
    let (done, total) = burst(&server, "/baseline/sleep").await;
    assert!(
        total >= TWO_ROUNDS,
        "80 blocking sleeps on 40 threads took {total:?}, less than two rounds"
    );
    let first_round = done.iter().filter(|at| **at < TWO_ROUNDS).count();
    assert!(
        first_round <= 40,
        "{first_round} requests finished before {TWO_ROUNDS:?}; only 40 threads exist"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_sleeps_all_at_once() {
    let server = TestServer::start(config()).await;
    // A first burst pays for cold starts (threads, allocations) on a loaded
    // machine; both measured bursts come after it, on equal terms.
    let _ = burst(&server, "/async/sleep").await;
    let (_, total) = burst(&server, "/async/sleep").await;
    let (_, baseline) = burst(&server, "/baseline/sleep").await;
    assert!(
        total >= Duration::from_millis(200),
        "80 async sleeps of 0.2 s took {total:?}"
    );
    // One round against the baseline's two (at least 0.4 s, the other
    // test's hard invariant): a whole sleep less, whatever the noise.
    assert!(
        total < baseline,
        "80 async sleeps took {total:?}, the blocking ones {baseline:?}; they should overlap into one round"
    );
    server.stop().await.expect("clean stop");
}
