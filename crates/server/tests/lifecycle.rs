//! Behaving as a real server: graceful shutdown, the grace deadline, the
//! keep-alive idle timeout, the header-read timeout and the connection cap.
//!
//! To know a request is *in flight* (not just written to a socket) the app is
//! wrapped in a middleware that reports each request reaching it.

mod common;

use std::time::{Duration, Instant};

use common::{
    connect, keep_alive_request, observed, read_response, request_bytes, send, start_observed,
    wait_arrivals, wait_for_close, wait_until, TestServer, IO_TIMEOUT,
};
use speedup_server::{Config, Server, Stopped};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Sends a `connection: close` GET on a new connection.
async fn start_request(server: &TestServer, target: &str) -> TcpStream {
    let mut stream = connect(server.addr).await;
    send(&mut stream, &request_bytes("GET", target, server.addr)).await;
    stream
}

/// A keep-alive connection that has completed one request and is now idle.
async fn idle_keep_alive(server: &TestServer) -> TcpStream {
    let mut stream = connect(server.addr).await;
    send(
        &mut stream,
        &keep_alive_request("/async/sleep/0", server.addr),
    )
    .await;
    let response = read_response(&mut stream, false).await.expect("response");
    assert_eq!(response.status, 200);
    stream
}

/// [`wait_for_close`], and how long it took.
async fn timed_close(
    stream: &mut TcpStream,
    limit: Duration,
) -> (Result<Vec<u8>, String>, Duration) {
    let started = Instant::now();
    let closed = wait_for_close(stream, limit).await;
    (closed, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_closes_idle_connections() {
    let (mut server, mut arrivals) = start_observed(Config::default()).await;
    let mut idle = idle_keep_alive(&server).await;
    wait_arrivals(&mut arrivals, 1).await;
    let mut blocking = start_request(&server, "/baseline/sleep/0.5").await;
    let mut timer = start_request(&server, "/async/sleep/0.5").await;
    wait_arrivals(&mut arrivals, 2).await;

    server.begin_shutdown();

    // The idle keep-alive connection is closed promptly, long before the
    // in-flight sleeps end.
    let leftover = wait_for_close(&mut idle, Duration::from_secs(3)).await;
    assert_eq!(
        leftover,
        Ok(Vec::new()),
        "idle connection not closed cleanly"
    );
    // The listener closes once every serving thread has stopped accepting:
    // then new connections are refused (one that slips in before is
    // answered 503, never left waiting).
    let until = Instant::now() + IO_TIMEOUT;
    while let Ok(mut late) = TcpStream::connect(server.addr).await {
        send(
            &mut late,
            &request_bytes("GET", "/async/sleep/0", server.addr),
        )
        .await;
        let answer = read_response(&mut late, false).await.expect("an answer");
        assert_eq!(answer.status, 503, "connection accepted during shutdown");
        assert!(Instant::now() < until, "still accepting connections");
    }
    // Both in-flight requests get their full answers.
    for (stream, n) in [(&mut blocking, "0.5"), (&mut timer, "0.5")] {
        let response = read_response(stream, false)
            .await
            .expect("in-flight response");
        assert_eq!(response.status, 200);
        assert_eq!(
            response.body_text(),
            format!("\"hello world after {n}s of sleep\"")
        );
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_deadline_bounds_shutdown() {
    let config = Config {
        grace: Duration::from_millis(300),
        ..Config::default()
    };
    let (mut server, mut arrivals) = start_observed(config).await;
    // An async sleep: a blocking one would outlive the test runtime (the
    // binary test covers that case through `Runtime::shutdown_timeout`).
    let mut stuck = start_request(&server, "/async/sleep/30").await;
    wait_arrivals(&mut arrivals, 1).await;
    let started = Instant::now();
    server.begin_shutdown();
    server.stop().await.expect("clean stop");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "shutdown took {took:?} with a 300 ms grace period"
    );
    // The abandoned request's connection is closed without an answer.
    let leftover = wait_for_close(&mut stuck, Duration::from_secs(3)).await;
    assert_eq!(leftover, Ok(Vec::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_time_out() {
    let config = Config {
        keep_alive: Duration::from_millis(300),
        header_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut idle = idle_keep_alive(&server).await;
    let (leftover, took) = timed_close(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(leftover, Ok(Vec::new()));
    assert!(
        took >= Duration::from_millis(250),
        "closed after {took:?}, before the 300 ms keep-alive"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_line_times_out() {
    let config = Config {
        keep_alive: Duration::from_secs(10),
        header_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut slow = connect(server.addr).await;
    send(&mut slow, b"GET /async/sl").await;
    let (closed, took) = timed_close(&mut slow, Duration::from_secs(5)).await;
    assert!(closed.is_ok(), "slow client still connected: {closed:?}");
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_while_every_connection_is_busy() {
    let config = Config {
        max_connections: 1,
        ..Config::default()
    };
    let (server, mut arrivals) = start_observed(config).await;
    let mut holder = start_request(&server, "/async/sleep/0.5").await;
    wait_arrivals(&mut arrivals, 1).await;
    // The kernel completes the handshake, but the server does not serve it.
    let mut waiting = start_request(&server, "/async/sleep/0").await;
    let early = tokio::time::timeout(
        Duration::from_millis(300),
        read_response(&mut waiting, false),
    )
    .await;
    assert!(early.is_err(), "served beyond --max-connections: {early:?}");
    // The busy connection was not evicted: it gets its answer, and that
    // frees the slot for the waiting one.
    let first = read_response(&mut holder, false)
        .await
        .expect("holder served");
    assert_eq!(first.status, 200);
    let response = read_response(&mut waiting, false)
        .await
        .expect("served later");
    assert_eq!(response.status, 200);
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut oldest = idle_keep_alive(&server).await;
    let mut newer = idle_keep_alive(&server).await;
    // Both slots hold idle keep-alive connections (5 s keep-alive): a new
    // client is still served at once, and the oldest idle one is closed.
    let started = Instant::now();
    let mut client = start_request(&server, "/async/sleep/0").await;
    let response = read_response(&mut client, false).await.expect("served");
    assert_eq!(response.status, 200);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "waited {took:?} at the cap");
    assert_eq!(
        wait_for_close(&mut oldest, Duration::from_secs(2)).await,
        Ok(Vec::new()),
        "the oldest idle connection was not closed"
    );
    // The newer one is still usable.
    send(
        &mut newer,
        &keep_alive_request("/async/sleep/0", server.addr),
    )
    .await;
    let again = read_response(&mut newer, false).await.expect("still open");
    assert_eq!(again.status, 200);
    server.stop().await.expect("clean stop");
}

/// Up to the cap nothing is evicted, however many threads accept: an
/// accept waiting for a connection holds no slot. (With one slot held per
/// waiting thread, a cap of 2 on 4 threads evicted the first idle
/// connection to make room for the second.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_counts_connections_not_waiting_accepts() {
    let config = Config {
        max_connections: 2,
        ..Config::default()
    };
    let server = TestServer::serve(Server::builder(config).workers(4)).await;
    for _ in 0..5 {
        let mut first = idle_keep_alive(&server).await;
        let mut second = idle_keep_alive(&server).await;
        for stream in [&mut first, &mut second] {
            send(stream, &keep_alive_request("/async/sleep/0", server.addr)).await;
            let again = read_response(stream, false).await.expect("still open");
            assert_eq!(again.status, 200);
        }
        drop((first, second));
        let stats = server.stats().clone();
        wait_until("both closed", || stats.open_connections() == 0).await;
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_is_not_capped_by_the_header_timeout() {
    let config = Config {
        keep_alive: Duration::from_millis(1500),
        header_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut idle = idle_keep_alive(&server).await;
    let (leftover, took) = timed_close(&mut idle, Duration::from_secs(6)).await;
    assert_eq!(leftover, Ok(Vec::new()));
    assert!(
        took >= Duration::from_millis(1200),
        "closed after {took:?}: --keep-alive 1.5 s cut short by the 0.3 s header timeout"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_new_connections_get_the_first_byte_timeout() {
    let config = Config {
        first_byte_timeout: Duration::from_millis(300),
        keep_alive: Duration::from_secs(10),
        header_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut silent = connect(server.addr).await;
    let (closed, took) = timed_close(&mut silent, Duration::from_secs(5)).await;
    assert_eq!(closed, Ok(Vec::new()), "silent client kept its slot");
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_queued_requests_503_at_once_and_finishes_started_ones() {
    let config = Config {
        threads: 1,
        ..Config::default()
    };
    let (mut server, mut arrivals) = start_observed(config).await;
    let mut started = start_request(&server, "/baseline/sleep/1.5").await;
    wait_arrivals(&mut arrivals, 1).await;
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(start_request(&server, "/baseline/sleep/1.5").await);
    }
    wait_arrivals(&mut arrivals, 3).await;

    let stopped = Instant::now();
    server.begin_shutdown();
    for stream in &mut queued {
        let response = read_response(stream, false).await.expect("queued answer");
        assert_eq!(response.status, 503, "{}", response.body_text());
        assert_eq!(response.header("retry-after"), Some("1"));
        assert_eq!(response.header("connection"), Some("close"));
        assert_eq!(response.body_text(), r#"{"detail":"Service Unavailable"}"#);
    }
    let refused_within = stopped.elapsed();
    let response = read_response(&mut started, false)
        .await
        .expect("started answer");
    assert_eq!(response.status, 200, "the started sleep must finish");
    let finished_within = stopped.elapsed();
    assert!(
        refused_within < finished_within,
        "queued requests answered after {refused_within:?}, not before the started one \
         ({finished_within:?})"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_stop_cuts_open_connections_at_once() {
    let config = Config {
        grace: Duration::from_secs(30),
        ..Config::default()
    };
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let server = Server::builder(config)
        .app(|config| observed(config, arrived))
        .bind(([127, 0, 0, 1], 0).into())
        .expect("bind");
    let addr = server.local_addr().expect("a TCP server");
    let (first, first_rx) = tokio::sync::oneshot::channel::<()>();
    let (second, second_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server.serve(
        async move {
            let _ = first_rx.await;
        },
        async move {
            let _ = second_rx.await;
        },
    ));
    let mut stuck = connect(addr).await;
    send(&mut stuck, &request_bytes("GET", "/async/sleep/30", addr)).await;
    wait_arrivals(&mut arrivals, 1).await;
    let _ = first.send(());
    let _ = second.send(());
    let started = Instant::now();
    let stopped = tokio::time::timeout(IO_TIMEOUT, server)
        .await
        .expect("second stop did not cut the 30 s grace short")
        .expect("server task")
        .expect("clean stop");
    assert_eq!(stopped, Stopped::default());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        wait_for_close(&mut stuck, Duration::from_secs(3)).await,
        Ok(Vec::new())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_connections_waiting_in_the_backlog_503() {
    let config = Config {
        max_connections: 1,
        ..Config::default()
    };
    let (mut server, mut arrivals) = start_observed(config).await;
    let mut holder = start_request(&server, "/async/sleep/1").await;
    wait_arrivals(&mut arrivals, 1).await;
    // Beyond the cap, and the holder is busy: these wait (one may be taken
    // by the accept loop, waiting for room; the other is in the backlog).
    let mut waiting = Vec::new();
    for _ in 0..2 {
        waiting.push(start_request(&server, "/async/sleep/0").await);
    }
    server.begin_shutdown();
    for stream in &mut waiting {
        let refused = read_response(stream, false)
            .await
            .expect("an answer, not a reset");
        assert_eq!(refused.status, 503);
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(refused.header("connection"), Some("close"));
        assert_eq!(refused.body_text(), r#"{"detail":"Service Unavailable"}"#);
    }
    let response = read_response(&mut holder, false).await.expect("holder");
    assert_eq!(response.status, 200, "the started request still finishes");
    server.stop().await.expect("clean stop");
}
