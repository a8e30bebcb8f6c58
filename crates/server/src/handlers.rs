//! The endpoints: what each one does with its validated `{n}`, and where it
//! runs (a runtime worker, the bounded blocking pool, the CPU pool, a timer).
//!
//! | path | model | where the work runs |
//! |---|---|---|
//! | `/baseline/sleep/{n}` | `def` | `std::thread::sleep` on the blocking pool |
//! | `/async/sleep/{n}` | `async def` | a timer, nothing held |
//! | `/stall/sleep/{n}` | `time.sleep` in `async def` | blocks a runtime worker (the mistake) |
//! | `/baseline/fibo/{n}` | `def` | the blocking pool |
//! | `/async/fibo/{n}` | `async def` | inline: holds a runtime worker (the mistake) |
//! | `/pool/fibo/{n}` | `ProcessPoolExecutor` | the CPU pool, one thread per core |
//! | `/baseline/fibo_sleep/{n}` | `def` | compute then sleep on the blocking pool |
//! | `/async/fibo_sleep/{n}` | `async def` | compute inline, then a timer |
//! | `/metrics` | | renders the counters |
//!
//! With `--gil`, every computation holds one global lock (see `cpu`).

use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::cpu::{self, CpuPool, Gil};
use crate::errors::{json_response, ApiError};
use crate::metrics::{self, Metrics};
use crate::sleep::{async_sleep, validate, BlockingPool, Sleep};
use crate::Config;

/// Shared state of the application.
#[derive(Debug)]
pub(crate) struct AppState {
    pool: BlockingPool,
    cpu: CpuPool,
    gil: Gil,
    pub(crate) metrics: Metrics,
    max_sleep: f64,
    max_fibo: u32,
    /// Whether the mistakes are served (see [`Endpoint::is_mistake`]).
    pub(crate) mistakes: bool,
}

impl AppState {
    /// The pools, lock and metrics for `config` (the CPU pool's threads
    /// start with its first job).
    pub(crate) fn new(config: &Config) -> Self {
        let metrics = Metrics::new(config.threads, config.cpu_threads);
        Self {
            pool: BlockingPool::new(config.threads, metrics.blocking.clone()),
            cpu: CpuPool::new(config.cpu_threads, metrics.cpu.clone()),
            gil: Gil::new(config.gil, metrics.gil_waits.clone()),
            metrics,
            max_sleep: config.max_sleep,
            max_fibo: config.max_fibo,
            mistakes: config.mistakes,
        }
    }
}

/// Which handler a path names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Endpoint {
    /// `/baseline/sleep/{n}`.
    BaselineSleep,
    /// `/async/sleep/{n}`.
    AsyncSleep,
    /// `/stall/sleep/{n}`.
    StallSleep,
    /// `/baseline/fibo/{n}`.
    BaselineFibo,
    /// `/async/fibo/{n}`.
    AsyncFibo,
    /// `/pool/fibo/{n}`.
    PoolFibo,
    /// `/baseline/fibo_sleep/{n}`.
    BaselineFiboSleep,
    /// `/async/fibo_sleep/{n}`.
    AsyncFiboSleep,
    /// `/metrics`.
    Metrics,
}

impl Endpoint {
    /// The series' deliberate mistakes: endpoints whose work holds the
    /// serving thread (a runtime worker) instead of a pool thread or a timer.
    pub(crate) fn is_mistake(self) -> bool {
        matches!(
            self,
            Endpoint::StallSleep | Endpoint::AsyncFibo | Endpoint::AsyncFiboSleep
        )
    }
}

/// Every endpoint with `{n}`: its path prefix (Starlette's
/// `^PREFIX(?P<n>[^/]+)$`) and the template used as the metrics label.
pub(crate) const ROUTES: [(&str, Endpoint, &str); 8] = [
    (
        "/baseline/sleep/",
        Endpoint::BaselineSleep,
        "/baseline/sleep/{n}",
    ),
    ("/async/sleep/", Endpoint::AsyncSleep, "/async/sleep/{n}"),
    ("/stall/sleep/", Endpoint::StallSleep, "/stall/sleep/{n}"),
    (
        "/baseline/fibo/",
        Endpoint::BaselineFibo,
        "/baseline/fibo/{n}",
    ),
    ("/async/fibo/", Endpoint::AsyncFibo, "/async/fibo/{n}"),
    ("/pool/fibo/", Endpoint::PoolFibo, "/pool/fibo/{n}"),
    (
        "/baseline/fibo_sleep/",
        Endpoint::BaselineFiboSleep,
        "/baseline/fibo_sleep/{n}",
    ),
    (
        "/async/fibo_sleep/",
        Endpoint::AsyncFiboSleep,
        "/async/fibo_sleep/{n}",
    ),
];

/// The path of the metrics endpoint, also its label.
pub(crate) const METRICS_PATH: &str = "/metrics";

/// A request's validated work.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    /// A sleep endpoint and its sleep.
    Sleep(Endpoint, Sleep),
    /// A fibo endpoint and its `n`.
    Fibo(Endpoint, u32),
    /// `/metrics`, in OpenMetrics (`true`) or the classic text format.
    Metrics(bool),
}

/// Whether a `/metrics` request asks for OpenMetrics (Prometheus does).
fn wants_openmetrics(parts: &Parts) -> bool {
    parts.headers.get_all(header::ACCEPT).iter().any(|value| {
        value
            .as_bytes()
            .windows(19)
            .any(|w| w == b"application/openmet")
    })
}

/// Validates `n` for `endpoint` (a float for sleeps, an int for fibo).
pub(crate) fn validate_work(
    state: &AppState,
    endpoint: Endpoint,
    n: &str,
    parts: &Parts,
) -> Result<Work, ApiError> {
    Ok(match endpoint {
        Endpoint::BaselineSleep | Endpoint::AsyncSleep | Endpoint::StallSleep => {
            Work::Sleep(endpoint, validate(n, state.max_sleep)?)
        }
        Endpoint::Metrics => Work::Metrics(wants_openmetrics(parts)),
        _ => Work::Fibo(endpoint, cpu::validate(n, state.max_fibo)?),
    })
}

/// Does the work as the endpoint's model does, then answers.
pub(crate) async fn run(state: &AppState, work: Work) -> Result<Response, ApiError> {
    let body = match work {
        Work::Sleep(endpoint, sleep) => {
            match endpoint {
                Endpoint::BaselineSleep => state.pool.sleep(sleep.duration).await?,
                // The mistake on purpose: a blocking sleep on a runtime worker.
                Endpoint::StallSleep => std::thread::sleep(sleep.duration),
                _ => async_sleep(sleep.duration).await?,
            }
            sleep.body()
        }
        Work::Fibo(endpoint, n) => fibo(state, endpoint, n).await?,
        Work::Metrics(openmetrics) => return Ok(metrics_response(&state.metrics, openmetrics)),
    };
    Ok(json_response(StatusCode::OK, body))
}

/// The fibo endpoints' work and body.
async fn fibo(state: &AppState, endpoint: Endpoint, n: u32) -> Result<String, ApiError> {
    let gil = state.gil.clone();
    Ok(match endpoint {
        Endpoint::BaselineFibo => cpu::fibo_body(state.pool.run(move || gil.fibo(n)).await?),
        // The mistake on purpose: computing on a runtime worker.
        Endpoint::AsyncFibo => cpu::fibo_body(gil.fibo(n)),
        Endpoint::PoolFibo => cpu::fibo_body(state.cpu.run(move || gil.fibo(n)).await?),
        Endpoint::BaselineFiboSleep => {
            let seconds = state
                .pool
                .run(move || {
                    let seconds = cpu::fibo_seconds(gil.fibo(n));
                    std::thread::sleep(Duration::from_secs_f64(seconds));
                    seconds
                })
                .await?;
            cpu::fibo_sleep_body(seconds)
        }
        _ => {
            // Part 3's `async def`: the computation blocks the loop, the
            // sleep does not.
            let seconds = cpu::fibo_seconds(gil.fibo(n));
            async_sleep(Duration::from_secs_f64(seconds)).await?;
            cpu::fibo_sleep_body(seconds)
        }
    })
}

fn metrics_response(metrics: &Metrics, openmetrics: bool) -> Response {
    let mut response = Response::new(metrics.render(openmetrics).into());
    let content_type = if openmetrics {
        metrics::OPENMETRICS
    } else {
        metrics::TEXT
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
