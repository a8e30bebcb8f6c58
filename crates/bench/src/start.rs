//! `--start-at TIME`: several generators (processes, pods, machines) start
//! their measured schedules at one moment of the wall clock, so their rates
//! add up and their interval logs cover the same seconds.
//!
//! The rule for `--warmup`: the warm-up runs just before `TIME`, from
//! `TIME - warmup`, and the measured part starts at `TIME`; a generator
//! started after `TIME - warmup` warms up for what is left. So every
//! generator's first measured request is due at `TIME`, the interval log's
//! `StartTime` is `TIME`, and no idle gap between warm-up and measurement
//! lets the server close the warmed connections (many close idle ones after
//! 5 to 60 s) or cool down. A `TIME` already past is refused unless it
//! passed less than `--start-late-ok` ago: such a generator keeps the
//! common schedule and skips what was due before it was ready (see
//! `speedup_load::start`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use speedup_load::Start;

use crate::duration::parse_duration;

/// The furthest ahead a start may be: a later one is a typo, not a plan.
pub const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// The flags of a synchronized start.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StartArgs {
    /// Start the measured part at this wall-clock time (RFC 3339 such as
    /// 2030-01-01T12:00:00Z, or unix seconds); --warmup runs just before it
    #[arg(long = "start-at", value_name = "TIME", value_parser = parse_start_time)]
    pub start_at: Option<SystemTime>,
    /// Run even if --start-at passed less than this long ago (default 0:
    /// a late generator cannot send its share at the right time)
    #[arg(long = "start-late-ok", value_name = "TIME", value_parser = parse_duration)]
    pub start_late_ok: Option<Duration>,
}

/// A start that cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `TIME` passed longer ago than `--start-late-ok` allows.
    #[error(
        "--start-at {at}: passed {by:.3?} ago, more than --start-late-ok {} allows: a generator \
         that starts late cannot send its share at the right time; choose a later --start-at \
         (or raise --start-late-ok)",
        humantime::format_duration(*.late_ok)
    )]
    Passed {
        /// `TIME` as RFC 3339.
        at: String,
        /// How long ago.
        by: Duration,
        /// `--start-late-ok`.
        late_ok: Duration,
    },
    /// `TIME` more than [`MAX_AHEAD`] away.
    #[error("--start-at {at}: {ahead:.0?} from now, more than 24h ahead: check the date (RFC 3339 in UTC, e.g. 2030-01-01T12:00:00Z, or unix seconds)")]
    TooFar {
        /// `TIME` as RFC 3339.
        at: String,
        /// How far ahead.
        ahead: Duration,
    },
    /// `--start-late-ok` without `--start-at`.
    #[error("--start-late-ok needs --start-at: it says how late that start may be")]
    LateOkAlone,
}

impl StartArgs {
    /// The engine's start, checked against the wall clock `now`: `None`
    /// without `--start-at`; with it, notes for the user when the warm-up
    /// is shortened or the start is late.
    pub fn resolve(
        &self,
        warmup: Duration,
        now: SystemTime,
        notes: &mut Vec<String>,
    ) -> Result<Option<Start>, StartError> {
        let late_ok = self.start_late_ok.unwrap_or(Duration::ZERO);
        let Some(at) = self.start_at else {
            return match self.start_late_ok {
                Some(_) => Err(StartError::LateOkAlone),
                None => Ok(None),
            };
        };
        let shown = humantime::format_rfc3339_millis(at).to_string();
        match at.duration_since(now) {
            Err(past) => {
                let by = past.duration();
                if by > late_ok {
                    return Err(StartError::Passed {
                        at: shown,
                        by,
                        late_ok,
                    });
                }
                notes.push(format!(
                    "--start-at {shown} passed {by:.3?} ago: starting late, without the \
                     warm-up; the requests due before then are not sent"
                ));
            }
            Ok(ahead) if ahead > MAX_AHEAD => return Err(StartError::TooFar { at: shown, ahead }),
            Ok(ahead) if ahead < warmup => notes.push(format!(
                "--start-at {shown} is {ahead:.3?} away, less than --warmup {warmup:?}: the \
                 warm-up is shortened to what is left"
            )),
            Ok(ahead) => notes.push(format!(
                "--start-at {shown}: waiting {ahead:.3?}{}",
                match warmup.is_zero() {
                    true => String::new(),
                    false => format!(" (the {warmup:?} warm-up ends then)"),
                }
            )),
        }
        Ok(Some(Start { at, late_ok }))
    }
}

/// Milliseconds since the unix epoch (0 before it).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Parses `--start-at`: RFC 3339 with its zone (`Z` or `±HH:MM`, any
/// fraction of a second), or unix seconds (`1767225600`, `1767225600.25`).
pub fn parse_start_time(text: &str) -> Result<SystemTime, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time: use RFC 3339 with its zone (2030-01-01T12:00:00Z, \
             2030-01-01T14:00:00+02:00) or unix seconds (date +%s)"
        )
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // Read as written (not through a float): 1767225600.001 is that
        // millisecond exactly.
        let (secs, fraction) = t.split_once('.').unwrap_or((t, ""));
        if fraction.contains('.') {
            return Err(bad());
        }
        let digits = fraction.len().min(9);
        let nanos = match fraction.get(..digits) {
            Some("") => 0,
            Some(f) => f.parse::<u32>().map_err(|_| bad())? * 10u32.pow((9 - digits) as u32),
            None => return Err(bad()),
        };
        let secs: u64 = secs.parse().map_err(|_| bad())?;
        return UNIX_EPOCH
            .checked_add(Duration::new(secs, nanos))
            .ok_or_else(bad);
    }
    // humantime reads UTC only: a numeric zone is taken off and applied.
    let (utc, offset) = match split_offset(t) {
        Some((rest, offset)) => (format!("{rest}Z"), offset),
        None => (t.to_ascii_uppercase(), 0),
    };
    let at = humantime::parse_rfc3339(&utc).map_err(|_| bad())?;
    let shift = Duration::from_secs(offset.unsigned_abs());
    match offset {
        // 14:00+02:00 is 12:00Z.
        o if o > 0 => at.checked_sub(shift),
        _ => at.checked_add(shift),
    }
    .ok_or_else(bad)
}

/// `(time, offset in seconds)` for a time ending in `+HH:MM` or `-HH:MM`.
fn split_offset(t: &str) -> Option<(&str, i64)> {
    let cut = t.len().checked_sub(6)?;
    let (rest, zone) = (t.get(..cut)?, t.get(cut..)?.as_bytes());
    let sign = match zone[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from((a - b'0') * 10 + b - b'0'))
    };
    if zone[3] != b':' {
        return None;
    }
    let (hours, minutes) = (digits(zone[1], zone[2])?, digits(zone[4], zone[5])?);
    (hours < 24 && minutes < 60).then_some((rest, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms)
    }

    #[test]
    fn times_as_users_write_them() {
        let noon = at(1_893_499_200, 0); // 2030-01-01T12:00:00Z
        for text in [
            "2030-01-01T12:00:00Z",
            "2030-01-01t12:00:00z",
            "2030-01-01T14:00:00+02:00",
            "2030-01-01T07:30:00-04:30",
            "2030-01-01T12:00:00+00:00",
            "1893499200",
            " 1893499200.000 ",
        ] {
            assert_eq!(parse_start_time(text), Ok(noon), "{text}");
        }
        assert_eq!(
            parse_start_time("2030-01-01T12:00:00.25Z"),
            Ok(at(1_893_499_200, 250))
        );
        assert_eq!(parse_start_time("1893499200.5"), Ok(at(1_893_499_200, 500)));
        assert_eq!(parse_start_time("1893499200.001"), Ok(at(1_893_499_200, 1)));
        for bad in [
            "",
            "soon",
            "2030-01-01 12:00",
            "2030-01-01T12:00:00",
            "2030-01-01T12:00:00+2:00",
            "2030-01-01T12:00:00+24:00",
            "1.2.3",
            ".",
            "1.x",
            "1.123456789.5",
            "-5",
        ] {
            let e = parse_start_time(bad).expect_err(bad);
            assert!(e.contains("RFC 3339"), "{e}");
        }
    }

    #[test]
    fn the_start_is_checked_against_the_clock() {
        let now = at(1_000_000, 0);
        let args = |start: SystemTime, late: Option<u64>| StartArgs {
            start_at: Some(start),
            start_late_ok: late.map(Duration::from_secs),
        };
        let resolve = |a: &StartArgs, warmup: u64| {
            let mut notes = Vec::new();
            let r = a.resolve(Duration::from_secs(warmup), now, &mut notes);
            (r, notes)
        };
        let (r, notes) = resolve(&args(now + Duration::from_secs(10), None), 5);
        let start = r.unwrap().unwrap();
        assert_eq!(
            (start.at, start.late_ok),
            (at(1_000_010, 0), Duration::ZERO)
        );
        assert_eq!(
            notes,
            ["--start-at 1970-01-12T13:46:50.000Z: waiting 10.000s (the 5s warm-up ends then)"]
        );
        // Inside the warm-up window: run, shortened, said so.
        let (r, notes) = resolve(&args(now + Duration::from_secs(2), None), 5);
        assert!(r.unwrap().is_some());
        assert!(notes[0].contains("less than --warmup 5s"), "{notes:?}");
        // Past: refused, naming both flags; within --start-late-ok: run, said so.
        let past = now - Duration::from_millis(1500);
        let e = resolve(&args(past, None), 0).0.unwrap_err().to_string();
        assert!(e.starts_with("--start-at 1970-01-12T13:46:38.500Z: passed 1.500s ago, more than --start-late-ok 0s allows"), "{e}");
        let (r, notes) = resolve(&args(past, Some(2)), 0);
        assert_eq!(r.unwrap().unwrap().late_ok, Duration::from_secs(2));
        assert!(notes[0].contains("starting late"), "{notes:?}");
        // A day ahead is a typo.
        let e = resolve(&args(now + Duration::from_secs(90_000), None), 0)
            .0
            .unwrap_err();
        assert!(e.to_string().contains("more than 24h ahead"), "{e}");
        // No start: nothing, unless --start-late-ok is given alone.
        assert!(resolve(&StartArgs::default(), 0).0.unwrap().is_none());
        let alone = StartArgs {
            start_at: None,
            start_late_ok: Some(Duration::from_secs(1)),
        };
        assert!(matches!(resolve(&alone, 0).0, Err(StartError::LateOkAlone)));
    }
}
