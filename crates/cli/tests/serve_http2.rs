//! `speedup serve` answering HTTP/2 with prior knowledge (h2c) on its
//! HTTP/1.1 port, from the outside: `speedup bench --http2` gets the same
//! statuses route by route as over HTTP/1.1, an `h2` client the same
//! bodies, and many streams per connection run without an error.
#![cfg(unix)]

mod bench_support;
mod serve_support;

use std::time::Duration;

use bench_support::{run_within, scratch, text};
use serve_support::serve;

const LIMIT: Duration = Duration::from_secs(60);

/// The routes compared: an answer, a redirect, FastAPI's 404 and 422.
const PATHS: [&str; 4] = [
    "/async/sleep/0",
    "/async/sleep/0/",
    "/nowhere",
    "/async/sleep/abc",
];

/// `speedup bench ARGS --json -`, which must succeed: its JSON.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "-"]);
    let out = run_within(&all, LIMIT);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

/// The body of an HTTP/1.1 answer read whole.
fn http1_body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// Each of [`PATHS`] over HTTP/2 on one connection: status and body.
fn http2_answers(addr: &str) -> Vec<(u16, Vec<u8>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let exchange = async {
            let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (client, connection) = h2::client::handshake(socket).await.expect("handshake");
            tokio::spawn(connection);
            let mut answers = Vec::new();
            for path in PATHS {
                let request = http::Request::get(format!("http://{addr}{path}"))
                    .body(())
                    .expect("request");
                let mut client = client.clone().ready().await.expect("ready");
                let (response, _) = client.send_request(request, true).expect("send");
                let (parts, mut body) = response.await.expect("response").into_parts();
                let mut bytes = Vec::new();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk.expect("body");
                    let _ = body.flow_control().release_capacity(chunk.len());
                    bytes.extend_from_slice(&chunk);
                }
                answers.push((parts.status.as_u16(), bytes));
            }
            answers
        };
        tokio::time::timeout(LIMIT, exchange)
            .await
            .expect("in time")
    })
}

#[test]
fn identical_answers_over_http_1_1_and_http_2_against_speedup_serve_h2c() {
    let served = serve(&[]);
    let addr = served.addr.clone();
    let targets = scratch("serve-h2").join("targets.txt");
    let file: Vec<String> = PATHS
        .iter()
        .map(|path| format!("GET http://{addr}{path}\n"))
        .collect();
    std::fs::write(&targets, file.join("\n")).expect("targets file");
    let targets = targets.to_str().expect("utf-8 path");
    let one = bench_json(&["-n", "40", "-c", "2", "--targets", targets]);
    let two = bench_json(&[
        "--http2",
        "--streams",
        "4",
        "-n",
        "40",
        "-c",
        "2",
        "--targets",
        targets,
    ]);
    assert_eq!(one["protocol"], "http/1.1");
    assert_eq!(two["protocol"], "h2");
    for run in [&one, &two] {
        assert_eq!(run["requests"]["total"], 40, "{run}");
        assert_eq!(run["errors"], serde_json::json!({}), "{run}");
    }
    for (index, path) in PATHS.iter().enumerate() {
        let (status_1, status_2) = (
            &one["targets"][index]["status"],
            &two["targets"][index]["status"],
        );
        assert_eq!(status_1, status_2, "{path}");
        assert_eq!(status_2.as_object().map(|s| s.len()), Some(1), "{path}");
    }
    // The bodies, byte for byte.
    for (path, (status, body)) in PATHS.iter().zip(http2_answers(&addr)) {
        let answer = served.get(path);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{path}: h2 {status}, HTTP/1.1 {answer:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&body),
            http1_body(&answer),
            "{path}"
        );
    }
}

#[test]
fn bench_http2_with_10_streams_against_serve_has_no_errors() {
    let served = serve(&[]);
    let url = format!("http://{}/async/sleep/0.001", served.addr);
    let run = bench_json(&["--http2", "--streams", "10", "-c", "4", "-n", "2000", &url]);
    assert_eq!(run["protocol"], "h2");
    assert_eq!(run["requests"]["total"], 2000, "{run}");
    assert_eq!(run["status"]["200"], 2000, "{run}");
    assert_eq!(run["errors"], serde_json::json!({}), "{run}");
}
