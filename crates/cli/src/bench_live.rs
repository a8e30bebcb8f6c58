//! `speedup bench --metrics-addr`: the listening socket is bound before any
//! file is created (a taken port fails first), served from a thread started
//! after the stop signals are blocked (so no signal lands on it), and kept
//! up for `--metrics-linger` after the results are written.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use speedup_bench::live::http::MetricsServer;
use speedup_bench::live::{LiveArgs, LiveMetrics};
use speedup_load::Control;

/// The socket of `--metrics-addr` and the metrics it will serve.
pub struct Bound {
    listener: TcpListener,
    metrics: Arc<LiveMetrics>,
}

impl Bound {
    /// The metrics, for the collector to feed.
    pub fn metrics(&self) -> Arc<LiveMetrics> {
        Arc::clone(&self.metrics)
    }
}

/// Binds `--metrics-addr`, if given, for a run at `rate`.
pub fn bind(args: &LiveArgs, rate: Option<f64>) -> anyhow::Result<Option<Bound>> {
    let Some(addr) = args.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr).with_context(|| {
        format!(
            "--metrics-addr {addr}: cannot listen there: choose a free port (or port 0 for any), \
             on an address of this machine"
        )
    })?;
    Ok(Some(Bound {
        listener,
        metrics: Arc::new(LiveMetrics::new(rate)),
    }))
}

/// Starts serving, and says where.
pub fn serve(bound: Bound) -> anyhow::Result<MetricsServer> {
    let server = MetricsServer::serve(bound.listener, bound.metrics)
        .context("--metrics-addr: cannot start the metrics thread")?;
    eprintln!(
        "speedup bench: serving metrics at http://{}/metrics",
        server.local_addr()
    );
    Ok(server)
}

/// Keeps serving for `linger` after the run, unless it was stopped by a
/// signal (or one arrives meanwhile).
pub fn linger(server: &MetricsServer, linger: Duration, control: &Control) {
    if linger.is_zero() || control.is_stopped() {
        return;
    }
    eprintln!(
        "speedup bench: keeping /metrics up for {linger:?} (--metrics-linger) for a last scrape"
    );
    server.linger(linger, || control.is_stopped());
}
