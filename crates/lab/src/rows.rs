//! A scenario's figures as `summary.json` holds them (schema
//! `speedup-lab/1`): the lab's format, kept here rather than in the page's
//! row type, so the page may change without changing the file.

use serde::Serialize;
use speedup_report::html::ScenarioRow;

/// One scenario in `summary.json`.
#[derive(Debug, Serialize)]
pub struct ScenarioJson<'a> {
    /// Scenario name, e.g. `baseline`.
    pub name: &'a str,
    /// The URL that was loaded.
    pub url: &'a str,
    /// Requests completed.
    pub requests: u64,
    /// Requests kept in flight.
    pub concurrency: u64,
    /// Mean requests per second over the run.
    pub rps: f64,
    /// Median response time, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest response, ms.
    pub max_ms: f64,
    /// Requests that failed.
    pub failures: u64,
    /// Responses with a status outside 2xx.
    pub non_2xx: u64,
    /// The article's own figure, if any.
    pub article: Option<&'a str>,
    /// Why it came out this way.
    pub why: &'a str,
}

impl<'a> From<&'a ScenarioRow> for ScenarioJson<'a> {
    fn from(r: &'a ScenarioRow) -> ScenarioJson<'a> {
        ScenarioJson {
            name: &r.name,
            url: &r.url,
            requests: r.requests,
            concurrency: r.concurrency,
            rps: r.rps,
            p50_ms: r.p50_ms,
            p90_ms: r.p90_ms,
            p95_ms: r.p95_ms,
            p99_ms: r.p99_ms,
            max_ms: r.max_ms,
            failures: r.failures,
            non_2xx: r.non_2xx,
            article: r.article.as_deref(),
            why: &r.why,
        }
    }
}
