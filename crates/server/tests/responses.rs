//! Byte-exact responses over real sockets, from `tests/golden/responses.tsv`.

mod common;

use std::net::SocketAddr;

use common::{connect, get, read_response, request, send, Response, TestServer, IO_TIMEOUT};
use speedup_server::Config;
use tokio::task::JoinSet;
use tower::ServiceExt;

const GOLDEN: &str = include_str!("golden/responses.tsv");
const ROUTES: [&str; 2] = ["/baseline/sleep", "/async/sleep"];

/// One expected exchange, with `{route}` and `{host}` filled in.
#[derive(Debug, Clone)]
struct Case {
    line: usize,
    method: String,
    target: String,
    status: u16,
    content_type: Option<String>,
    body: String,
    header: Option<(String, String)>,
}

fn optional(field: &str) -> Option<String> {
    (field != "-").then(|| field.to_owned())
}

fn cases(host: SocketAddr) -> Vec<Case> {
    let mut cases = Vec::new();
    for (index, line) in GOLDEN.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 6, "golden line {}: {line:?}", index + 1);
        let routes: &[&str] = if line.contains("{route}") {
            &ROUTES
        } else {
            &[""]
        };
        for route in routes {
            let fill = |text: &str| {
                text.replace("{route}", route)
                    .replace("{host}", &host.to_string())
            };
            cases.push(Case {
                line: index + 1,
                method: fields[0].to_owned(),
                target: fill(fields[1]),
                status: fields[2].parse().expect("status column"),
                content_type: optional(fields[3]),
                body: optional(fields[4]).unwrap_or_default(),
                header: optional(fields[5]).map(|header| {
                    let (name, value) = header.split_once(": ").expect("`name: value`");
                    (name.to_owned(), fill(value))
                }),
            });
        }
    }
    cases
}

fn check(case: &Case, response: &Response) {
    let what = format!("golden line {}: {} {}", case.line, case.method, case.target);
    assert_eq!(response.status, case.status, "{what}: status");
    assert_eq!(
        response.header("content-type").map(str::to_owned),
        case.content_type,
        "{what}: content-type"
    );
    assert_eq!(response.body_text(), case.body, "{what}: body");
    if case.method != "HEAD" {
        assert_eq!(
            response.header("content-length"),
            Some(case.body.len().to_string().as_str()),
            "{what}: content-length"
        );
    }
    assert_eq!(response.header("server"), Some("speedup"), "{what}: server");
    if let Some((name, value)) = &case.header {
        assert_eq!(
            response.header(name),
            Some(value.as_str()),
            "{what}: {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_match_the_golden_table_byte_for_byte() {
    let server = TestServer::start(Config::default()).await;
    let cases = cases(server.addr);
    assert!(cases.len() > 80, "golden table went missing");
    // Concurrently, so the table costs one longest sleep (1.5 s), not the sum.
    let mut exchanges = JoinSet::new();
    for case in cases {
        let addr = server.addr;
        exchanges.spawn(async move {
            let response = request(addr, &case.method, &case.target).await;
            (case, response)
        });
    }
    while let Some(joined) = tokio::time::timeout(IO_TIMEOUT, exchanges.join_next())
        .await
        .expect("golden requests timed out")
    {
        let (case, response) = joined.expect("request task panicked");
        check(&case, &response);
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_sleep_bound_is_configurable_and_echoed_like_pydantic() {
    let config = Config {
        max_sleep: 0.25,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    for route in ROUTES {
        let refused = get(server.addr, &format!("{route}/0.3")).await;
        assert_eq!(refused.status, 422);
        assert_eq!(
            refused.body_text(),
            r#"{"detail":[{"type":"less_than_equal","loc":["path","n"],"msg":"Input should be less than or equal to 0.25","input":"0.3","ctx":{"le":0.25}}]}"#
        );
        let allowed = get(server.addr, &format!("{route}/0.25")).await;
        assert_eq!(allowed.status, 200, "{route}/0.25 is at the bound");
    }
    server.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_async_sleep_is_refused_at_once() {
    let server = TestServer::start(Config::default()).await;
    let started = std::time::Instant::now();
    let response = get(server.addr, "/async/sleep/inf").await;
    assert_eq!(response.status, 422);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // And it leaves nothing behind that could hold up shutdown.
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn app_is_usable_without_sockets() {
    let router = speedup_server::app(&Config::default());
    let request = axum::http::Request::get("/async/sleep/1e-5")
        .body(axum::body::Body::empty())
        .expect("valid request");
    let response = router.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn redirect_without_host_uses_the_path() {
    let router = speedup_server::app(&Config::default());
    let request = axum::http::Request::get("/async/sleep/1/")
        .body(axum::body::Body::empty())
        .expect("valid request");
    let response = router.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], "/async/sleep/1");
}

/// Without a `Host` (HTTP/1.0), Starlette redirects to the address the
/// connection was accepted on; the server looks it up only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_without_host_over_a_socket_uses_the_local_address() {
    let server = TestServer::start(Config::default()).await;
    let mut stream = connect(server.addr).await;
    send(&mut stream, b"GET /async/sleep/1/ HTTP/1.0\r\n\r\n").await;
    let response = read_response(&mut stream, false).await.expect("a response");
    assert_eq!(response.status, 307);
    assert_eq!(
        response.header("location"),
        Some(format!("http://{}/async/sleep/1", server.addr).as_str())
    );
    server.stop().await.expect("clean stop");
}
