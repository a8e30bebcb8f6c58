//! A server on a Unix domain socket ([`ServerBuilder::bind_unix`]): HTTP/1.1
//! and HTTP/2 answered as over TCP, a redirect without `host` relative (no
//! address to build it from), and the socket file removed at the end.
#![cfg(unix)]

mod common;

use std::path::PathBuf;

use common::IO_TIMEOUT;
use speedup_server::{Config, Listening, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// A fresh folder for one test.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-server-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Sends `request` on a new connection to `path` and reads until it closes.
async fn exchange(path: &PathBuf, request: &[u8]) -> String {
    let exchange = async {
        let mut stream = UnixStream::connect(path).await.expect("connect");
        stream.write_all(request).await.expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    };
    tokio::time::timeout(IO_TIMEOUT, exchange)
        .await
        .expect("in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_1_and_http_2_over_a_unix_socket_and_the_socket_removed_after() {
    let path = scratch("unix").join("speedup.sock");
    let server = Server::builder(Config::default())
        .workers(2)
        .bind_unix(&path)
        .expect("bind");
    assert_eq!(server.listening(), &Listening::Unix(path.clone()));
    assert_eq!(
        server.listening().to_string(),
        format!("unix:{}", path.display())
    );
    assert_eq!(server.local_addr(), None);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(
        async move {
            let _ = stopped.await;
        },
        std::future::pending(),
    ));

    let answer = exchange(
        &path,
        b"GET /async/sleep/0 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n\"hello world after 0.0s of sleep\""),
        "{answer}"
    );
    // Without `host` there is no address to redirect to: a relative one.
    let redirect = exchange(&path, b"GET /async/sleep/0/ HTTP/1.0\r\n\r\n").await;
    assert!(redirect.starts_with("HTTP/1.0 307 "), "{redirect}");
    assert!(
        redirect.contains("\r\nlocation: /async/sleep/0\r\n"),
        "{redirect}"
    );

    let h2 = async {
        let socket = UnixStream::connect(&path).await.expect("connect");
        let (client, connection) = h2::client::handshake(socket).await.expect("handshake");
        tokio::spawn(connection);
        let request = http::Request::get("http://localhost/async/sleep/0")
            .body(())
            .expect("request");
        let mut client = client.ready().await.expect("ready");
        let (response, _) = client.send_request(request, true).expect("send");
        let (parts, mut body) = response.await.expect("response").into_parts();
        let chunk = body.data().await.expect("a body").expect("body");
        (parts.status.as_u16(), chunk)
    };
    let (status, body) = tokio::time::timeout(IO_TIMEOUT, h2).await.expect("in time");
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"\"hello world after 0.0s of sleep\"");

    let _ = stop.send(());
    let stopped = tokio::time::timeout(IO_TIMEOUT, serving)
        .await
        .expect("stops in time")
        .expect("task")
        .expect("clean stop");
    assert_eq!(stopped, speedup_server::Stopped::default());
    assert!(!path.exists(), "the socket was left behind");
}
