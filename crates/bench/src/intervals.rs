//! The run's time series: each worker ships a histogram per finished
//! second; the collector merges the threads' seconds, and once every thread
//! is past a second, writes it out (timeline row, interval-log entry),
//! flushes the files and drops it. Memory stays constant however long the
//! run, and the files on disk hold every complete second even if the
//! process is killed.
//!
//! The interval log's untagged intervals hold the run's primary latencies
//! (corrected in an open-loop run, as wrk2's do); an open-loop run also
//! writes each second's uncorrected latencies as a second series tagged
//! [`UNCORRECTED_TAG`] (`Tag=` is part of the interval-log format: readers
//! that know no tags, HdrHistogram's own log processor included, take the
//! untagged series). A `#[Latency: corrected]` or `#[Latency: uncorrected]`
//! comment line says which the untagged intervals are ([`LATENCY_MARK`]).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use speedup_stats::{hist_percentile, ms_f64};

use crate::counts::SecondCounts;
use crate::hist::{add, new_hist, Hist, SIGFIG};
use crate::live::LiveMetrics;

/// One second of one thread (or, merged, of the run).
#[derive(Debug, Clone)]
pub struct Interval {
    /// Seconds since the end of the warm-up.
    pub second: u64,
    /// Latencies of the responses that ended in this second, µs (corrected
    /// in an open-loop run).
    pub hist: Hist,
    /// In an open-loop run, the same responses' uncorrected latencies
    /// (empty in a closed-loop run, where `hist` is uncorrected already).
    pub uncorrected: Hist,
    /// Requests that ended in this second, responses and errors.
    pub requests: u64,
    /// Of those, requests without a response.
    pub errors: u64,
    /// Counts by status and error kind, and late sends (filled when the
    /// second is shipped).
    pub counts: SecondCounts,
}

impl Interval {
    /// An empty second; its histogram grows only as far as its values.
    pub fn new(second: u64) -> Interval {
        Interval {
            second,
            // Auto-resizing: a second of fast answers stays a few KB.
            hist: Histogram::new(SIGFIG).expect("valid histogram precision"),
            uncorrected: Histogram::new(SIGFIG).expect("valid histogram precision"),
            requests: 0,
            errors: 0,
            counts: SecondCounts::default(),
        }
    }

    fn absorb(&mut self, other: &Interval) {
        add(&mut self.hist, &other.hist);
        add(&mut self.uncorrected, &other.uncorrected);
        self.requests += other.requests;
        self.errors += other.errors;
        self.counts.absorb(&other.counts);
    }
}

/// The comment that says which latencies a log's untagged intervals hold:
/// followed by `corrected` or `uncorrected`, then `]` or `;`.
pub const LATENCY_MARK: &str = "#[Latency: ";

/// The tag of an open-loop log's second series, the uncorrected latencies.
pub const UNCORRECTED_TAG: &str = "uncorrected";

/// Where worker threads hand their finished seconds; one lock per thread
/// per second, never per request.
#[derive(Debug)]
pub struct IntervalSink {
    state: Mutex<SinkState>,
}

#[derive(Debug)]
struct SinkState {
    shipped: Vec<Interval>,
    /// Per thread: every second below this one has been shipped.
    past: Vec<u64>,
}

impl IntervalSink {
    /// A sink for `threads` worker threads.
    pub fn new(threads: usize) -> IntervalSink {
        IntervalSink {
            state: Mutex::new(SinkState {
                shipped: Vec::new(),
                past: vec![0; threads],
            }),
        }
    }

    /// Thread `thread` has finished `interval` and moved past it.
    pub fn ship(&self, thread: usize, interval: Interval) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = state.past.get_mut(thread) {
            *p = (*p).max(interval.second + 1);
        }
        state.shipped.push(interval);
    }

    /// Takes what was shipped, and the first second some thread may still
    /// add to.
    fn drain(&self) -> (Vec<Interval>, u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let open = state.past.iter().copied().min().unwrap_or(0);
        (std::mem::take(&mut state.shipped), open)
    }
}

/// The files the collector writes as the seconds complete.
#[derive(Default)]
pub struct SeriesWriters {
    /// `--timeline`: one CSV row per second.
    pub timeline: Option<Box<dyn Write + Send>>,
    /// `--hdr-log`: one interval histogram per second.
    pub hdr_log: Option<Box<dyn Write + Send>>,
    /// `--metrics-addr`: the live metrics, fed each second.
    pub metrics: Option<Arc<LiveMetrics>>,
}

/// What the collector knows so far, for the progress line.
#[derive(Debug, Clone, Default)]
pub struct SoFar {
    /// Errors in the written seconds.
    pub errors: u64,
    /// p99 of the written seconds, µs.
    pub p99_us: u64,
}

/// Merges the threads' seconds and writes each complete one, in order,
/// including seconds in which nothing completed.
pub struct Collector<'a> {
    sink: &'a IntervalSink,
    pending: BTreeMap<u64, Interval>,
    next: u64,
    total: Hist,
    so_far: SoFar,
    timeline: Option<Box<dyn Write + Send>>,
    hdr_log: Option<Box<dyn Write + Send>>,
    metrics: Option<Arc<LiveMetrics>>,
    serializer: V2DeflateSerializer,
    base_time: SystemTime,
    /// The untagged series is corrected, and the uncorrected one is
    /// written beside it.
    corrected: bool,
}

impl<'a> Collector<'a> {
    /// A collector reading `sink`; interval timestamps count from
    /// `base_time` (the end of the warm-up).
    pub fn new(
        sink: &'a IntervalSink,
        writers: SeriesWriters,
        base_time: SystemTime,
    ) -> Collector<'a> {
        Collector {
            sink,
            pending: BTreeMap::new(),
            next: 0,
            total: new_hist(),
            so_far: SoFar::default(),
            timeline: writers.timeline,
            hdr_log: writers.hdr_log,
            metrics: writers.metrics,
            serializer: V2DeflateSerializer::new(),
            base_time,
            corrected: false,
        }
    }

    /// Writes the headers: the timeline's column names; the interval log's
    /// version, `what` comment, StartTime, BaseTime and column legend, as
    /// HdrHistogram's Java `HistogramLogWriter` does, and the
    /// [`LATENCY_MARK`] line. `corrected`: the run is open loop, so its
    /// primary latencies are corrected and the uncorrected ones are written
    /// too, tagged [`UNCORRECTED_TAG`].
    pub fn begin(&mut self, what: &str, corrected: bool) -> io::Result<()> {
        self.corrected = corrected;
        if let Some(w) = &mut self.timeline {
            writeln!(w, "second,requests,errors,p50_ms,p99_ms,max_ms")?;
        }
        if let Some(w) = &mut self.hdr_log {
            let secs = self
                .base_time
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            writeln!(
                w,
                "#[Logged with speedup bench {}]",
                env!("CARGO_PKG_VERSION")
            )?;
            writeln!(w, "#[Histogram log format version 1.3]")?;
            writeln!(w, "#[{what}; values and Interval_Max in microseconds]")?;
            if corrected {
                writeln!(
                    w,
                    "{LATENCY_MARK}corrected; the Tag={UNCORRECTED_TAG} intervals hold the same \
                     requests' latencies from their actual send]"
                )?;
            } else {
                writeln!(w, "{LATENCY_MARK}uncorrected]")?;
            }
            writeln!(w, "#[StartTime: {secs:.3} (seconds since epoch)]")?;
            writeln!(w, "#[BaseTime: {secs:.3} (seconds since epoch)]")?;
            writeln!(
                w,
                "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
            )?;
        }
        self.flush()
    }

    /// Takes what the threads shipped and writes every second all threads
    /// are past.
    pub fn collect(&mut self) -> io::Result<&SoFar> {
        self.collect_upto(None)
    }

    /// At the end of the run: writes everything left; the last second ends
    /// at `end_us` (µs after the warm-up), so its interval is not a full second.
    pub fn collect_all(&mut self, end_us: u64) -> io::Result<&SoFar> {
        self.collect_upto(Some(end_us))
    }

    fn collect_upto(&mut self, end_us: Option<u64>) -> io::Result<&SoFar> {
        let all = end_us.is_some();
        let (shipped, open) = self.sink.drain();
        for interval in shipped {
            self.merge(interval);
        }
        let upto = if all {
            self.pending
                .keys()
                .next_back()
                .map_or(self.next, |&s| s + 1)
        } else {
            open
        };
        let mut wrote = false;
        while self.next < upto {
            let second = self.next;
            let interval = self
                .pending
                .remove(&second)
                .unwrap_or_else(|| Interval::new(second));
            let length = match end_us {
                Some(end) if second + 1 == upto => {
                    let used = end.saturating_sub(second * 1_000_000);
                    Duration::from_micros(used.clamp(1_000, 1_000_000))
                }
                _ => Duration::from_secs(1),
            };
            self.write(&interval, length)?;
            if let Some(metrics) = &self.metrics {
                metrics.add(&interval);
            }
            self.next += 1;
            wrote = true;
        }
        if wrote {
            // Each complete second reaches the files at once: a run killed
            // outright (SIGKILL, a crash) leaves every second before it.
            self.flush()?;
        }
        Ok(&self.so_far)
    }

    /// Adds an interval a thread could not ship (its last, unfinished one).
    pub fn merge(&mut self, interval: Interval) {
        // A late straggler for a second already written joins the next one.
        let second = interval.second.max(self.next);
        self.pending
            .entry(second)
            .or_insert_with(|| Interval::new(second))
            .absorb(&interval);
    }

    /// Flushes the files.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(w) = &mut self.timeline {
            w.flush()?;
        }
        if let Some(w) = &mut self.hdr_log {
            w.flush()?;
        }
        Ok(())
    }

    fn write(&mut self, interval: &Interval, length: Duration) -> io::Result<()> {
        add(&mut self.total, &interval.hist);
        self.so_far.errors += interval.errors;
        self.so_far.p99_us = hist_percentile(&self.total, 99.0);
        let h = &interval.hist;
        if let Some(w) = &mut self.timeline {
            if h.is_empty() {
                writeln!(
                    w,
                    "{},{},{},,,",
                    interval.second, interval.requests, interval.errors
                )?;
            } else {
                writeln!(
                    w,
                    "{},{},{},{:.3},{:.3},{:.3}",
                    interval.second,
                    interval.requests,
                    interval.errors,
                    ms_f64(hist_percentile(h, 50.0)),
                    ms_f64(hist_percentile(h, 99.0)),
                    ms_f64(h.max()),
                )?;
            }
        }
        if let Some(w) = &mut self.hdr_log {
            let mut log =
                IntervalLogWriterBuilder::new().begin_log_with(w, &mut self.serializer)?;
            let start = Duration::from_secs(interval.second);
            log.write_histogram(h, start, length, None)
                .map_err(|e| io::Error::other(e.to_string()))?;
            if self.corrected {
                log.write_histogram(
                    &interval.uncorrected,
                    start,
                    length,
                    Tag::new(UNCORRECTED_TAG),
                )
                .map_err(|e| io::Error::other(e.to_string()))?;
            }
        }
        Ok(())
    }
}
