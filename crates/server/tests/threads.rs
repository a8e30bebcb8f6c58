//! Thread per core ([`speedup_server::Server`]): the same answers from
//! several runtimes sharing one port, and graceful shutdown, which does not
//! wait for a thread stuck in a handler past the grace period.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{self, Next};
use common::{connect, get, read_response, request_bytes, send, IO_TIMEOUT};
use speedup_server::{Config, Server, Stopped};
use tokio::sync::{mpsc, oneshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_share_one_port_and_shut_down_gracefully() {
    let server = Server::builder(Config::default())
        .workers(3)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let addr = server.local_addr().expect("a TCP server");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server.serve(
        async move {
            let _ = stopped.await;
        },
        std::future::pending(),
    ));

    // Many connections, so every thread's socket gets some: all answered.
    let mut answers = tokio::task::JoinSet::new();
    for _ in 0..40 {
        answers.spawn(async move { get(addr, "/async/sleep/0.001").await });
    }
    while let Some(answer) = answers.join_next().await {
        let answer = answer.expect("client task");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body_text(), "\"hello world after 0.001s of sleep\"");
    }

    // Shutdown lets an in-flight request finish, then refuses new ones.
    let mut in_flight = connect(addr).await;
    send(
        &mut in_flight,
        &request_bytes("GET", "/async/sleep/0.3", addr),
    )
    .await;
    // Alone in this binary, so the process-wide count of sleepers is ours.
    let until = Instant::now() + IO_TIMEOUT;
    while speedup_server::pending_async_sleeps() == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        speedup_server::pending_async_sleeps(),
        1,
        "request in flight"
    );
    let started = Instant::now();
    stop.send(()).expect("server running");
    let answer = read_response(&mut in_flight, false)
        .await
        .expect("in-flight request answered");
    assert_eq!(answer.status, 200);
    let stopped = tokio::time::timeout(IO_TIMEOUT, server)
        .await
        .expect("serve returns")
        .expect("task")
        .expect("clean stop");
    assert_eq!(stopped, Stopped::default(), "no thread left behind");
    assert!(started.elapsed() < IO_TIMEOUT);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A handler that blocks its serving thread (the `/stall` mistake) cannot
/// be interrupted: after the grace period and a short margin
/// `serve` returns without that thread, says what it holds, and
/// answers the connection waiting in the backlog (which no thread could
/// accept) 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_stuck_in_a_handler_is_left_behind_after_the_grace_period() {
    let config = Config {
        grace: Duration::from_millis(200),
        ..Config::default()
    };
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let server = Server::builder(config)
        .workers(1)
        .app(|config| {
            speedup_server::app(config).layer(middleware::from_fn(
                move |request: Request, next: Next| {
                    let _ = arrived.send(());
                    next.run(request)
                },
            ))
        })
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let addr = server.local_addr().expect("a TCP server");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server.serve(
        async move {
            let _ = stopped.await;
        },
        std::future::pending(),
    ));
    let mut stalled = connect(addr).await;
    send(&mut stalled, &request_bytes("GET", "/stall/sleep/5", addr)).await;
    tokio::time::timeout(IO_TIMEOUT, arrivals.recv())
        .await
        .expect("the stall never started");
    let mut waiting = connect(addr).await;
    send(
        &mut waiting,
        &request_bytes("GET", "/baseline/fibo/1", addr),
    )
    .await;

    let started = Instant::now();
    stop.send(()).expect("server running");
    let stopped = tokio::time::timeout(IO_TIMEOUT, server)
        .await
        .expect("serve returns")
        .expect("task")
        .expect("stopped");
    let took = started.elapsed();
    assert_eq!(
        stopped,
        Stopped {
            stuck_threads: 1,
            connections_cut: 1,
            requests_cut: 1,
        }
    );
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(3),
        "returned after {took:?}"
    );
    let answer = read_response(&mut waiting, false)
        .await
        .expect("the waiting connection is answered");
    assert_eq!(answer.status, 503);
    drop(stalled);
}
