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
    /// `--rate`, if any.
    pub target_rate: Option<f64>,
    /// From the end of the warm-up to the last recorded request's end.
    pub duration: Duration,
    /// All threads' tallies merged.
    pub tally: Tally,
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

    /// Recorded requests per second over [`BenchResult::duration`].
    pub fn achieved_rate(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.total() as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The engine could not start.
    #[error(transparent)]
    Run(#[from] RunError),
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
    let started = Instant::now();
    let base_time = SystemTime::now() + plan.warmup;
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
                BenchRecorder::new(thread, warmup_us, Some(Arc::clone(&sink)))
            },
            control,
        );
        drop(running);
        let collector = watcher
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (output, collector)
    });
    let output = output?;
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
        target_rate: plan.engine.rate,
        duration: Duration::from_micros(tally.last_done_us),
        tally,
    })
}
