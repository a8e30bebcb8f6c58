//! `GET /metrics`: what the server is doing, in Prometheus' text exposition
//! (OpenMetrics 1.0, as `prometheus-client` writes it).
//!
//! One [`Metrics`] per application (not a process global), so several
//! servers in one process (the tests, the lab) each count their own:
//!
//! * `speedup_http_requests_total{route,status}` and
//!   `speedup_http_request_duration_seconds{route}` (a histogram from 0.5 ms
//!   to about 30 s), one route label per endpoint template
//!   (`/baseline/sleep/{n}`), `other` for 404s and redirects;
//! * `speedup_http_requests_in_flight`;
//! * `speedup_blocking_pool_{threads,busy,queued}` and
//!   `speedup_cpu_pool_{threads,busy,queued}`: the two pools' size, the
//!   threads working now, and the requests waiting for a thread;
//! * `speedup_gil_waits_total`: computations that had to wait for `--gil`.
//!
//! Counting costs a few atomic operations per request; the label sets are
//! fixed by the routes, so the families cannot grow with what peers send.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of OpenMetrics, which Prometheus asks for in `accept`.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic text format (0.0.4), for everyone else
/// (`curl`, `promtool check metrics`).
pub(crate) const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A request's route (endpoint template) and status code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

/// A request's route alone, for the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

/// The gauges of one pool of threads.
#[derive(Clone, Debug, Default)]
pub(crate) struct PoolGauges {
    /// Threads in the pool.
    pub(crate) threads: Gauge,
    /// Threads working right now.
    pub(crate) busy: Gauge,
    /// Requests waiting for a free thread.
    pub(crate) queued: Gauge,
}

impl PoolGauges {
    fn register(&self, registry: &mut Registry, pool: &str, what: &str) {
        let registry = registry.sub_registry_with_prefix(pool);
        registry.register(
            "threads",
            format!("Threads in the {what}"),
            self.threads.clone(),
        );
        registry.register(
            "busy",
            format!("Threads of the {what} working now"),
            self.busy.clone(),
        );
        registry.register(
            "queued",
            format!("Requests waiting for a thread of the {what}"),
            self.queued.clone(),
        );
    }
}

/// Histogram buckets: 0.5 ms doubling 17 times (to about 33 s).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

/// Every metric of one application.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: Family<Route, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    /// The bounded blocking pool (`/baseline/...`).
    pub(crate) blocking: PoolGauges,
    /// The CPU pool (`/pool/fibo`).
    pub(crate) cpu: PoolGauges,
    /// Computations that waited for the global lock (`--gil`).
    pub(crate) gil_waits: Counter,
}

impl Metrics {
    /// Registers every metric, pools sized `blocking_threads` and `cpu_threads`.
    pub(crate) fn new(blocking_threads: usize, cpu_threads: usize) -> Self {
        let mut registry = Registry::with_prefix("speedup");
        let requests = Family::<RouteStatus, Counter>::default();
        let latency: Family<Route, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        let blocking = PoolGauges::default();
        let cpu = PoolGauges::default();
        let gil_waits = Counter::default();
        {
            let http = registry.sub_registry_with_prefix("http");
            http.register(
                "requests",
                "Requests answered, by route and status",
                requests.clone(),
            );
            http.register(
                "request_duration_seconds",
                "Time from the request head to the response, by route",
                latency.clone(),
            );
            http.register(
                "requests_in_flight",
                "Requests being handled now",
                in_flight.clone(),
            );
        }
        blocking.register(&mut registry, "blocking_pool", "blocking pool");
        cpu.register(&mut registry, "cpu_pool", "CPU pool");
        registry.register(
            "gil_waits",
            "Computations that waited for the global lock (--gil)",
            gil_waits.clone(),
        );
        blocking.threads.set(gauge_value(blocking_threads));
        cpu.threads.set(gauge_value(cpu_threads));
        Self {
            registry,
            requests,
            latency,
            in_flight,
            blocking,
            cpu,
            gil_waits,
        }
    }

    /// Counts a request as in flight until the returned guard is dropped
    /// (answered or cancelled alike).
    pub(crate) fn start(&self) -> Held {
        Held::new(&self.in_flight)
    }

    /// Records one answered request.
    pub(crate) fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RouteStatus { route, status })
            .inc();
        self.latency
            .get_or_create(&Route { route })
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition: OpenMetrics (ending with `# EOF`) when `openmetrics`,
    /// else the classic text format.
    pub(crate) fn render(&self, openmetrics: bool) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        if openmetrics {
            text
        } else {
            classic(&text)
        }
    }
}

/// OpenMetrics text to the classic format: the two differ, for what we
/// expose, only in that a counter's family is named with its `_total`
/// (OpenMetrics names it without) and in the `# EOF` line.
fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let family = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let name = rest.split(' ').next()?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total{}", &rest[name.len()..]))
        });
        out.push_str(family.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Holds one unit of a gauge (a busy thread, a queued request) while alive.
#[derive(Debug)]
pub(crate) struct Held(Gauge);

impl Held {
    /// Increments `gauge` until the result is dropped.
    pub(crate) fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        Held(gauge.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_counts() {
        let metrics = Metrics::new(40, 2);
        metrics.record("/async/sleep/{n}", 200, Duration::from_millis(3));
        metrics.record("/async/sleep/{n}", 200, Duration::from_millis(3));
        let held = metrics.start();
        let text = metrics.render(true);
        drop(held);
        for line in [
            r#"speedup_http_requests_total{route="/async/sleep/{n}",status="200"} 2"#,
            r#"speedup_http_request_duration_seconds_count{route="/async/sleep/{n}"} 2"#,
            r#"speedup_http_request_duration_seconds_bucket{le="0.004",route="/async/sleep/{n}"} 2"#,
            "speedup_http_requests_in_flight 1",
            "speedup_blocking_pool_threads 40",
            "speedup_cpu_pool_threads 2",
            "speedup_cpu_pool_queued 0",
            "speedup_gil_waits_total 0",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(metrics
            .render(true)
            .contains("speedup_http_requests_in_flight 0\n"));
    }

    #[test]
    fn classic_format_names_counter_families_with_total() {
        let metrics = Metrics::new(1, 1);
        let text = metrics.render(false);
        assert!(
            text.contains("# TYPE speedup_gil_waits_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP speedup_gil_waits_total Computations"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE speedup_cpu_pool_busy gauge\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }
}
