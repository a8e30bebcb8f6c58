//! HTTP/2 with prior knowledge (h2c) on the HTTP/1.1 port, over real
//! sockets: the same answers byte for byte, `/metrics` counting them, the
//! stream cap advertised and enforced, the connection cap, idle connections
//! told to go away, and graceful shutdown with streams in flight.

mod common;

use std::time::{Duration, Instant};

use common::h2::{
    self, frame, Raw, DATA, END_STREAM, GOAWAY, HEADERS, MAX_CONCURRENT_STREAMS,
    MAX_HEADER_LIST_SIZE, PING, REFUSED_STREAM, RST_STREAM,
};
use common::{request, start_observed, wait_arrivals, TestServer, IO_TIMEOUT};
use speedup_server::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_answers_with_the_bytes_of_http_1_1() {
    let server = TestServer::start(Config::default()).await;
    let addr = server.addr;
    let (mut client, _connection) = h2::client(addr).await;
    for (method, path) in [
        ("GET", "/async/sleep/0"),
        ("GET", "/baseline/sleep/0.01"),
        ("GET", "/async/sleep/1e-3"),
        ("GET", "/baseline/fibo/10"),
        ("GET", "/async/sleep/abc"),
        ("GET", "/async/sleep/-1"),
        ("GET", "/nowhere"),
        ("POST", "/async/sleep/0"),
        ("GET", "/async/sleep/0/?a=1"),
    ] {
        let one = request(addr, method, path).await;
        let two = h2::request(&mut client, addr, method, path)
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        assert_eq!(two.status, one.status, "{method} {path}");
        assert_eq!(two.body, one.body, "{method} {path}");
        for name in [
            "content-type",
            "content-length",
            "allow",
            "location",
            "server",
        ] {
            assert_eq!(
                two.header(name),
                one.header(name),
                "{method} {path}: {name}"
            );
        }
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_http2_requests_by_route_and_status() {
    let server = TestServer::start(Config::default()).await;
    let addr = server.addr;
    let (mut client, _connection) = h2::client(addr).await;
    let mut streams = tokio::task::JoinSet::new();
    for path in ["/async/sleep/0"; 7].into_iter().chain(["/nowhere"; 3]) {
        let mut client = client.clone();
        streams.spawn(async move { h2::get(&mut client, addr, path).await.status });
    }
    let statuses: Vec<u16> = streams.join_all().await;
    assert_eq!(statuses.iter().filter(|&&status| status == 200).count(), 7);
    let metrics = h2::get(&mut client, addr, "/metrics").await;
    let text = String::from_utf8(metrics.body).expect("text");
    for line in [
        r#"speedup_http_requests_total{route="/async/sleep/{n}",status="200"} 7"#,
        r#"speedup_http_requests_total{route="other",status="404"} 3"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_cap_is_advertised_and_streams_beyond_it_are_refused() {
    let config = Config {
        max_streams: 2,
        max_header_bytes: 4096,
        ..Config::default()
    };
    let (server, mut arrivals) = start_observed(config).await;
    let (mut raw, settings) = Raw::handshake(server.addr).await;
    assert_eq!(settings.setting(MAX_CONCURRENT_STREAMS), Some(2));
    assert_eq!(settings.setting(MAX_HEADER_LIST_SIZE), Some(4096));
    for stream in [1, 3, 5] {
        raw.get(stream, "/async/sleep/0.3").await;
    }
    // The third is refused unprocessed; the two others are served.
    let mut answered = Vec::new();
    let mut refused = Vec::new();
    while answered.len() < 2 {
        let frame = raw.next().await.expect("a frame");
        match frame.kind {
            RST_STREAM => refused.push((frame.stream, frame.word())),
            DATA if frame.flags & END_STREAM != 0 => answered.push(frame.stream),
            _ => {}
        }
    }
    assert_eq!(refused, [(5, REFUSED_STREAM)]);
    answered.sort_unstable();
    assert_eq!(answered, [1, 3]);
    wait_arrivals(&mut arrivals, 2).await;
    assert!(
        arrivals.try_recv().is_err(),
        "the refused stream reached the app"
    );
    drop(raw);
    // A client that keeps to the cap (once it knows it: after a first
    // exchange) has all its requests served, at most two at once.
    let (mut client, _connection) = h2::client(server.addr).await;
    h2::get(&mut client, server.addr, "/async/sleep/0").await;
    let started = Instant::now();
    let mut streams = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let mut client = client.clone();
        let addr = server.addr;
        streams.spawn(async move { h2::get(&mut client, addr, "/async/sleep/0.2").await.status });
    }
    assert_eq!(streams.join_all().await, [200; 6]);
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "6 × 0.2 s in {:?}: more than 2 at once",
        started.elapsed()
    );
    server.stop().await.expect("clean stop");
}

/// The stream count, not a flag: a stream ending while another runs does
/// not make the connection idle, so the keep-alive cuts no stream in
/// flight. Once idle, the connection is told to go away (GOAWAY) and
/// closed after [`GOAWAY_WAIT`](1 s) when the client does not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_in_flight_keep_a_connection_busy_then_idle_ones_go_away() {
    let config = Config {
        keep_alive: Duration::from_millis(300),
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let (mut raw, _) = Raw::handshake(server.addr).await;
    raw.get(1, "/async/sleep/1").await;
    raw.get(3, "/async/sleep/0.05").await;
    let mut ended = Vec::new();
    let mut goaway = None;
    while goaway.is_none() {
        let frame = raw.next().await.expect("not closed while streams run");
        match frame.kind {
            DATA if frame.flags & END_STREAM != 0 => ended.push((frame.stream, Instant::now())),
            GOAWAY => goaway = Some((frame.word(), Instant::now())),
            _ => {}
        }
    }
    let streams: Vec<u32> = ended.iter().map(|(stream, _)| *stream).collect();
    assert_eq!(streams, [3, 1], "both answered, the short one first");
    let (last, told) = goaway.expect("GOAWAY");
    assert_eq!(last, 0x7fff_ffff, "the graceful first GOAWAY");
    let idle_for = told - ended[1].1;
    assert!(
        idle_for >= Duration::from_millis(250) && idle_for < Duration::from_secs(3),
        "GOAWAY {idle_for:?} after the last stream ended"
    );
    // The client never answers the PING: the connection is closed anyway.
    let rest = raw.until_closed(Duration::from_secs(5)).await;
    let closed_after = told.elapsed();
    assert!(rest.iter().any(|frame| frame.kind == PING), "{rest:?}");
    assert!(
        closed_after >= Duration::from_millis(800),
        "closed {closed_after:?} after GOAWAY"
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_streams_in_flight_and_takes_no_new_ones() {
    let (mut server, mut arrivals) = start_observed(Config::default()).await;
    let (mut raw, _) = Raw::handshake(server.addr).await;
    raw.get(1, "/async/sleep/0.5").await;
    raw.get(3, "/baseline/sleep/0.5").await;
    wait_arrivals(&mut arrivals, 2).await;
    server.begin_shutdown();
    // GOAWAY for every stream id, a PING; answered, the last GOAWAY says
    // which streams the server took.
    let mut goaways = Vec::new();
    let mut bodies = Vec::new();
    while bodies.len() < 2 {
        let frame = raw.next().await.expect("not closed before the answers");
        match frame.kind {
            GOAWAY => {
                goaways.push(frame.word());
                if frame.word() == 3 {
                    // Too late: not taken.
                    raw.get(5, "/async/sleep/0").await;
                }
            }
            PING if frame.flags == 0 => {
                raw.send(&frame_ack(&frame)).await;
            }
            DATA => bodies.push((frame.stream, frame.payload)),
            HEADERS | RST_STREAM => assert_ne!(frame.stream, 5, "{frame:?}"),
            _ => {}
        }
    }
    bodies.sort();
    assert_eq!(
        bodies,
        [
            (1, b"\"hello world after 0.5s of sleep\"".to_vec()),
            (3, b"\"hello world after 0.5s of sleep\"".to_vec())
        ]
    );
    let rest = raw.until_closed(IO_TIMEOUT).await;
    assert!(
        rest.iter().all(|frame| frame.stream != 5),
        "stream 5 answered: {rest:?}"
    );
    goaways.extend(rest.iter().filter(|f| f.kind == GOAWAY).map(|f| f.word()));
    assert_eq!(goaways.first(), Some(&0x7fff_ffff), "{goaways:?}");
    assert_eq!(goaways.last(), Some(&3), "{goaways:?}");
    assert!(arrivals.try_recv().is_err(), "stream 5 reached the app");
    server.stop().await.expect("clean stop");
}

/// The PING acknowledgement of `ping`.
fn frame_ack(ping: &h2::Frame) -> Vec<u8> {
    frame(PING, h2::ACK, 0, &ping.payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_holds_for_http2_connections() {
    let config = Config {
        max_connections: 1,
        ..Config::default()
    };
    let (server, mut arrivals) = start_observed(config).await;
    let addr = server.addr;
    let (holder, _holding) = h2::client(addr).await;
    let held = tokio::spawn({
        let mut holder = holder.clone();
        async move {
            (
                h2::get(&mut holder, addr, "/async/sleep/0.5").await,
                Instant::now(),
            )
        }
    });
    wait_arrivals(&mut arrivals, 1).await;
    // A second client connects (the kernel's backlog) but is not served
    // while the only slot's connection has a stream in flight.
    let waiting = tokio::spawn(async move {
        let (mut client, _connection) = h2::client(addr).await;
        let answer = h2::get(&mut client, addr, "/async/sleep/0").await;
        (answer, Instant::now())
    });
    let stats = server.stats().clone();
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        assert!(stats.open_connections() <= 1, "beyond --max-connections");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (first, first_at) = held.await.expect("holder");
    let (second, second_at) = waiting.await.expect("waiting");
    assert_eq!((first.status, second.status), (200, 200));
    assert!(second_at > first_at, "served beyond the cap");
    server.stop().await.expect("clean stop");
}
