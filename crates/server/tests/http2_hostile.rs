//! Hostile HTTP/2 peers over real sockets: header blocks that never end
//! (slowloris), a connection that never starts a request, header lists
//! beyond `max_header_bytes`. Each bound is one of the README's "Limits
//! and protections", as it holds for HTTP/1.1.

mod common;

use std::time::{Duration, Instant};

use common::h2::{
    self, frame, get_block, Raw, CONTINUATION, END_HEADERS, END_STREAM, HEADERS, PING,
};
use common::{TestServer, IO_TIMEOUT};
use speedup_server::Config;

/// The header timeout the slowloris tests use.
const HEADER_TIMEOUT: Duration = Duration::from_millis(500);

fn config() -> Config {
    Config {
        header_timeout: HEADER_TIMEOUT,
        first_byte_timeout: Duration::from_secs(10),
        keep_alive: Duration::from_secs(10),
        ..Config::default()
    }
}

/// Waits for `raw`'s connection to close, sending `drip` every 100 ms
/// meanwhile (nothing if empty); how long it took.
async fn closed_while_dripping(raw: &mut Raw, drip: &[u8]) -> Duration {
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < IO_TIMEOUT, "never closed");
        if !drip.is_empty() {
            // A write may fail once the server is gone: that is the end.
            if tokio::io::AsyncWriteExt::write_all(&mut raw.stream, drip)
                .await
                .is_err()
            {
                return started.elapsed();
            }
        }
        let next = tokio::time::timeout(Duration::from_millis(100), raw.next_within(IO_TIMEOUT));
        if let Ok(None) = next.await {
            return started.elapsed();
        }
    }
}

/// A connection closed `took` after its block opened was cut by the header
/// timeout (with a wide margin after it, for a loaded machine).
fn assert_cut_at_header_timeout(took: Duration, what: &str) {
    assert!(
        took >= HEADER_TIMEOUT - Duration::from_millis(100) && took < Duration::from_secs(4),
        "{what}: closed after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_blocks_that_never_end_are_cut_by_the_header_timeout() {
    let server = TestServer::start(config()).await;
    let block = get_block("/async/sleep/0", "localhost", 0);
    let continuation = frame(CONTINUATION, 0, 1, b"\x00");
    let mut cut_short = frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0; 50]);
    cut_short.truncate(9 + 10);
    for (what, opening, drip) in [
        (
            "HEADERS without END_HEADERS, then nothing",
            frame(HEADERS, END_STREAM, 1, &block),
            Vec::new(),
        ),
        (
            "CONTINUATION frames that never end",
            frame(HEADERS, END_STREAM, 1, &block),
            continuation.clone(),
        ),
        ("a HEADERS payload cut short", cut_short, Vec::new()),
    ] {
        let (mut raw, _) = Raw::handshake(server.addr).await;
        raw.send(&opening).await;
        let took = closed_while_dripping(&mut raw, &drip).await;
        assert_cut_at_header_timeout(took, what);
    }
    server.stop().await.expect("clean stop");
}

/// Nothing may come between the frames of a block, so a block left open
/// stalls the whole connection: it is cut even with a stream in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_block_is_cut_even_with_streams_in_flight() {
    let server = TestServer::start(config()).await;
    let (mut raw, _) = Raw::handshake(server.addr).await;
    raw.get(1, "/async/sleep/30").await;
    let block = get_block("/async/sleep/0", "localhost", 0);
    raw.send(&frame(HEADERS, END_STREAM, 3, &block)).await;
    let took = closed_while_dripping(&mut raw, &[]).await;
    assert_cut_at_header_timeout(took, "with a stream in flight");
    server.stop().await.expect("clean stop");
}

/// Blocks that do end, however they are split, leave a busy connection
/// alone: a request every 50 ms, each block in two frames 20 ms apart, for
/// twice the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_blocks_that_end_are_not_cut() {
    let server = TestServer::start(config()).await;
    let (mut raw, _) = Raw::handshake(server.addr).await;
    let block = get_block("/async/sleep/0", "localhost", 0);
    let (first, second) = block.split_at(3);
    let mut stream = 1;
    let started = Instant::now();
    while started.elapsed() < HEADER_TIMEOUT * 2 {
        raw.send(&frame(HEADERS, END_STREAM, stream, first)).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        raw.send(&frame(CONTINUATION, END_HEADERS, stream, second))
            .await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        stream += 2;
    }
    raw.get(stream, "/async/sleep/0").await;
    // Every stream answered (a DATA frame ending each), and still open.
    let mut ended = 0;
    while ended < stream.div_ceil(2) {
        let frame = raw.next().await.expect("still open");
        if frame.kind == h2::DATA && frame.flags & END_STREAM != 0 {
            ended += 1;
        }
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_starts_a_request_gets_the_first_byte_timeout() {
    let config = Config {
        first_byte_timeout: Duration::from_millis(300),
        ..config()
    };
    let server = TestServer::start(config).await;
    // Preface, SETTINGS, then PINGs: frames, but no request.
    let (mut raw, _) = Raw::handshake(server.addr).await;
    let took = closed_while_dripping(&mut raw, &frame(PING, 0, 0, &[0; 8])).await;
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_lists_beyond_max_header_bytes_are_refused() {
    let config = Config {
        max_header_bytes: 4096,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let addr = server.addr;
    let (mut client, _connection) = h2::client(addr).await;
    // Settle the settings first (the client then keeps to them).
    assert_eq!(
        h2::get(&mut client, addr, "/async/sleep/0").await.status,
        200
    );
    let fits = h2::padded(&mut client, addr, "GET", "/async/sleep/0", 3000).await;
    assert_eq!(fits.map(|answer| answer.status).ok(), Some(200));
    // Beyond the bound: h2's own 431, the connection still serving.
    let beyond = h2::padded(&mut client, addr, "GET", "/async/sleep/0", 5000).await;
    assert_eq!(beyond.map(|answer| answer.status).ok(), Some(431));
    assert_eq!(
        h2::get(&mut client, addr, "/async/sleep/0").await.status,
        200
    );
    // Far beyond it (more than h2 buffers to decode it): the connection
    // ends (GOAWAY, ENHANCE_YOUR_CALM).
    let far = h2::padded(&mut client, addr, "GET", "/async/sleep/0", 40_000).await;
    assert!(
        far.as_ref().is_err_and(|error| error.is_go_away()),
        "{far:?}"
    );
    // A new connection is served.
    let (mut again, _connection) = h2::client(addr).await;
    assert_eq!(
        h2::get(&mut again, addr, "/async/sleep/0").await.status,
        200
    );
    server.stop().await.expect("clean stop");
}
