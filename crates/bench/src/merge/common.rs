//! The logs' common span: from the latest first value of any log to the
//! earliest last one, when every generator was running. Generators that
//! did not start together (seconds apart, as pods are scheduled) overlap
//! only there: the merged rate over the whole span then understates what
//! the server got, so `merge` warns when the starts differ by more than
//! one interval, and gives the rate over the common span too.
//!
//! The first pass (the merge itself) notes each log's span ([`Spans`]);
//! when a log has values outside the common span, a second pass reads the
//! logs again, counting the values of the intervals that are not wholly
//! inside it. An interval cut by an edge counts in proportion to its
//! overlap. Memory stays one span per log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{read_logs, MergeError};

/// After the merge of `total` values: the common span of `files`, whose
/// spans are `spans`, reading them again (counting what lies outside) when
/// some log has values outside it.
pub(super) fn find(
    files: &[PathBuf],
    spans: &Spans,
    total: u64,
) -> Result<Option<Common>, MergeError> {
    let Some((mut window, outside)) = spans.window() else {
        return Ok(None);
    };
    if outside {
        read_logs(files, |interval| {
            let (start, end) = (interval.start_s, interval.start_s + interval.length_s);
            if interval.tag.is_none() && interval.total > 0 && !window.holds(start, end) {
                window.count_outside(start, end, interval.total);
            }
            Ok(())
        })?;
    }
    Ok(spans.common(&window, total))
}

/// Each log's span, as the merge found it.
#[derive(Debug, Default)]
pub(crate) struct Spans {
    /// Per log with values: its file, its first value's interval start and
    /// its last one's end (seconds since the epoch or its base).
    pub logs: Vec<(PathBuf, f64, f64)>,
    /// The longest interval seen, seconds.
    pub longest: f64,
}

/// Where the logs overlap, and what they hold there.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    /// The log whose values start first, and when (seconds since the epoch).
    pub first: (PathBuf, f64),
    /// The log whose values start last, and when.
    pub last: (PathBuf, f64),
    /// One interval: the longest in the logs.
    pub interval: Duration,
    /// From the latest start to the earliest end; zero when the logs do
    /// not overlap.
    pub span: Duration,
    /// Values in the common span (intervals cut by its edges in proportion).
    pub values: f64,
}

impl Common {
    /// How far apart the logs' first values are.
    pub fn start_spread(&self) -> Duration {
        Duration::from_secs_f64((self.last.1 - self.first.1).max(0.0))
    }

    /// Whether the starts differ by more than one interval: the
    /// generators did not run together.
    pub fn starts_differ(&self) -> bool {
        self.start_spread() > self.interval
    }

    /// Values per second over the common span (0 when there is none).
    pub fn rate(&self) -> f64 {
        let secs = self.span.as_secs_f64();
        if secs > 0.0 {
            self.values / secs
        } else {
            0.0
        }
    }
}

impl Spans {
    /// The common span's edges, and whether some log has values outside
    /// them (then the edges must be read again); `None` without values.
    pub fn window(&self) -> Option<(Window, bool)> {
        let start = self.logs.iter().map(|l| l.1).reduce(f64::max)?;
        let end = self.logs.iter().map(|l| l.2).reduce(f64::min)?;
        let end = end.max(start);
        let outside = self.logs.iter().any(|l| l.1 < start || l.2 > end);
        Some((
            Window {
                start,
                end,
                outside: 0.0,
            },
            outside,
        ))
    }

    /// The common span of logs holding `total` values, given the
    /// `window` of the second pass (which counted the values outside it).
    pub fn common(&self, window: &Window, total: u64) -> Option<Common> {
        let by_start = |pick: fn(f64, f64) -> bool| {
            let mut logs = self.logs.iter();
            let first = logs.next()?;
            let found = logs.fold(first, |a, b| if pick(b.1, a.1) { b } else { a });
            Some((found.0.clone(), found.1))
        };
        Some(Common {
            first: by_start(|b, a| b < a)?,
            last: by_start(|b, a| b > a)?,
            interval: Duration::from_secs_f64(self.longest.max(0.0)),
            span: Duration::from_secs_f64(window.end - window.start),
            values: (total as f64 - window.outside).max(0.0),
        })
    }

    /// Widens the span of `file` (the log being read) to hold an interval
    /// from `start` to `end` with values.
    pub fn note(&mut self, file: &Path, start: f64, end: f64) {
        match self.logs.last_mut() {
            Some(log) if log.0 == file => {
                log.1 = log.1.min(start);
                log.2 = log.2.max(end);
            }
            _ => self.logs.push((file.to_path_buf(), start, end)),
        }
    }
}

/// The common span during the second pass, and the values found outside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    start: f64,
    end: f64,
    /// Values of the intervals read so far that lie outside the span.
    pub outside: f64,
}

impl Window {
    /// Whether an interval from `start` to `end` lies wholly inside: its
    /// values count whole, with no need to decode it again.
    pub fn holds(&self, start: f64, end: f64) -> bool {
        start >= self.start && end <= self.end
    }

    /// Counts the part of an interval's `values` that lies outside.
    pub fn count_outside(&mut self, start: f64, end: f64, values: u64) {
        let length = end - start;
        let overlap = (end.min(self.end) - start.max(self.start)).max(0.0);
        let inside = if length > 0.0 { overlap / length } else { 0.0 };
        self.outside += values as f64 * (1.0 - inside);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_span_and_what_lies_outside_it() {
        let mut spans = Spans {
            longest: 1.0,
            ..Spans::default()
        };
        spans.note(Path::new("a"), 100.0, 105.0);
        spans.note(Path::new("a"), 104.0, 110.0);
        spans.note(Path::new("b"), 103.0, 112.5);
        let (mut w, outside) = spans.window().unwrap();
        assert!(outside);
        assert!(w.holds(103.0, 104.0) && !w.holds(102.5, 103.5));
        // a's first three seconds, 10 values each; half of b's last.
        for s in 100..103 {
            w.count_outside(s as f64, s as f64 + 1.0, 10);
        }
        w.count_outside(109.5, 110.5, 4);
        let c = spans.common(&w, 200).unwrap();
        assert_eq!(
            (c.first.0.to_str(), c.last.0.to_str()),
            (Some("a"), Some("b"))
        );
        assert_eq!(c.start_spread(), Duration::from_secs(3));
        assert!(c.starts_differ());
        assert_eq!(c.span, Duration::from_secs(7));
        assert_eq!(c.values, 200.0 - 30.0 - 2.0);
        assert_eq!(c.rate(), 168.0 / 7.0);
        // Logs that do not overlap have no common span.
        let apart = Spans {
            logs: vec![("a".into(), 0.0, 1.0), ("b".into(), 5.0, 6.0)],
            longest: 1.0,
        };
        let (w, _) = apart.window().unwrap();
        assert_eq!(apart.common(&w, 10).unwrap().rate(), 0.0);
        assert!(Spans::default().window().is_none());
    }
}
