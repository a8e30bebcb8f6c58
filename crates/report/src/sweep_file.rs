//! Reading the concurrency sweep back from a lab's `summary.json`
//! (`speedup plot --sweep`), and checking it as strictly as the CSV reader
//! checks a CDF: a sweep no run can produce (negative or infinite times, no
//! clients, p95 below p50, an endpoint's concurrency going back) is refused
//! with the file and the point named, never drawn. The file is read within
//! [`MAX_SUMMARY_BYTES`], and what it holds is escaped in messages.

use std::fs::File;
use std::path::Path;

use serde::Deserialize;

use crate::bounded::{read_text, BoundError};
use crate::escape::escaped;
use crate::sweep::{Sweep, SweepPoint};

/// The most read of a `summary.json`: the lab's are a few KB.
pub const MAX_SUMMARY_BYTES: u64 = 16 << 20;

/// Why `speedup plot --sweep` could not read a sweep from a file.
#[derive(Debug, thiserror::Error)]
pub enum SweepFileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", escaped(file))]
    Read {
        /// The file as the user named it.
        file: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is longer than [`MAX_SUMMARY_BYTES`].
    #[error(
        "{}: longer than {max} bytes: not a lab summary.json (the lab writes a few KB)",
        escaped(file)
    )]
    TooBig {
        /// The file as the user named it.
        file: String,
        /// The cap.
        max: u64,
    },
    /// The file is not JSON of a lab summary's shape.
    #[error("{} is not a lab summary.json: {}", escaped(file), escaped(reason))]
    Json {
        /// The file as the user named it.
        file: String,
        /// serde_json's description, with the line and column.
        reason: String,
    },
    /// The summary has no `sweep`.
    #[error(
        "{} has no sweep: run `speedup lab --sweep` to make one",
        escaped(file)
    )]
    NoSweep {
        /// The file as the user named it.
        file: String,
    },
    /// The sweep holds something no run can produce.
    #[error("{}: {problem}", escaped(file))]
    Invalid {
        /// The file as the user named it.
        file: String,
        /// What is wrong.
        problem: SweepProblem,
    },
}

/// What makes a sweep impossible to draw truthfully.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepProblem {
    /// No points at all.
    #[error("the sweep has no points")]
    Empty,
    /// The ideal time is not a positive number of ms.
    #[error("ideal_ms must be a positive number of ms, found {0}")]
    Ideal(f64),
    /// A pool of no threads.
    #[error("pool_threads must be at least 1, found 0")]
    Pool,
    /// One point is wrong.
    #[error(
        "point {index} ({} at concurrency {concurrency}): {problem}",
        escaped(endpoint)
    )]
    Point {
        /// 1-based position in `points`.
        index: usize,
        /// Its endpoint.
        endpoint: String,
        /// Its concurrency.
        concurrency: u32,
        /// What is wrong with it.
        problem: PointProblem,
    },
}

/// What is wrong with one sweep point.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointProblem {
    /// The endpoint has an empty name.
    #[error("the endpoint has no name")]
    NoName,
    /// No clients.
    #[error("concurrency must be at least 1")]
    NoClients,
    /// A time is negative or not finite.
    #[error("{field} must be a number of ms of at least 0, found {value}")]
    Time {
        /// `p50_ms`, `p95_ms` or `max_ms`.
        field: &'static str,
        /// The value found.
        value: f64,
    },
    /// The 95th percentile (or the max) is below the median.
    #[error("{field} {value} is below p50_ms {p50}, which no distribution can do")]
    Order {
        /// `p95_ms` or `max_ms`.
        field: &'static str,
        /// The median.
        p50: f64,
        /// The higher figure.
        value: f64,
    },
    /// The endpoint's concurrency did not rise from its previous point.
    #[error("concurrency must rise within an endpoint, but {previous} came before")]
    NotRising {
        /// The endpoint's previous concurrency.
        previous: u32,
    },
}

impl Sweep {
    /// Reads the `sweep` of the lab summary at `path`, at most
    /// [`MAX_SUMMARY_BYTES`], and validates it; errors name `path`.
    pub fn from_summary(path: &Path) -> Result<Sweep, SweepFileError> {
        #[derive(Deserialize)]
        struct Summary {
            sweep: Option<Sweep>,
        }
        let file = path.display().to_string();
        let text = match File::open(path)
            .map_err(BoundError::from)
            .and_then(|f| read_text(f, MAX_SUMMARY_BYTES))
        {
            Ok(text) => text,
            Err(BoundError::Io(source)) => return Err(SweepFileError::Read { file, source }),
            Err(BoundError::TooBig { max, .. }) => {
                return Err(SweepFileError::TooBig { file, max })
            }
            Err(other) => {
                return Err(SweepFileError::Json {
                    file,
                    reason: other.to_string(),
                })
            }
        };
        let summary: Summary = serde_json::from_str(&text).map_err(|e| SweepFileError::Json {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let sweep = summary
            .sweep
            .ok_or_else(|| SweepFileError::NoSweep { file: file.clone() })?;
        sweep
            .validate()
            .map_err(|problem| SweepFileError::Invalid { file, problem })?;
        Ok(sweep)
    }

    /// Checks that a run could have produced this sweep: see
    /// [`SweepProblem`] and [`PointProblem`].
    pub fn validate(&self) -> Result<(), SweepProblem> {
        if self.points.is_empty() {
            return Err(SweepProblem::Empty);
        }
        if !(self.ideal_ms.is_finite() && self.ideal_ms > 0.0) {
            return Err(SweepProblem::Ideal(self.ideal_ms));
        }
        if self.pool_threads == Some(0) {
            return Err(SweepProblem::Pool);
        }
        for (i, p) in self.points.iter().enumerate() {
            let previous = self.points[..i]
                .iter()
                .rev()
                .find(|q| q.endpoint == p.endpoint);
            point_problem(p, previous).map_or(Ok(()), |problem| {
                Err(SweepProblem::Point {
                    index: i + 1,
                    endpoint: p.endpoint.clone(),
                    concurrency: p.concurrency,
                    problem,
                })
            })?;
        }
        Ok(())
    }
}

/// What is wrong with `p`, given its endpoint's previous point.
fn point_problem(p: &SweepPoint, previous: Option<&SweepPoint>) -> Option<PointProblem> {
    if p.endpoint.is_empty() {
        return Some(PointProblem::NoName);
    }
    if p.concurrency == 0 {
        return Some(PointProblem::NoClients);
    }
    let figures = [
        ("p50_ms", Some(p.p50_ms)),
        ("p95_ms", Some(p.p95_ms)),
        ("max_ms", p.max_ms),
    ];
    for (field, value) in figures {
        match value {
            Some(value) if !(value.is_finite() && value >= 0.0) => {
                return Some(PointProblem::Time { field, value })
            }
            Some(value) if field != "p50_ms" && value < p.p50_ms => {
                return Some(PointProblem::Order {
                    field,
                    p50: p.p50_ms,
                    value,
                })
            }
            _ => {}
        }
    }
    match previous {
        Some(q) if q.concurrency >= p.concurrency => Some(PointProblem::NotRising {
            previous: q.concurrency,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::tests::sweep;

    #[test]
    fn validate_refuses_what_no_run_produces() {
        assert_eq!(sweep().validate(), Ok(()));
        let bad = |change: fn(&mut Sweep)| {
            let mut s = sweep();
            change(&mut s);
            s.validate().unwrap_err()
        };
        assert_eq!(
            bad(|s| s.ideal_ms = f64::NAN).to_string(),
            "ideal_ms must be a positive number of ms, found NaN"
        );
        assert_eq!(bad(|s| s.pool_threads = Some(0)), SweepProblem::Pool);
        let point = |e: SweepProblem| match e {
            SweepProblem::Point { index, problem, .. } => (index, problem),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            point(bad(|s| s.points[3].p95_ms = f64::INFINITY)),
            (
                4,
                PointProblem::Time {
                    field: "p95_ms",
                    value: f64::INFINITY
                }
            )
        );
        assert_eq!(
            point(bad(|s| s.points[0].endpoint.clear())),
            (1, PointProblem::NoName)
        );
        // Interleaved endpoints are fine; each one's concurrency must rise.
        assert_eq!(
            point(bad(|s| s.points[2].concurrency = 1)),
            (3, PointProblem::NotRising { previous: 1 })
        );
    }
}
