//! Hostile and sloppy peers over real sockets: oversized heads, missing or
//! doubled `Host`, half-closing clients, panicking handlers, and an idle
//! flood at the connection cap. Each bound is one `speedup serve` documents
//! in the README's "Limits and protections".

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get as route_get;
use common::{
    connect, get, padded_request, read_response, send, wait_for_close, wait_until, TestServer,
    IO_TIMEOUT,
};

/// The header line that makes the server close after answering.
const CLOSE: &str = "Connection: close\r\n";
use speedup_server::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// Sends raw bytes on a new connection and reads one response.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> common::Response {
    let mut stream = connect(addr).await;
    send(&mut stream, bytes).await;
    read_response(&mut stream, false)
        .await
        .expect("a well-formed response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_beyond_max_header_bytes_get_431() {
    let config = Config {
        max_header_bytes: 16 * 1024,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let fits = exchange(
        server.addr,
        &padded_request("/async/sleep/0", server.addr, CLOSE, 16 * 1024 - 64),
    )
    .await;
    assert_eq!(fits.status, 200, "a head under the bound is served");
    // Well beyond it (the 390 KB): answered, and readable despite
    // the bytes the server never read.
    for size in [16 * 1024 + 100, 390 * 1024] {
        let refused = exchange(
            server.addr,
            &padded_request("/async/sleep/0", server.addr, CLOSE, size),
        )
        .await;
        assert_eq!(refused.status, 431, "{size}-byte head");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_1_needs_exactly_one_host() {
    let server = TestServer::start(Config::default()).await;
    let addr = server.addr;
    for (what, request) in [
        ("no host", "GET /async/sleep/0 HTTP/1.1\r\n\r\n".to_owned()),
        (
            "two hosts",
            format!("GET /async/sleep/0 HTTP/1.1\r\nHost: {addr}\r\nHost: other\r\n\r\n"),
        ),
    ] {
        let mut stream = connect(addr).await;
        send(&mut stream, request.as_bytes()).await;
        let response = read_response(&mut stream, false).await.expect(what);
        assert_eq!(response.status, 400, "{what}");
        assert_eq!(response.header("connection"), Some("close"), "{what}");
        assert_eq!(response.body_text(), "Invalid HTTP request received.");
        assert_eq!(
            wait_for_close(&mut stream, Duration::from_secs(3)).await,
            Ok(Vec::new()),
            "{what}: connection not closed"
        );
    }
    // HTTP/1.0 has no such rule, and one Host is fine.
    let old = exchange(addr, b"GET /async/sleep/0 HTTP/1.0\r\n\r\n").await;
    assert_eq!(old.status, 200);
    assert_eq!(get(addr, "/async/sleep/0").await.status, 200);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_half_closes_still_gets_its_response() {
    let server = TestServer::start(Config::default()).await;
    for target in ["/async/sleep/0.2", "/baseline/sleep/0.2"] {
        let mut stream = connect(server.addr).await;
        let request = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
        send(&mut stream, request.as_bytes()).await;
        stream.shutdown().await.expect("half-close");
        let response = read_response(&mut stream, false)
            .await
            .unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(response.status, 200, "{target}");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_the_server_carries_on() {
    let server = TestServer::start_app(Config::default(), |config| {
        speedup_server::app(config).route(
            "/panic",
            route_get(|| async {
                if std::hint::black_box(true) {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        )
    })
    .await;
    let mut neighbour = connect(server.addr).await;
    let request = format!(
        "GET /async/sleep/0.3 HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    send(&mut neighbour, request.as_bytes()).await;

    let crashed = get(server.addr, "/panic").await;
    assert_eq!(crashed.status, 500);
    assert_eq!(crashed.header("connection"), Some("close"));
    // The connection in flight next to it, and new ones, are unaffected.
    let response = read_response(&mut neighbour, false)
        .await
        .expect("neighbour");
    assert_eq!(response.status, 200);
    assert_eq!(get(server.addr, "/async/sleep/0").await.status, 200);
    server.stop().await.expect("clean stop");
}

/// Idle attackers: `count` connections that send nothing and reconnect as
/// soon as the server closes them, until `stop` (each loop bounded by it).
fn idle_flood(addr: SocketAddr, count: usize, stop: &Arc<AtomicBool>) -> JoinSet<usize> {
    let mut flood = JoinSet::new();
    for _ in 0..count {
        let stop = Arc::clone(stop);
        flood.spawn(async move {
            let mut reconnects = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(Ok(mut stream)) =
                    tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(addr)).await
                else {
                    continue;
                };
                let mut byte = [0u8; 1];
                // Until closed, or stopped (checked every 100 ms).
                while !stop.load(Ordering::Relaxed) {
                    let read =
                        tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte))
                            .await;
                    if matches!(read, Ok(Ok(0) | Err(_))) {
                        break;
                    }
                }
                reconnects += 1;
            }
            reconnects
        });
    }
    flood
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_at_the_cap_does_not_starve_a_real_client() {
    let config = Config {
        max_connections: 50,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = idle_flood(server.addr, 400, &stop);
    // The flood holds every slot (the rest of it waits in the backlog).
    let stats = server.stats().clone();
    wait_until("the flood fills the cap", || stats.open_connections() == 50).await;

    let mut waits = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let response = get(server.addr, "/async/sleep/0").await;
        assert_eq!(response.status, 200);
        waits.push(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    while tokio::time::timeout(IO_TIMEOUT, flood.join_next())
        .await
        .expect("flood stops")
        .is_some()
    {}
    // The issue measured 39 s on a 5 s keep-alive; the target is 1 s.
    let slowest = waits.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(3),
        "a normal request waited {waits:?} behind 400 idle connections"
    );
    server.stop().await.expect("clean stop");
}
