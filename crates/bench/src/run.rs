//! Running a bench plan: the engine with one [`BenchRecorder`] per worker
//! thread, beside a collector thread that writes the per-second series and
//! reports progress; then the merged result.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use speedup_load::{Control, RunError};

use crate::intervals::{Collector, IntervalSink, SeriesWriters, SoFar};
use crate::plan::BenchPlan;
use crate::recorder::{BenchRecorder, Tally};
use crate::start::StartError;

/// How often the collector writes finished seconds and reports progress.
const TICK: Duration = Duration::from_millis(200);

/// Live figures for a progress line.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Since the run started (warm-up included).
    pub elapsed: Duration,
    /// Requests finished so far, warm-up included.
    pub completed: u64,
    /// Errors in the seconds written so far.
    pub errors: u64,
    /// p99 of the seconds written so far, µs (corrected with a rate).
    pub p99_us: u64,
}

/// Receives progress while a run goes on (the CLI draws it; tests ignore it).
pub trait Observer: Sync {
    /// Called a few times a second from the collector thread.
    fn progress(&self, _progress: &Progress) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// The URL as given.
    pub url: String,
    /// Connections.
    pub connections: u32,
    /// Worker threads.
    pub threads: usize,
    /// `--rate` (or the mean of `--stages`), if any.
    pub target_rate: Option<f64>,
    /// With `--targets`: each target's method and path (its figures are
    /// `tally.targets`, in the same order).
    pub targets: Vec<(String, String)>,
    /// `--stages`, if any (the starting rate is `--rate`, else 0).
    pub stages: Vec<speedup_load::Stage>,
    /// `http/1.1`, `http/1.0` or `h2`.
    pub protocol: &'static str,
    /// With `--streams`: requests in flight per connection.
    pub streams: u32,
    /// With `--batch-sends`: the period sends were batched into.
    pub send_batch: Option<Duration>,
    /// `--http2` over TLS: the server chose this by ALPN, not `h2` (the
    /// run stopped at once).
    pub alpn_refused: Option<String>,
    /// From the end of the warm-up to the last recorded request's end.
    pub duration: Duration,
    /// The per-request limit: timed-out requests are in the latency
    /// histograms at this value.
    pub timeout: Duration,
    /// All threads' tallies merged.
    pub tally: Tally,
    /// The run stopped early: nothing could be reached at the URL's address
    /// (no connection a second in, and a connect failed).
    pub unreachable: bool,
    /// When the measured part started on the wall clock (the end of the
    /// warm-up; `--start-at` when given): the interval log's `StartTime`.
    pub started: SystemTime,
}

impl BenchResult {
    /// Whether latencies are also corrected (an open-loop run).
    pub fn open_loop(&self) -> bool {
        self.target_rate.is_some()
    }

    /// Recorded requests: responses and errors.
    pub fn total(&self) -> u64 {
        self.tally.responses() + self.tally.error_count()
    }

    /// Responses with a 2xx status.
    pub fn ok(&self) -> u64 {
        self.tally.status[200..300].iter().sum()
    }

    /// Requests sent per second. Open loop: over the send window, from the
    /// first recorded request's due time to the last send (n requests sent
    /// on schedule span n − 1 intervals of 1/rate), so a generator that kept
    /// its schedule achieves its target however long the answers took.
    /// Closed loop: the completion rate.
    pub fn achieved_rate(&self) -> f64 {
        match self.tally.send_window_us {
            Some((first, last)) if self.open_loop() && last > first => {
                (self.total() - 1) as f64 / ((last - first) as f64 / 1e6)
            }
            _ => self.completion_rate(),
        }
    }

    /// Recorded requests per second over [`BenchResult::duration`] (end of
    /// the warm-up to the last response).
    pub fn completion_rate(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.total() as f64 / secs
        } else {
            0.0
        }
    }

    /// The latency at or above which a value stands for a timeout (the
    /// timeout, when any request timed out), µs.
    pub fn timeout_floor_us(&self) -> Option<u64> {
        let timeouts =
            self.tally.errors[crate::recorder::error_index(speedup_load::ErrorKind::Timeout)];
        (timeouts > 0).then_some(self.timeout.as_micros() as u64)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The engine could not start.
    #[error(transparent)]
    Run(#[from] RunError),
    /// `--start-at` had passed when the run was ready.
    #[error(transparent)]
    Start(#[from] crate::start::StartError),
    /// A series file could not be written.
    #[error("cannot write the {what} file: {source}")]
    Write {
        /// `--timeline` or `--hdr-log`.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `plan`, writing the per-second series to `writers` as it goes.
/// `control` stops it early: [`Control::stop`] lets the requests in flight
/// finish (each within the plan's timeout), [`Control::abort`] cuts them;
/// either way the result holds what was recorded, and the series every
/// second of it.
pub fn run(
    plan: &BenchPlan,
    writers: SeriesWriters,
    observer: &dyn Observer,
    control: &Control,
) -> Result<BenchResult, BenchError> {
    // Only the series files are written while the run goes on.
    let write_error = |source| BenchError::Write {
        what: "--timeline/--hdr-log",
        source,
    };
    let sink = Arc::new(IntervalSink::new(plan.threads()));
    let warmup_us = plan.warmup.as_micros() as u64;
    let timeout_us = plan.engine.timeout.as_micros() as u64;
    let targets = plan.engine.mix.len();
    let started = Instant::now();
    let base_time = plan
        .engine
        .start
        .map_or_else(|| SystemTime::now() + plan.warmup, |s| s.at);
    let mut collector = Collector::new(&sink, writers, base_time);
    let what = if plan.open_loop() {
        "Latency corrected for coordinated omission (from each request's due time)"
    } else {
        "Latency from each request's send (closed loop)"
    };
    collector
        .begin(what, plan.open_loop())
        .map_err(write_error)?;
    let (output, collector) = std::thread::scope(|scope| {
        // Dropped when the run ends (or unwinds): the collector stops at once.
        let (running, ended) = mpsc::channel::<()>();
        let watcher = scope.spawn(move || -> std::io::Result<Collector<'_>> {
            while let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(TICK) {
                let so_far: SoFar = collector.collect()?.clone();
                observer.progress(&Progress {
                    elapsed: started.elapsed(),
                    completed: control.completed(),
                    errors: so_far.errors,
                    p99_us: so_far.p99_us,
                });
            }
            Ok(collector)
        });
        let next_thread = AtomicUsize::new(0);
        let output = speedup_load::run(
            &plan.engine,
            || {
                let thread = next_thread.fetch_add(1, Ordering::Relaxed);
                BenchRecorder::new(
                    thread,
                    warmup_us,
                    timeout_us,
                    targets,
                    Some(Arc::clone(&sink)),
                )
            },
            control,
        );
        drop(running);
        let collector = watcher
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (output, collector)
    });
    let output = output.map_err(|e| match e {
        RunError::StartPassed { by, late_ok } => BenchError::Start(StartError::Passed {
            at: humantime::format_rfc3339_millis(base_time).to_string(),
            by,
            late_ok,
        }),
        other => BenchError::Run(other),
    })?;
    let unreachable = output.unreachable;
    let alpn_refused = output.alpn_refused.clone();
    let mut collector = collector.map_err(write_error)?;
    let mut tally = Tally::default();
    for recorder in output.recorders {
        let (t, last) = recorder.finish();
        tally.merge(&t);
        collector.merge(last);
    }
    collector
        .collect_all(tally.last_done_us)
        .map_err(write_error)?;
    collector.finish().map_err(write_error)?;
    Ok(BenchResult {
        url: plan.url.clone(),
        connections: plan.engine.concurrency,
        threads: plan.threads(),
        target_rate: plan.engine.rate_profile().map(|p| p.mean()),
        targets: plan.targets.clone(),
        stages: plan.engine.stages.clone(),
        protocol: match (plan.engine.http2, plan.engine.version) {
            (true, _) => "h2",
            (false, speedup_load::HttpVersion::Http10) => "http/1.0",
            (false, _) => "http/1.1",
        },
        streams: plan.engine.streams,
        send_batch: plan.engine.send_batch,
        alpn_refused,
        duration: Duration::from_micros(tally.last_done_us),
        timeout: plan.engine.timeout,
        tally,
        unreachable,
        started: base_time,
    })
}
