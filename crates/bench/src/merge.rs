//! `speedup merge`: adds the interval histograms of several HdrHistogram
//! logs exactly, so N load generators give one correct set of percentiles
//! (averaging their percentiles cannot).
//!
//! Nothing in a log is trusted: files are read a line at a time with a cap
//! on the line's length (`merge /dev/zero` is refused, not read into
//! memory), each histogram is decoded by [`decode`] within the bounds its
//! own header allows, timestamps and counts must be ones a run can write,
//! and every refusal names the file and line. Memory stays constant
//! whatever the number of intervals.

mod common;
mod decode;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::{json, Value};

use crate::hist::{new_hist, Hist};
pub use common::Common;
pub use decode::{DecodeError, MAX_PAYLOAD};

/// The longest line read: a histogram of the widest range at full
/// precision, compressed and base64-encoded, fits many times over.
pub const MAX_LINE: usize = 4 << 20;

/// The most values a merge adds up: 2^53 (9.0e15, a million requests a
/// second for 285 years), so every count is exact as a float too. Counts
/// beyond it are a corrupt or forged log, not a run.
pub const MAX_VALUES: u64 = 1 << 53;

/// The latest timestamp accepted, in seconds (since the epoch or the log's
/// base): 10^10 s, in the year 2286.
pub const MAX_SECONDS: f64 = 1e10;

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
    /// Files whose last line had no newline (a write cut short): that line
    /// was left out.
    pub unterminated: Vec<PathBuf>,
    /// Where the logs overlap (`None` when they hold no value).
    pub common: Option<Common>,
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
    /// A line longer than [`MAX_LINE`].
    #[error("{file}:{line}: a line longer than {} MiB: not an HdrHistogram interval log", MAX_LINE >> 20)]
    LongLine {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
    },
    /// A line is not an interval-log line.
    #[error("{file}:{line}: not an HdrHistogram interval log line; write one with `speedup bench --hdr-log FILE`")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
    },
    /// A timestamp no run can have written.
    #[error(
        "{file}:{line}: {what} of {seconds} s is past the year 2286 (10^10 s): the log is corrupt"
    )]
    Timestamp {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
        /// Which timestamp.
        what: &'static str,
        /// Its value.
        seconds: f64,
    },
    /// An interval's histogram could not be decoded.
    #[error("{file}:{line}: the interval's histogram {source}")]
    Histogram {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
        /// Why.
        source: DecodeError,
    },
    /// The counts add up to more than [`MAX_VALUES`].
    #[error("{file}:{line}: the counts so far add up to more than 2^53 values, more than any run records: the log is corrupt")]
    Saturated {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
    },
}

/// Reads and adds every interval of every file.
pub fn merge(files: &[PathBuf]) -> Result<Merged, MergeError> {
    if files.is_empty() {
        return Err(MergeError::NoFiles);
    }
    let mut hist = new_hist();
    // A foreign log may hold values past bench's hour.
    hist.auto(true);
    let mut merged = Merged {
        files: files.to_vec(),
        intervals: 0,
        hist,
        span: Duration::ZERO,
        unterminated: Vec::new(),
        common: None,
    };
    let mut reader = Reader::default();
    let mut spans = common::Spans::default();
    for file in files {
        reader.read(file, &mut merged)?;
        spans.push(file, reader.file_bounds.take());
    }
    spans.longest = reader.longest;
    merged.common = common::find(files, &spans, &mut reader, &mut merged)?;
    if let Some((first, last)) = reader.bounds {
        // Both within MAX_SECONDS of the epoch (or a base): a valid duration.
        merged.span = Duration::from_secs_f64((last - first).max(0.0));
    }
    Ok(merged)
}

/// What is kept from file to file: the decoder's buffers, the line buffer,
/// and the earliest start and latest end of a non-empty interval so far,
/// in seconds since the epoch (or since a file's base when it has none).
#[derive(Default)]
struct Reader {
    decoder: decode::Decoder,
    line: Vec<u8>,
    bounds: Option<(f64, f64)>,
    /// The same, of the file being read.
    file_bounds: Option<(f64, f64)>,
    /// The longest interval, seconds.
    longest: f64,
    /// The second pass of [`common::find`]: the common span.
    window: Option<common::Window>,
}

impl Reader {
    /// Adds one file's intervals, a line at a time.
    fn read(&mut self, file: &Path, merged: &mut Merged) -> Result<(), MergeError> {
        let name = file.display().to_string();
        let read_error = |source| MergeError::Read {
            file: name.clone(),
            source,
        };
        let mut input = BufReader::with_capacity(64 << 10, File::open(file).map_err(read_error)?);
        let mut base = 0.0;
        let mut number = 0;
        loop {
            self.line.clear();
            let limit = MAX_LINE as u64 + 1;
            let n = (&mut input)
                .take(limit)
                .read_until(b'\n', &mut self.line)
                .map_err(read_error)?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            if self.line.last() != Some(&b'\n') {
                if self.line.len() > MAX_LINE {
                    return Err(MergeError::LongLine {
                        file: name.clone(),
                        line: number,
                    });
                }
                // The last line, without its newline: a write cut short.
                merged.unterminated.push(file.to_path_buf());
                return Ok(());
            }
            let at = Line {
                file: &name,
                number,
            };
            self.entry(&at, &mut base, merged)?;
        }
    }

    /// Handles the line in `self.line`.
    fn entry(&mut self, at: &Line, base: &mut f64, merged: &mut Merged) -> Result<(), MergeError> {
        let entry = match IntervalLogIterator::new(&self.line).next() {
            // A comment or the column legend.
            None => return Ok(()),
            Some(Err(_)) => return Err(at.error(|file, line| MergeError::Parse { file, line })),
            Some(Ok(entry)) => entry,
        };
        let interval = match entry {
            LogEntry::BaseTime(t) => {
                *base = at.seconds("BaseTime", t)?;
                return Ok(());
            }
            LogEntry::StartTime(t) => {
                let t = at.seconds("StartTime", t)?;
                if *base == 0.0 {
                    *base = t;
                }
                return Ok(());
            }
            LogEntry::Interval(interval) => interval,
        };
        let start = *base + at.seconds("the interval's start", interval.start_timestamp())?;
        let end = start + at.seconds("the interval's length", interval.duration())?;
        if self.window.is_some_and(|w| w.holds(start, end)) {
            return Ok(());
        }
        let decoded = self
            .decoder
            .decode(interval.encoded_histogram())
            .map_err(|source| {
                at.error(|file, line| MergeError::Histogram { file, line, source })
            })?;
        if let Some(window) = &mut self.window {
            window.count_outside(start, end, decoded.total);
            return Ok(());
        }
        if merged.hist.len() + decoded.total > MAX_VALUES {
            return Err(at.error(|file, line| MergeError::Saturated { file, line }));
        }
        for &(value, count) in decoded.counts {
            // Within MAX_VALUES, and auto-resizing: cannot fail.
            let _ = merged.hist.record_n(value, count);
        }
        merged.intervals += 1;
        self.longest = self.longest.max(end - start);
        if decoded.total > 0 {
            self.bounds = Some(
                self.bounds
                    .map_or((start, end), |(f, l)| (f.min(start), l.max(end))),
            );
            let file = self.file_bounds.get_or_insert((start, end));
            *file = (file.0.min(start), file.1.max(end));
        }
        Ok(())
    }
}

/// Where a line is, for its errors.
struct Line<'a> {
    file: &'a str,
    number: u64,
}

impl Line<'_> {
    fn error(&self, make: impl FnOnce(String, u64) -> MergeError) -> MergeError {
        make(self.file.to_string(), self.number)
    }

    /// A timestamp in seconds, refused past [`MAX_SECONDS`].
    fn seconds(&self, what: &'static str, t: Duration) -> Result<f64, MergeError> {
        let seconds = t.as_secs_f64();
        if seconds > MAX_SECONDS {
            return Err(self.error(|file, line| MergeError::Timestamp {
                file,
                line,
                what,
                seconds,
            }));
        }
        Ok(seconds)
    }
}

/// The JSON of a merge, schema `speedup-merge/1`.
pub fn to_json(m: &Merged) -> Value {
    json!({
        "schema": "speedup-merge/1",
        "files": m.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "intervals": m.intervals,
        "requests": { "total": m.hist.len() },
        "span_s": m.span.as_secs_f64(),
        "common_span_s": m.common.as_ref().map(|c| c.span.as_secs_f64()),
        "start_spread_s": m.common.as_ref().map(|c| c.start_spread().as_secs_f64()),
        "rate": {
            "achieved": m.rate(),
            "common": m.common.as_ref().map(Common::rate),
        },
        "latency_ms": crate::json::latency_json(&m.hist),
    })
}
