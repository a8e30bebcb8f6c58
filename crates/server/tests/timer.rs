//! The async timer seen from outside: a client that goes away (resets its
//! connection) mid-sleep leaves no sleeper behind. Alone in its test binary, so the process-wide
//! count of sleepers is this test's own.

mod common;

use std::time::{Duration, Instant};

use common::{connect, keep_alive_request, send, TestServer, IO_TIMEOUT};
use speedup_server::{pending_async_sleeps, Config};

/// Polls (bounded by [`IO_TIMEOUT`]) until the count of sleepers is `want`.
async fn wait_sleepers(want: usize) {
    let until = Instant::now() + IO_TIMEOUT;
    while pending_async_sleeps() != want && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(pending_async_sleeps(), want, "sleepers registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_going_away_cancel_their_sleeps() {
    let server = TestServer::start(Config::default()).await;
    let mut clients = Vec::new();
    for _ in 0..200 {
        let mut stream = connect(server.addr).await;
        send(
            &mut stream,
            &keep_alive_request("/async/sleep/30", server.addr),
        )
        .await;
        clients.push(stream);
    }
    wait_sleepers(200).await;
    // Going away means a reset: a client that only closes its side (FIN)
    // may be half-closing and still waiting for its answer (issue 9), so
    // the server keeps its request until the answer cannot be written.
    for client in &clients {
        client.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(clients);
    wait_sleepers(0).await;
    server.stop().await.expect("server stops");
}
