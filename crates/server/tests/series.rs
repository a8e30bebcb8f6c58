//! The rest of the series over real sockets: the fibo, fibo_sleep and stall
//! endpoints (bodies, bounds, FastAPI's exact 422s) and `/metrics` scraped
//! after a known number of requests.

mod common;

use std::time::Duration;

use common::{get, request, TestServer, IO_TIMEOUT};
use speedup_server::Config;

/// Expected exchanges: (path, status, body). Bodies of 200s and of the
/// parsing 422s are what FastAPI answers for the same path
/// (`bench/fastapi/compare.py` checks them against the real one); the bound
/// 422s are FastAPI's for `n: int = Path(ge=0, le=40)`.
const CASES: &[(&str, u16, &str)] = &[
    ("/baseline/fibo/30", 200, r#""832040""#),
    ("/async/fibo/30", 200, r#""832040""#),
    ("/pool/fibo/30", 200, r#""832040""#),
    ("/pool/fibo/0", 200, r#""0""#),
    ("/baseline/fibo/%2030", 200, r#""832040""#),
    ("/baseline/fibo/3_0.00", 200, r#""832040""#),
    (
        "/baseline/fibo_sleep/20",
        200,
        r#""hello after 0.006765s of sleep""#,
    ),
    (
        "/async/fibo_sleep/20",
        200,
        r#""hello after 0.006765s of sleep""#,
    ),
    (
        "/async/fibo_sleep/1",
        200,
        r#""hello after 1e-06s of sleep""#,
    ),
    (
        "/stall/sleep/0.01",
        200,
        r#""hello world after 0.01s of sleep""#,
    ),
    (
        "/async/fibo/30.5",
        422,
        r#"{"detail":[{"type":"int_parsing","loc":["path","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"30.5"}]}"#,
    ),
    (
        "/pool/fibo/abc",
        422,
        r#"{"detail":[{"type":"int_parsing","loc":["path","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}"#,
    ),
    (
        "/baseline/fibo_sleep/1e1",
        422,
        r#"{"detail":[{"type":"int_parsing","loc":["path","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"1e1"}]}"#,
    ),
    (
        "/baseline/fibo/41",
        422,
        r#"{"detail":[{"type":"less_than_equal","loc":["path","n"],"msg":"Input should be less than or equal to 40","input":"41","ctx":{"le":40}}]}"#,
    ),
    (
        "/async/fibo_sleep/-3",
        422,
        r#"{"detail":[{"type":"greater_than_equal","loc":["path","n"],"msg":"Input should be greater than or equal to 0","input":"-3","ctx":{"ge":0}}]}"#,
    ),
    (
        "/stall/sleep/inf",
        422,
        r#"{"detail":[{"type":"finite_number","loc":["path","n"],"msg":"Input should be a finite number","input":"inf"}]}"#,
    ),
    ("/pool/fibo/", 404, r#"{"detail":"Not Found"}"#),
];

#[tokio::test]
async fn every_endpoint_answers_as_fastapi_does() {
    let server = TestServer::start(Config::default()).await;
    for &(path, status, body) in CASES {
        let response = get(server.addr, path).await;
        assert_eq!(
            (response.status, response.body_text().as_str()),
            (status, body),
            "GET {path}"
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(response.header("server"), Some("speedup"), "{path}");
    }
    let post = request(server.addr, "POST", "/pool/fibo/3").await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
    let slash = get(server.addr, "/async/fibo/3/").await;
    assert_eq!(slash.status, 307);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn int_parsing_size_beyond_4300_digits() {
    let server = TestServer::start(Config::default()).await;
    let digits = "1".repeat(4301);
    let response = get(server.addr, &format!("/baseline/fibo/{digits}")).await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.body_text(),
        format!(
            r#"{{"detail":[{{"type":"int_parsing_size","loc":["path","n"],"msg":"Unable to parse input string as an integer, exceeded maximum size","input":"{digits}"}}]}}"#
        )
    );
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn max_fibo_moves_the_bound() {
    let config = Config {
        max_fibo: 10,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    assert_eq!(
        get(server.addr, "/pool/fibo/10").await.body_text(),
        r#""55""#
    );
    let refused = get(server.addr, "/pool/fibo/11").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body_text().contains(r#""ctx":{"le":10}"#),
        "{}",
        refused.body_text()
    );
    server.stop().await.expect("clean stop");
}

/// The value of the sample line `name` in a scrape, if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

async fn scrape(server: &TestServer) -> String {
    let response = get(server.addr, "/metrics").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    response.body_text()
}

#[tokio::test]
async fn metrics_count_known_requests() {
    let server = TestServer::start(Config::default()).await;
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/async/sleep/0").await.status, 200);
    }
    for _ in 0..2 {
        assert_eq!(get(server.addr, "/baseline/fibo/abc").await.status, 422);
    }
    assert_eq!(get(server.addr, "/pool/fibo/5").await.status, 200);
    assert_eq!(get(server.addr, "/nope").await.status, 404);
    let text = scrape(&server).await;
    let expect = [
        (
            r#"speedup_http_requests_total{route="/async/sleep/{n}",status="200"}"#,
            3.0,
        ),
        (
            r#"speedup_http_requests_total{route="/baseline/fibo/{n}",status="422"}"#,
            2.0,
        ),
        (
            r#"speedup_http_requests_total{route="/pool/fibo/{n}",status="200"}"#,
            1.0,
        ),
        (
            r#"speedup_http_requests_total{route="other",status="404"}"#,
            1.0,
        ),
        (
            r#"speedup_http_request_duration_seconds_count{route="/async/sleep/{n}"}"#,
            3.0,
        ),
        (
            r#"speedup_http_request_duration_seconds_bucket{le="+Inf",route="/async/sleep/{n}"}"#,
            3.0,
        ),
        // The scrape itself is in flight while it renders.
        ("speedup_http_requests_in_flight", 1.0),
        ("speedup_blocking_pool_threads", 40.0),
        ("speedup_blocking_pool_busy", 0.0),
        ("speedup_blocking_pool_queued", 0.0),
        ("speedup_cpu_pool_busy", 0.0),
        ("speedup_cpu_pool_queued", 0.0),
        ("speedup_gil_waits_total", 0.0),
    ];
    for (name, value) in expect {
        assert_eq!(sample(&text, name), Some(value), "{name} in\n{text}");
    }
    // The first scrape is counted by the second.
    let again = scrape(&server).await;
    assert_eq!(
        sample(
            &again,
            r#"speedup_http_requests_total{route="/metrics",status="200"}"#
        ),
        Some(1.0)
    );
    let open = common::send_with_headers(
        server.addr,
        "/metrics",
        "Accept: application/openmetrics-text; version=1.0.0\r\n",
    )
    .await;
    assert!(open
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/openmetrics-text")));
    assert!(open.body_text().ends_with("# EOF\n"));
    server.stop().await.expect("clean stop");
}

/// Polls `/metrics` (bounded) until every `(name, value)` holds.
async fn wait_for_gauges(server: &TestServer, wanted: &[(&str, f64)]) -> String {
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    loop {
        let text = scrape(server).await;
        if wanted
            .iter()
            .all(|&(name, value)| sample(&text, name) == Some(value))
        {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never saw {wanted:?} in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_gauges_show_busy_threads_and_queues() {
    let config = Config {
        threads: 2,
        cpu_threads: 1,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let addr = server.addr;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..4 {
        clients.spawn(async move { get(addr, "/baseline/sleep/1").await.status });
    }
    wait_for_gauges(
        &server,
        &[
            ("speedup_blocking_pool_busy", 2.0),
            ("speedup_blocking_pool_queued", 2.0),
        ],
    )
    .await;
    // A long computation holds the one CPU thread; two more queue.
    let n = common::fibo_taking(Duration::from_millis(300));
    for _ in 0..3 {
        clients.spawn(async move { get(addr, &format!("/pool/fibo/{n}")).await.status });
    }
    wait_for_gauges(
        &server,
        &[
            ("speedup_cpu_pool_busy", 1.0),
            ("speedup_cpu_pool_queued", 2.0),
        ],
    )
    .await;
    while let Some(status) = clients.join_next().await {
        assert_eq!(status.expect("client"), 200);
    }
    wait_for_gauges(
        &server,
        &[
            ("speedup_blocking_pool_busy", 0.0),
            ("speedup_blocking_pool_queued", 0.0),
            ("speedup_cpu_pool_busy", 0.0),
            ("speedup_cpu_pool_queued", 0.0),
        ],
    )
    .await;
    server.stop().await.expect("clean stop");
}

#[tokio::test]
#[ignore = "needs promtool"]
async fn promtool_accepts_the_exposition() {
    let server = TestServer::start(Config::default()).await;
    for path in [
        "/async/sleep/0",
        "/baseline/fibo/3",
        "/pool/fibo/x",
        "/nope",
    ] {
        get(server.addr, path).await;
    }
    let text = scrape(&server).await;
    server.stop().await.expect("clean stop");
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool on PATH (apt-get install prometheus)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("write to promtool");
    }
    let output = child.wait_with_output().expect("promtool ran");
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
