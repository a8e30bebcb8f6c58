//! `speedup merge`: adds the interval histograms of several HdrHistogram
//! logs exactly, so N load generators give one correct set of percentiles
//! (averaging their percentiles cannot).
//!
//! Nothing in a log is trusted: files are read a line at a time with a cap
//! on the line's length (`merge /dev/zero` is refused, not read into
//! memory), each histogram is decoded by [`decode`] within the bounds its
//! own header allows, timestamps and counts must be ones a run can write,
//! and every refusal names the file and line ([`log`] reads, for `compare`,
//! `report` and `plot` too). Memory stays constant whatever the number of
//! intervals. Logs that say they hold corrected latencies are never added
//! to logs that say uncorrected.

mod common;
mod decode;
mod log;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::hist::{new_hist, Hist};
use crate::intervals::UNCORRECTED_TAG;
pub use common::Common;
pub use decode::{DecodeError, MAX_PAYLOAD};
pub use log::{read_logs, Latency, LogInterval, LogsRead};

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
    /// Untagged interval histograms read, over all files.
    pub intervals: u64,
    /// Every value of every untagged interval.
    pub hist: Hist,
    /// Every value of the `Tag=uncorrected` intervals (an open-loop run's
    /// uncorrected latencies), if there were any.
    pub uncorrected: Option<Hist>,
    /// Which latencies `hist` holds, as the files' headers say.
    pub latency: Latency,
    /// Intervals with another tag, left out.
    pub other_tags: u64,
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

/// The log reader and the histogram decoder, for the fuzz targets in
/// `fuzz/` (feature `fuzzing`, never on in normal builds).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use std::path::Path;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::decode::Decoder;
    use super::log::Reader;
    use super::MAX_VALUES;

    /// Reads `data` as one interval log, as `merge` reads a file, and checks
    /// what must hold whatever the bytes: no panic, each interval's counts
    /// by rising value and adding up to its total.
    pub fn read_interval_log(data: &[u8]) {
        let mut reader = Reader::default();
        let _ = reader.read_from(Path::new("fuzz.hlog"), data, &mut |interval| {
            check(interval.counts, interval.total);
            Ok(())
        });
    }

    /// Decodes `raw` (the bytes under an interval's base64) as one
    /// interval's histogram, with the same checks.
    pub fn decode_histogram(raw: &[u8]) {
        let mut decoder = Decoder::default();
        if let Ok(decoded) = decoder.decode(&STANDARD.encode(raw)) {
            check(decoded.counts, decoded.total);
        }
    }

    fn check(counts: &[(u64, u64)], total: u64) {
        assert!(total <= MAX_VALUES);
        assert!(counts.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), total);
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
    /// One log holds corrected latencies, another uncorrected.
    #[error("{first} holds {first_kind} latencies but {other} holds {other_kind} ones: they measure different things and cannot be added or compared (corrected ones come from an open-loop run, --rate; use logs of runs in the same mode)")]
    MixedLatency {
        /// The first file that said which.
        first: String,
        /// What it holds.
        first_kind: &'static str,
        /// A file that says otherwise.
        other: String,
        /// What it holds.
        other_kind: &'static str,
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
    /// The same log named twice (its values would count twice).
    #[error(
        "{file} is named twice{}: each log is added once; name it once",
        if .again == .file { String::new() } else { format!(" ({} is the same file)", .again) }
    )]
    Twice {
        /// The file as first named.
        file: String,
        /// The same file as named again.
        again: String,
    },
    /// A log without a single interval: an empty file, or not a log.
    #[error("{file} holds no interval: an empty file is no run's log (a run writes one interval a second with `speedup bench --hdr-log FILE`); leave it out")]
    Empty {
        /// The file.
        file: String,
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

/// Reads and adds the untagged intervals of every file, and the
/// `Tag=uncorrected` ones apart; intervals of other tags are left out, as
/// HdrHistogram's own log processor leaves them without `-tag`.
pub fn merge(files: &[PathBuf]) -> Result<Merged, MergeError> {
    merge_with(files, |_| ())
}

/// [`merge`], also handing each untagged interval to `each` (to keep the
/// run second by second, say).
pub fn merge_with(
    files: &[PathBuf],
    mut each: impl FnMut(&LogInterval),
) -> Result<Merged, MergeError> {
    refuse_twice(files)?;
    let mut hist = new_hist();
    // A foreign log may hold values past bench's hour.
    hist.auto(true);
    let mut uncorrected = hist.clone();
    // The earliest start and latest end of a non-empty interval, in seconds.
    let mut bounds: Option<(f64, f64)> = None;
    let (mut intervals, mut other_tags) = (0, 0);
    let mut spans = common::Spans::default();
    // Which files have held an interval so far (of any tag).
    let mut held = vec![false; files.len()];
    let read = read_logs(files, |interval| {
        if let Some(i) = files.iter().position(|f| f == interval.file) {
            held[i] = true;
        }
        let into = match interval.tag {
            None => &mut hist,
            Some(UNCORRECTED_TAG) => &mut uncorrected,
            Some(_) => {
                other_tags += 1;
                return Ok(());
            }
        };
        if into.len() + interval.total > MAX_VALUES {
            return Err(interval.error(|file, line| MergeError::Saturated { file, line }));
        }
        for &(value, count) in interval.counts {
            // Within MAX_VALUES, and auto-resizing: cannot fail.
            let _ = into.record_n(value, count);
        }
        if interval.tag.is_none() {
            each(interval);
            intervals += 1;
            let (start, end) = (interval.start_s, interval.start_s + interval.length_s);
            spans.longest = spans.longest.max(interval.length_s);
            if interval.total > 0 {
                bounds = Some(bounds.map_or((start, end), |(f, l)| (f.min(start), l.max(end))));
                spans.note(interval.file, start, end);
            }
        }
        Ok(())
    })?;
    if let Some(i) = held.iter().position(|held| !held) {
        return Err(MergeError::Empty {
            file: files[i].display().to_string(),
        });
    }
    let latency = read.latency()?;
    let common = common::find(files, &spans, hist.len())?;
    Ok(Merged {
        files: files.to_vec(),
        intervals,
        hist,
        uncorrected: (!uncorrected.is_empty()).then_some(uncorrected),
        latency,
        other_tags,
        // Both within MAX_SECONDS of the epoch (or a base): a valid duration.
        span: bounds.map_or(Duration::ZERO, |(first, last)| {
            Duration::from_secs_f64((last - first).max(0.0))
        }),
        unterminated: read.unterminated,
        common,
    })
}

/// Refuses a file named twice, under one name or two (a link, `./x` and
/// `x`): its values would count twice.
fn refuse_twice(files: &[PathBuf]) -> Result<(), MergeError> {
    let places: Vec<_> = files.iter().map(|f| crate::plan::place(f)).collect();
    for (i, file) in files.iter().enumerate() {
        let same = |j: usize| files[j] == *file || places[j].is_some() && places[j] == places[i];
        if let Some(j) = (0..i).find(|&j| same(j)) {
            return Err(MergeError::Twice {
                file: files[j].display().to_string(),
                again: file.display().to_string(),
            });
        }
    }
    Ok(())
}

/// The schema name and version of the JSON: version 2 holds bench's
/// `latency_ms` shape (`{"corrected", "uncorrected"}`), version 1 held the
/// merged series' figures directly.
pub const SCHEMA: &str = "speedup-merge/2";

/// Whether the untagged series goes under bench's `corrected` key: as the
/// headers say; when they do not (older logs), an open-loop run is the one
/// that writes a `Tag=uncorrected` series beside its corrected one.
fn untagged_is_corrected(m: &Merged) -> bool {
    match m.latency {
        Latency::Corrected => true,
        Latency::Uncorrected => false,
        Latency::Unknown => m.uncorrected.is_some(),
    }
}

/// The JSON of a merge, schema [`SCHEMA`]; `latency_ms` in bench's shape,
/// so one reader handles both.
pub fn to_json(m: &Merged) -> Value {
    let untagged = crate::json::latency_json(&m.hist);
    let latency = match untagged_is_corrected(m) {
        true => json!({
            "corrected": untagged,
            "uncorrected": m.uncorrected.as_ref().map_or(Value::Null, crate::json::latency_json),
        }),
        false => json!({ "corrected": Value::Null, "uncorrected": untagged }),
    };
    json!({
        "schema": SCHEMA,
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
        "latency": m.latency.name(),
        "latency_ms": latency,
    })
}
