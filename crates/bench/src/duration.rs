//! Times given on the command line: `10s`, `500ms`, `1.5s`, a bare number
//! of seconds, and the compound forms a wrk or k6 user types (`1m30s`,
//! `1h 15m`, read by the `humantime` crate). Every flag of bench that takes
//! a time reads it here.

use std::time::Duration;

use speedup_load::MAX_TIME;

/// Parses a time: a number with one unit (`10s`, `2m`, `500ms`, `250us`,
/// `1h`, decimals allowed), a bare number of seconds, or a compound
/// (`1m30s`); at most [`MAX_TIME`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let duration = match simple(t) {
        Some(d) => d?,
        None => humantime::parse_duration(t).map_err(|e| {
            format!(
                "{text:?} is not a duration ({e}): use a number and a unit, e.g. 10s, 2m, \
                 500ms, 1m30s"
            )
        })?,
    };
    if duration > MAX_TIME {
        return Err(format!(
            "{text:?} is too long (at most {}s)",
            MAX_TIME.as_secs()
        ));
    }
    Ok(duration)
}

/// A number with at most one unit; `None` when `t` is not of that shape
/// (a compound such as `1m30s`).
fn simple(t: &str) -> Option<Result<Duration, String>> {
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if unit.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let Ok(value) = number.parse::<f64>() else {
        return Some(Err(format!(
            "{t:?} is not a duration: use a number and a unit, e.g. 10s, 2m, 500ms"
        )));
    };
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Some(Err(format!(
                "unknown unit {other:?} in {t:?}: use ms, s, m or h (e.g. 10s, 2m, 500ms, 1m30s)"
            )))
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > MAX_TIME.as_secs_f64() {
        return Some(Err(format!(
            "{t:?} is too long (at most {}s)",
            MAX_TIME.as_secs()
        )));
    }
    Some(Ok(Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_a_user_types() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 15m"), Ok(Duration::from_secs(4500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert!(parse_duration("3x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1m30x")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse_duration("100000000h")
            .unwrap_err()
            .contains("too long"));
    }
}
