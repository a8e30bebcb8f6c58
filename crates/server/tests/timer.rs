//! The async timer seen from outside: a client that goes away (resets its
//! connection, or cancels its HTTP/2 stream) mid-sleep leaves no sleeper
//! behind. The tests of this binary take turns ([`ALONE`]), so the
//! process-wide count of sleepers is each test's own.

mod common;

use std::time::{Duration, Instant};

use common::h2::{frame, Raw, RST_STREAM};
use common::{connect, keep_alive_request, send, TestServer, IO_TIMEOUT};
use speedup_server::{pending_async_sleeps, Config};

/// The count of sleepers is the process's: one test at a time counts it.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    let _alone = ALONE.lock().await;
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

/// HTTP/2 streams run as tasks of their own: a stream the client cancels
/// (RST_STREAM), and every stream of a connection that goes away, cancel
/// their sleeps too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_going_away_cancel_their_sleeps() {
    let _alone = ALONE.lock().await;
    let server = TestServer::start(Config::default()).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let (mut raw, _) = Raw::handshake(server.addr).await;
        for stream in (1..100).step_by(2) {
            raw.get(stream, "/async/sleep/30").await;
        }
        clients.push(raw);
    }
    wait_sleepers(100).await;
    // CANCEL (0x8) ten streams of the first connection.
    for stream in (1..20).step_by(2) {
        clients[0]
            .send(&frame(RST_STREAM, 0, stream, &8u32.to_be_bytes()))
            .await;
    }
    wait_sleepers(90).await;
    for client in &clients {
        client.stream.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(clients);
    wait_sleepers(0).await;
    server.stop().await.expect("server stops");
}
