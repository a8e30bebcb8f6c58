//! Reading ab's `-e` CSV: the response-time CDF that `ab` (Apache's or ours)
//! writes as 101 rows, `Percentage served,Time in ms` then `0,<ms>` to
//! `100,<ms>`.
//!
//! These rows are already percentiles, computed by whoever wrote the file, so
//! nothing here computes statistics: [`Cdf::ms_at`] only reads a row back.
//! The parser is strict on purpose: a chart drawn from a file that is not
//! really ab's CDF would look plausible and be wrong, so every departure is an
//! error naming the file, the 1-based line and what was expected, with any
//! control characters of the file escaped ([`crate::escape`]). A real file
//! is about 2 KB, so lines and the whole are capped ([`crate::bounded`]):
//! `/dev/zero` or an endless pipe is refused in a moment.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use crate::bounded::{BoundError, Lines};
use crate::escape::escaped;

/// The header line ab writes before the rows.
pub const HEADER: &str = speedup_stats::CDF_CSV_HEADER;

/// The highest percentage row, the slowest request.
const LAST_PERCENT: u32 = 100;

/// The longest line read: ab's are under 30 bytes.
pub const MAX_LINE: usize = 1024;

/// The most read of one file: ab's are about 2 KB (blank lines after the
/// rows are accepted, up to this).
pub const MAX_BYTES: u64 = 1 << 20;

/// One response-time CDF read from an ab CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Cdf {
    /// Series name, used for the legend (by default the file stem).
    pub name: String,
    /// `(percent served, time in ms)` pairs, percent `0.0..=100.0` rising by
    /// one per row, times never decreasing.
    pub points: Vec<(f64, f64)>,
}

/// Why an ab CSV could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CdfError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", escaped(file))]
    Io {
        /// The file as the user named it.
        file: String,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The file was read but is not ab's CDF format.
    #[error("{}:{line}: {problem}", escaped(file))]
    Format {
        /// The file as the user named it.
        file: String,
        /// 1-based line number where the problem was found.
        line: usize,
        /// What was wrong there.
        problem: CdfProblem,
    },
}

/// What is wrong with a line of an ab CSV.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CdfProblem {
    /// The file has no lines at all.
    #[error("file is empty: expected the header `{HEADER}` (write it with `ab -e FILE`)")]
    Empty,
    /// The line is not valid UTF-8 text.
    #[error("not UTF-8 text: expected an ab CSV written with `ab -e FILE`")]
    NotText,
    /// The first line is not ab's header.
    #[error("expected the header `{HEADER}`, found `{}`", escaped(found))]
    Header {
        /// The line as found.
        found: String,
    },
    /// A row is not `<integer percent>,<decimal ms>` with a finite,
    /// non-negative time.
    #[error(
        "expected `<percent>,<ms>` (e.g. `50,12.345`), found `{}`",
        escaped(found)
    )]
    Row {
        /// The line as found.
        found: String,
    },
    /// A row's percentage is not the next one in `0, 1, …, 100`.
    #[error("percentages must rise from 0 to 100 one by one: expected {expected}, found {found}")]
    Percent {
        /// The percentage this row should have.
        expected: u32,
        /// The percentage it has.
        found: u32,
    },
    /// A row's time is below the previous row's, which no CDF can do.
    ///
    /// Apache's ab 2.3 produces this itself when `-n` is 50 or less: it
    /// computes row `i` as `stats[(int)(0.5 + n * i / 100.0)]`, which for
    /// small `n` indexes past the end of its data and prints garbage.
    #[error(
        "times must not decrease: {ms} ms at {percent}% is below {previous_ms} ms at the row \
         before (Apache ab writes garbage high rows when -n is 50 or less: rerun with more requests)"
    )]
    TimeDecreasing {
        /// The row's percentage.
        percent: u32,
        /// The row's time.
        ms: f64,
        /// The previous row's time.
        previous_ms: f64,
    },
    /// The file stops before the `100` row.
    #[error("file ends after percentage {last}: expected rows up to 100 (is the file truncated?)")]
    Truncated {
        /// The last percentage present, if any row was.
        last: String,
    },
    /// A line is longer than [`MAX_LINE`].
    #[error("line longer than {max} bytes: not an ab CSV (write it with `ab -e FILE`)")]
    LineTooLong {
        /// The cap.
        max: usize,
    },
    /// The file is longer than [`MAX_BYTES`].
    #[error("file longer than {max} bytes: not an ab CSV (ab writes about 2 KB)")]
    TooBig {
        /// The cap.
        max: u64,
    },
    /// Something other than blank lines follows the `100` row.
    #[error("unexpected line after the 100% row: `{}`", escaped(found))]
    Trailing {
        /// The line as found.
        found: String,
    },
}

impl Cdf {
    /// Parses an ab CSV from `reader`; `name` names the series and labels
    /// errors.
    pub fn from_reader(name: &str, reader: impl BufRead) -> Result<Cdf, CdfError> {
        parse(name, name, reader)
    }

    /// Reads the ab CSV at `path`; the series is named after the file stem
    /// and errors name the path as given.
    pub fn from_path(path: &Path) -> Result<Cdf, CdfError> {
        let label = path.display().to_string();
        let file = File::open(path).map_err(|source| CdfError::Io {
            file: label.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| label.clone());
        parse(&label, &name, BufReader::new(file))
    }

    /// The time in ms at row `percent` of the file (e.g. `95` for the p95 as
    /// ab computed it), or `None` when there is no such row.
    pub fn ms_at(&self, percent: u32) -> Option<f64> {
        let wanted = f64::from(percent);
        self.points
            .iter()
            .find(|(p, _)| *p == wanted)
            .map(|&(_, ms)| ms)
    }
}

/// Reads the file line by line within [`MAX_LINE`] and [`MAX_BYTES`],
/// checking each line; `label` names the file in errors, `name` becomes the
/// series name.
fn parse(label: &str, name: &str, reader: impl BufRead) -> Result<Cdf, CdfError> {
    let format = |line: usize, problem: CdfProblem| CdfError::Format {
        file: label.to_owned(),
        line,
        problem,
    };
    let mut points = Vec::with_capacity(LAST_PERCENT as usize + 1);
    let mut lines = Lines::new(reader, MAX_LINE, MAX_BYTES);
    loop {
        let (line_no, text) = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(BoundError::LineTooLong { line, max }) => {
                return Err(format(line, CdfProblem::LineTooLong { max }))
            }
            Err(BoundError::TooBig { line, max }) => {
                return Err(format(line, CdfProblem::TooBig { max }))
            }
            Err(BoundError::NotText { line }) => return Err(format(line, CdfProblem::NotText)),
            Err(BoundError::Io(source)) => {
                return Err(CdfError::Io {
                    file: label.to_owned(),
                    source,
                })
            }
        };
        // Accept CRLF (files passed through Windows tools) and a UTF-8 BOM on
        // the header (spreadsheet exports); neither changes the data.
        let line = text.trim_end_matches('\r');
        if line_no == 1 {
            let header = line.trim_start_matches('\u{feff}').trim();
            if header != HEADER {
                return Err(format(1, CdfProblem::Header { found: line.into() }));
            }
            continue;
        }
        if points.len() > LAST_PERCENT as usize {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format(line_no, CdfProblem::Trailing { found: line.into() }));
        }
        let (percent, ms) = parse_row(line)
            .ok_or_else(|| format(line_no, CdfProblem::Row { found: line.into() }))?;
        let expected = points.len() as u32;
        if percent != expected {
            return Err(format(
                line_no,
                CdfProblem::Percent {
                    expected,
                    found: percent,
                },
            ));
        }
        if let Some(&(_, previous_ms)) = points.last() {
            if ms < previous_ms {
                return Err(format(
                    line_no,
                    CdfProblem::TimeDecreasing {
                        percent,
                        ms,
                        previous_ms,
                    },
                ));
            }
        }
        points.push((f64::from(percent), ms));
    }
    let line_no = lines.count();
    if line_no == 0 {
        return Err(format(1, CdfProblem::Empty));
    }
    if points.len() <= LAST_PERCENT as usize {
        let last = match points.last() {
            Some((p, _)) => p.to_string(),
            None => "none (no rows after the header)".to_owned(),
        };
        return Err(format(line_no + 1, CdfProblem::Truncated { last }));
    }
    Ok(Cdf {
        name: name.to_owned(),
        points,
    })
}

/// Splits `<percent>,<ms>`; `None` unless the percent is an integer and the
/// time a finite, non-negative decimal.
fn parse_row(line: &str) -> Option<(u32, f64)> {
    let (percent, ms) = line.split_once(',')?;
    let percent: u32 = percent.trim().parse().ok()?;
    let ms: f64 = ms.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then_some((percent, ms))
}
