//! `--metrics-addr`: the run's figures live, as Prometheus metrics, so
//! one Prometheus scraping N generators merges them while the test runs
//! (`histogram_quantile(0.99, sum by (le) (rate(speedup_bench_latency_seconds_bucket[30s])))`
//! is the fleet's p99; `speedup merge` gives the exact figure afterwards).
//!
//! * `speedup_bench_requests_total{status}`: responses by status code;
//! * `speedup_bench_errors_total{kind}`: requests without a response, by
//!   kind (every kind present from the start, at 0);
//! * `speedup_bench_late_sends_total`: sends that found every connection
//!   busy at their due time (the server's doing);
//! * `speedup_bench_target_rate`: `--rate` (0 in a closed-loop run);
//! * `speedup_bench_latency_seconds`: a histogram of the latencies,
//!   corrected for coordinated omission when there is a rate (as the
//!   interval log), timeouts in it at the timeout.
//!
//! Nothing here runs per request: the metrics are fed by the collector
//! from the seconds it writes ([`LiveMetrics::add`], once a second), so
//! they lag the run by about a second and, at its end, equal the JSON's
//! counts. The histogram's buckets ([`BOUNDS_US`]) follow the Renard R20
//! series of preferred numbers (ISO 3: 1, 1.12, 1.25, 1.4, 1.6, ... 20 per
//! decade, each about 12% above the last) from 50 µs to 63 s: Prometheus
//! interpolates within a bucket, so a quantile is off by at most one
//! bucket's width (12%), the same relative precision from a loopback answer
//! to a multi-second stall, with round bounds every generator shares, in
//! 124 series per generator. A latency goes to the first bucket whose
//! bound is at or above the top of its HDR bucket (3 significant digits:
//! exact below 2 ms, at most 0.1% high above), so no latency is counted
//! below its value; `_sum` adds the middles of the HDR buckets.

pub mod http;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::duration::parse_duration;
use crate::hist::Hist;
use crate::intervals::Interval;
use crate::recorder::{error_name, ERROR_KINDS};

/// The flags of the live metrics.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Serve Prometheus metrics at http://HOST:PORT/metrics while the run
    /// goes on (e.g. 0.0.0.0:9100; port 0 picks a free one)
    #[arg(long = "metrics-addr", value_name = "HOST:PORT", value_parser = parse_addr)]
    pub metrics_addr: Option<SocketAddr>,
    /// Keep serving /metrics this long after the run, for the last scrape
    #[arg(long = "metrics-linger", value_name = "TIME", default_value = "5s", value_parser = parse_duration)]
    pub metrics_linger: Duration,
}

/// Parses `--metrics-addr`: an address and port, a name resolved once
/// (`localhost:9100`), IPv4 preferred as the engine does.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let bad =
        |why: String| format!("{text:?}: {why}: use HOST:PORT, e.g. 0.0.0.0:9100 or 127.0.0.1:0");
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| bad("no address".into()))
}

/// The latency buckets' upper bounds, µs: R20 from 50 µs to 63 s.
pub const BOUNDS_US: [u64; 123] = bounds();

/// R20's preferred numbers, ×100.
const R20: [u64; 20] = [
    100, 112, 125, 140, 160, 180, 200, 224, 250, 280, 315, 355, 400, 450, 500, 560, 630, 710, 800,
    900,
];

const fn bounds() -> [u64; 123] {
    let mut out = [0; 123];
    // 50 µs is R20's 500 (index 14) ×10^-1 µs.
    let (mut i, mut r, mut scale) = (0, 14, 1u64);
    while i < out.len() {
        out[i] = R20[r] * scale / 10;
        i += 1;
        r += 1;
        if r == R20.len() {
            r = 0;
            scale *= 10;
        }
    }
    out
}

/// Every metric of one run, fed by the collector, read by the server.
#[derive(Debug)]
pub struct LiveMetrics {
    registry: Registry,
    requests: Family<Status, Counter>,
    errors: Family<Kind, Counter>,
    late_sends: Counter,
    latency: LatencyHistogram,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

impl LiveMetrics {
    /// The metrics of a run at `target_rate` requests per second (`None`:
    /// closed loop), every count at 0.
    pub fn new(target_rate: Option<f64>) -> LiveMetrics {
        let mut registry = Registry::with_prefix("speedup_bench");
        let requests = Family::<Status, Counter>::default();
        let errors = Family::<Kind, Counter>::default();
        let late_sends = Counter::default();
        let target = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let latency = LatencyHistogram::default();
        registry.register("requests", "Responses, by status code", requests.clone());
        registry.register(
            "errors",
            "Requests without a response, by kind",
            errors.clone(),
        );
        registry.register(
            "late_sends",
            "Sends that found every connection busy at their due time",
            late_sends.clone(),
        );
        registry.register(
            "target_rate",
            "The schedule's requests per second (0: closed loop)",
            target.clone(),
        );
        registry.register(
            "latency_seconds",
            "Latency of the responses (corrected for coordinated omission with a rate)",
            latency.clone(),
        );
        for &kind in &ERROR_KINDS {
            // Every kind at 0 from the start, so rate() sees its first errors.
            errors
                .get_or_create(&Kind {
                    kind: error_name(kind),
                })
                .inc_by(0);
        }
        target.set(target_rate.unwrap_or(0.0));
        LiveMetrics {
            registry,
            requests,
            errors,
            late_sends,
            latency,
        }
    }

    /// Adds one written second (all threads' requests that ended in it).
    pub fn add(&self, interval: &Interval) {
        let c = &interval.counts;
        for &(status, n) in &c.status {
            self.requests.get_or_create(&Status { status }).inc_by(n);
        }
        for (&kind, &n) in ERROR_KINDS.iter().zip(&c.errors) {
            if n > 0 {
                let kind = error_name(kind);
                self.errors.get_or_create(&Kind { kind }).inc_by(n);
            }
        }
        self.late_sends.inc_by(c.late_sends);
        self.latency.add(&interval.hist);
    }

    /// The exposition: OpenMetrics (ending with `# EOF`) when `openmetrics`,
    /// else Prometheus' classic text format (what `promtool check metrics`
    /// and plain clients read).
    pub fn render(&self, openmetrics: bool) -> String {
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

/// OpenMetrics text to the classic format: for what we expose they differ
/// only in a counter's family name (OpenMetrics names it without its
/// `_total`) and in the `# EOF` line. (`speedup serve`'s metrics do the same.)
fn classic(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines().filter(|&l| l != "# EOF") {
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

/// The latency histogram on [`BOUNDS_US`], filled from HDR histograms a
/// second at a time (prometheus-client's own takes one value per call).
#[derive(Debug, Clone, Default)]
struct LatencyHistogram(Arc<Mutex<Buckets>>);

#[derive(Debug)]
struct Buckets {
    /// Per bucket (the last: above every bound), not cumulative.
    counts: [u64; BOUNDS_US.len() + 1],
    sum_s: f64,
    count: u64,
}

impl Default for Buckets {
    fn default() -> Buckets {
        Buckets {
            counts: [0; BOUNDS_US.len() + 1],
            sum_s: 0.0,
            count: 0,
        }
    }
}

impl LatencyHistogram {
    fn add(&self, hist: &Hist) {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for v in hist.iter_recorded() {
            let (top, n) = (v.value_iterated_to(), v.count_at_value());
            b.counts[BOUNDS_US.partition_point(|&bound| bound < top)] += n;
            b.sum_s += hist.median_equivalent(top) as f64 * n as f64 / 1e6;
            b.count += n;
        }
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let buckets: Vec<(f64, u64)> = BOUNDS_US
            .iter()
            .map(|&us| us as f64 / 1e6)
            .chain([f64::INFINITY])
            .zip(b.counts)
            .collect();
        encoder.encode_histogram::<NoLabelSet>(b.sum_s, b.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests;
