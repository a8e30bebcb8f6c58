//! Reading interval logs a line at a time, trusting nothing: the one reader
//! behind `merge`, `compare`, `report` and `plot`. Each interval comes to the
//! caller as a [`LogInterval`] (its tag, absolute time and decoded counts, in
//! buffers reused from line to line), so what a caller keeps is its own
//! choice; the reader itself holds one line and one interval at a time.
//!
//! Besides the intervals, a log's header may say which latencies its
//! untagged intervals hold ([`Latency`]): `speedup bench` writes a
//! `#[Latency: corrected]` or `#[Latency: uncorrected]` line (older runs
//! wrote only the sentence that line replaces, also recognised).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use super::decode::Decoder;
use super::{MergeError, MAX_LINE, MAX_SECONDS};
use crate::intervals::LATENCY_MARK;

/// Which latencies a log's untagged intervals hold, as its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// From each request's due time: an open-loop run (`--rate`).
    Corrected,
    /// From each request's send: a closed-loop run.
    Uncorrected,
    /// The log does not say (not written by `speedup bench`).
    Unknown,
}

impl Latency {
    /// `corrected`, `uncorrected` or `unknown`, as messages and JSON say it.
    pub fn name(self) -> &'static str {
        match self {
            Latency::Corrected => "corrected",
            Latency::Uncorrected => "uncorrected",
            Latency::Unknown => "unknown",
        }
    }

    /// The kind a header comment line states, if it states one.
    fn from_comment(line: &[u8]) -> Option<Latency> {
        let text = std::str::from_utf8(line).ok()?;
        if let Some(rest) = text.strip_prefix(LATENCY_MARK) {
            let word = rest.split([';', ']']).next()?.trim();
            return match word {
                "corrected" => Some(Latency::Corrected),
                "uncorrected" => Some(Latency::Uncorrected),
                _ => None,
            };
        }
        // Logs written before the mark: the sentence of `speedup bench`'s
        // header.
        if text.starts_with("#[Latency corrected for coordinated omission") {
            Some(Latency::Corrected)
        } else if text.starts_with("#[Latency from each request's send") {
            Some(Latency::Uncorrected)
        } else {
            None
        }
    }
}

/// One interval as read.
#[derive(Debug)]
pub struct LogInterval<'a> {
    /// The file it is in.
    pub file: &'a Path,
    /// Its 1-based line.
    pub line: u64,
    /// Its `Tag=`, if any.
    pub tag: Option<&'a str>,
    /// When it started, in seconds since the epoch (or since the file's
    /// base when the file has none).
    pub start_s: f64,
    /// How long it lasted, in seconds.
    pub length_s: f64,
    /// Its non-empty buckets: the lowest value of each (µs) and its count,
    /// by rising value.
    pub counts: &'a [(u64, u64)],
    /// The sum of the counts.
    pub total: u64,
}

impl LogInterval<'_> {
    /// An error at this interval's line.
    pub fn error(&self, make: impl FnOnce(String, u64) -> MergeError) -> MergeError {
        make(self.file.display().to_string(), self.line)
    }
}

/// What reading the logs found besides their intervals.
#[derive(Debug, Clone, Default)]
pub struct LogsRead {
    /// Each file and the latencies its header says it holds, in the order given.
    pub latency: Vec<(PathBuf, Latency)>,
    /// Files whose last line had no newline (a write cut short): that line
    /// was left out.
    pub unterminated: Vec<PathBuf>,
}

impl LogsRead {
    /// The latencies all the files hold: [`Latency::Unknown`] if any file
    /// does not say; refused when one says corrected and another
    /// uncorrected, which no sum or comparison can mix.
    pub fn latency(&self) -> Result<Latency, MergeError> {
        let mut known: Option<&(PathBuf, Latency)> = None;
        for entry in &self.latency {
            match (entry.1, known) {
                (Latency::Unknown, _) => return Ok(Latency::Unknown),
                (kind, Some(first)) if first.1 != kind => {
                    return Err(MergeError::MixedLatency {
                        first: first.0.display().to_string(),
                        first_kind: first.1.name(),
                        other: entry.0.display().to_string(),
                        other_kind: kind.name(),
                    })
                }
                (_, Some(_)) => {}
                (_, None) => known = Some(entry),
            }
        }
        Ok(known.map_or(Latency::Unknown, |k| k.1))
    }
}

/// Reads every interval of every file, in order, handing each to `each`.
pub fn read_logs(
    files: &[PathBuf],
    mut each: impl FnMut(&LogInterval) -> Result<(), MergeError>,
) -> Result<LogsRead, MergeError> {
    if files.is_empty() {
        return Err(MergeError::NoFiles);
    }
    let mut reader = Reader::default();
    let mut read = LogsRead::default();
    for file in files {
        let (latency, complete) = reader.read(file, &mut each)?;
        read.latency.push((file.clone(), latency));
        if !complete {
            read.unterminated.push(file.clone());
        }
    }
    Ok(read)
}

/// What is kept from file to file: the decoder's buffers and the line
/// buffer.
#[derive(Default)]
pub(crate) struct Reader {
    decoder: Decoder,
    line: Vec<u8>,
}

/// Where the file is: its base time and what its header said so far.
struct FileState {
    base: f64,
    latency: Latency,
}

impl Reader {
    /// Reads one file a line at a time. Returns the latencies its header
    /// names and whether its last line was complete.
    fn read(
        &mut self,
        file: &Path,
        each: &mut impl FnMut(&LogInterval) -> Result<(), MergeError>,
    ) -> Result<(Latency, bool), MergeError> {
        let opened = File::open(file).map_err(|source| MergeError::Read {
            file: file.display().to_string(),
            source,
        })?;
        self.read_from(file, BufReader::with_capacity(64 << 10, opened), each)
    }

    /// Reads one log from `input`, named `file` in messages.
    pub(crate) fn read_from(
        &mut self,
        file: &Path,
        mut input: impl BufRead,
        each: &mut impl FnMut(&LogInterval) -> Result<(), MergeError>,
    ) -> Result<(Latency, bool), MergeError> {
        let read_error = |source| MergeError::Read {
            file: file.display().to_string(),
            source,
        };
        let mut state = FileState {
            base: 0.0,
            latency: Latency::Unknown,
        };
        let mut number = 0;
        loop {
            self.line.clear();
            let limit = MAX_LINE as u64 + 1;
            let n = (&mut input)
                .take(limit)
                .read_until(b'\n', &mut self.line)
                .map_err(read_error)?;
            if n == 0 {
                return Ok((state.latency, true));
            }
            number += 1;
            if self.line.last() != Some(&b'\n') {
                if self.line.len() > MAX_LINE {
                    return Err(MergeError::LongLine {
                        file: file.display().to_string(),
                        line: number,
                    });
                }
                // The last line, without its newline: a write cut short.
                return Ok((state.latency, false));
            }
            let at = Line { file, number };
            self.entry(&at, &mut state, each)?;
        }
    }

    /// Handles the line in `self.line`.
    fn entry(
        &mut self,
        at: &Line,
        state: &mut FileState,
        each: &mut impl FnMut(&LogInterval) -> Result<(), MergeError>,
    ) -> Result<(), MergeError> {
        let entry = match IntervalLogIterator::new(&self.line).next() {
            // A comment or the column legend.
            None => {
                if let Some(kind) = Latency::from_comment(&self.line) {
                    state.latency = kind;
                }
                return Ok(());
            }
            Some(Err(_)) => return Err(at.error(|file, line| MergeError::Parse { file, line })),
            Some(Ok(entry)) => entry,
        };
        let interval = match entry {
            LogEntry::BaseTime(t) => {
                state.base = at.seconds("BaseTime", t)?;
                return Ok(());
            }
            LogEntry::StartTime(t) => {
                let t = at.seconds("StartTime", t)?;
                if state.base == 0.0 {
                    state.base = t;
                }
                return Ok(());
            }
            LogEntry::Interval(interval) => interval,
        };
        let start_s =
            state.base + at.seconds("the interval's start", interval.start_timestamp())?;
        let length_s = at.seconds("the interval's length", interval.duration())?;
        let decoded = self
            .decoder
            .decode(interval.encoded_histogram())
            .map_err(|source| {
                at.error(|file, line| MergeError::Histogram { file, line, source })
            })?;
        let tag = interval.tag();
        each(&LogInterval {
            file: at.file,
            line: at.number,
            tag: tag.as_deref(),
            start_s,
            length_s,
            counts: decoded.counts,
            total: decoded.total,
        })
    }
}

/// Where a line is, for its errors.
struct Line<'a> {
    file: &'a Path,
    number: u64,
}

impl Line<'_> {
    fn error(&self, make: impl FnOnce(String, u64) -> MergeError) -> MergeError {
        make(self.file.display().to_string(), self.number)
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
