//! `speedup merge`: adds the interval histograms of several HdrHistogram
//! logs exactly, so N load generators give one correct set of percentiles
//! (averaging their percentiles cannot).

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use serde_json::{json, Value};

use crate::hist::{add, new_hist, Hist};

/// The merged logs.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The files, in the order given.
    pub files: Vec<PathBuf>,
    /// Interval histograms read, over all files.
    pub intervals: u64,
    /// Every value of every interval.
    pub hist: Hist,
    /// From the earliest interval start to the latest interval end, over all
    /// files, in absolute time (StartTime/BaseTime plus the timestamps).
    pub span: Duration,
}

impl Merged {
    /// Values per second over [`Merged::span`].
    pub fn rate(&self) -> f64 {
        let secs = self.span.as_secs_f64();
        if secs > 0.0 {
            self.hist.len() as f64 / secs
        } else {
            0.0
        }
    }
}

/// Why the logs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No file given.
    #[error("no log given: name the --hdr-log files of the runs to merge")]
    NoFiles,
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not an interval-log line.
    #[error("{file}: not an HdrHistogram interval log (unreadable line at byte {offset}); write one with `speedup bench --hdr-log FILE`")]
    Parse {
        /// The file.
        file: String,
        /// Where the bad line starts.
        offset: usize,
    },
    /// An interval's histogram could not be decoded.
    #[error("{file}: interval {index} holds no valid compressed histogram: {reason}")]
    Histogram {
        /// The file.
        file: String,
        /// 1-based interval number in the file.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Reads and adds every interval of every file.
pub fn merge(files: &[PathBuf]) -> Result<Merged, MergeError> {
    if files.is_empty() {
        return Err(MergeError::NoFiles);
    }
    let mut merged = Merged {
        files: files.to_vec(),
        intervals: 0,
        hist: new_hist(),
        span: Duration::ZERO,
    };
    let mut bounds = None;
    for file in files {
        read_one(file, &mut merged, &mut bounds)?;
    }
    if let Some((f, l)) = bounds {
        merged.span = Duration::from_secs_f64((l - f).max(0.0));
    }
    Ok(merged)
}

/// Adds one file's intervals, widening `bounds` (the earliest start and
/// latest end of a non-empty interval so far) in seconds since the epoch
/// (or since the file's base when it has none).
fn read_one(
    file: &Path,
    merged: &mut Merged,
    bounds: &mut Option<(f64, f64)>,
) -> Result<(), MergeError> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|source| MergeError::Read {
        file: name.clone(),
        source,
    })?;
    let mut deserializer = Deserializer::new();
    let mut base = 0.0;
    let mut index = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| match e {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                MergeError::Parse {
                    file: name.clone(),
                    offset,
                }
            }
        })?;
        match entry {
            LogEntry::BaseTime(t) => base = t.as_secs_f64(),
            LogEntry::StartTime(t) if base == 0.0 => base = t.as_secs_f64(),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(interval) => {
                index += 1;
                let bad = |reason: String| MergeError::Histogram {
                    file: name.clone(),
                    index,
                    reason,
                };
                let raw = STANDARD
                    .decode(interval.encoded_histogram())
                    .map_err(|e| bad(format!("bad base64: {e}")))?;
                let h: Hist = deserializer
                    .deserialize(&mut raw.as_slice())
                    .map_err(|e| bad(e.to_string()))?;
                add(&mut merged.hist, &h);
                merged.intervals += 1;
                let start = base + interval.start_timestamp().as_secs_f64();
                let end = start + interval.duration().as_secs_f64();
                if !h.is_empty() {
                    *bounds =
                        Some(bounds.map_or((start, end), |(f, l)| (f.min(start), l.max(end))));
                }
            }
        }
    }
    Ok(())
}

/// The JSON of a merge, schema `speedup-merge/1`.
pub fn to_json(m: &Merged) -> Value {
    json!({
        "schema": "speedup-merge/1",
        "files": m.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "intervals": m.intervals,
        "requests": { "total": m.hist.len() },
        "span_s": m.span.as_secs_f64(),
        "rate": { "achieved": m.rate() },
        "latency_ms": crate::json::latency_json(&m.hist),
    })
}
