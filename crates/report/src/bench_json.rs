//! Reading a `speedup bench --json` result (schema `speedup-bench/1`) or a
//! `speedup merge --json` one (`speedup-merge/2`, in bench's shape, or an
//! older `speedup-merge/1`) back for `speedup plot`: its latency figures (min, the percentiles, max) as spectrum lines, the
//! corrected latencies solid and the uncorrected dashed. The file is read
//! within a cap ([`crate::bounded`]) and its figures checked: a percentile
//! missing, negative or below the one before is refused, naming the key.

use std::fs::File;
use std::path::Path;

use serde_json::Value;
use speedup_stats::BENCH_PERCENTILES;

use crate::bounded::{read_text, BoundError};
use crate::escape::escaped;
use crate::spectrum::SpectrumLine;

/// The most read of a result: bench's are about 1 KB.
pub const MAX_BYTES: u64 = 1 << 20;

/// Why a result could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BenchJsonError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", escaped(.file))]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: BoundError,
    },
    /// Not JSON.
    #[error("{}: not JSON ({source}): give the file of `speedup bench --json FILE`", escaped(.file))]
    Json {
        /// The file.
        file: String,
        /// Why.
        source: serde_json::Error,
    },
    /// Another schema.
    #[error("{}: schema {} is not speedup-bench/1 or speedup-merge/1 or /2: give the file of `speedup bench --json FILE`", escaped(.file), escaped(.schema))]
    Schema {
        /// The file.
        file: String,
        /// What it says.
        schema: String,
    },
    /// A figure is missing or impossible.
    #[error("{}: latency_ms.{}{}", escaped(.file), escaped(.key), .problem)]
    Figure {
        /// The file.
        file: String,
        /// Where, e.g. `corrected.p99`.
        key: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// No latency at all (no response in the run).
    #[error("{}: no latency figures (no response was recorded)", escaped(.file))]
    Empty {
        /// The file.
        file: String,
    },
}

/// The latency lines of the result at `path`, named `name`, in `colour`.
pub fn spectrum_lines(
    path: &Path,
    name: &str,
    colour: usize,
) -> Result<Vec<SpectrumLine>, BenchJsonError> {
    let file = path.display().to_string();
    let text = File::open(path)
        .map_err(BoundError::from)
        .and_then(|f| read_text(f, MAX_BYTES))
        .map_err(|source| BenchJsonError::Read {
            file: file.clone(),
            source,
        })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| BenchJsonError::Json {
        file: file.clone(),
        source,
    })?;
    let latency = &value["latency_ms"];
    let series: Vec<(&str, &Value)> = match value["schema"].as_str() {
        Some("speedup-bench/1" | "speedup-merge/2") => vec![
            ("corrected", &latency["corrected"]),
            ("uncorrected", &latency["uncorrected"]),
        ],
        Some("speedup-merge/1") => vec![("", latency)],
        other => {
            return Err(BenchJsonError::Schema {
                file,
                schema: other.map_or_else(|| "(none)".to_string(), str::to_owned),
            })
        }
    };
    let primary = series
        .iter()
        .find(|(_, v)| !v.is_null())
        .map(|(kind, _)| *kind);
    let mut lines = Vec::new();
    for (kind, figures) in series {
        if figures.is_null() {
            continue;
        }
        let points = points(figures).map_err(|(key, problem)| BenchJsonError::Figure {
            file: file.clone(),
            key: if kind.is_empty() {
                key
            } else {
                format!("{kind}.{key}")
            },
            problem,
        })?;
        let dashed = Some(kind) != primary;
        lines.push(SpectrumLine {
            name: if kind.is_empty() {
                name.to_owned()
            } else {
                format!("{name} ({kind})")
            },
            points,
            colour,
            dashed,
        });
    }
    if lines.is_empty() {
        return Err(BenchJsonError::Empty { file });
    }
    Ok(lines)
}

/// `(percentile, ms)` from `{"min", "p50", ..., "max"}`: 0 at the min, 100
/// at the max; or the key that is wrong and why.
fn points(figures: &Value) -> Result<Vec<(f64, f64)>, (String, &'static str)> {
    let keys = std::iter::once(("min".to_string(), 0.0))
        .chain(BENCH_PERCENTILES.iter().map(|&p| (format!("p{p}"), p)))
        .chain(std::iter::once(("max".to_string(), 100.0)));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (key, pct) in keys {
        let ms = match figures[&key].as_f64() {
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms,
            Some(_) => return Err((key, " must be a number of ms of at least 0")),
            None => return Err((key, " is missing: not a bench result")),
        };
        if out.last().is_some_and(|&(_, before)| ms < before) {
            return Err((key, " is below the percentile before it"));
        }
        out.push((pct, ms));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("speedup-bench-json-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    const FIGURES: &str = r#"{"count": 10, "min": 0.5, "mean": 1.0, "stdev": 0.1, "max": 9.0,
        "p50": 1.0, "p75": 1.1, "p90": 1.2, "p95": 1.3, "p99": 2.0, "p99.9": 8.0, "p99.99": 9.0}"#;

    #[test]
    fn a_bench_result_gives_corrected_solid_and_uncorrected_dashed() {
        let path = write(
            "open.json",
            &format!(
                r#"{{"schema": "speedup-bench/1", "latency_ms": {{"corrected": {FIGURES}, "uncorrected": {FIGURES}}}}}"#
            ),
        );
        let lines = spectrum_lines(&path, "run", 2).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (lines[0].name.as_str(), lines[0].dashed),
            ("run (corrected)", false)
        );
        assert_eq!(
            (lines[1].name.as_str(), lines[1].dashed),
            ("run (uncorrected)", true)
        );
        assert_eq!(lines[0].points.first(), Some(&(0.0, 0.5)));
        assert_eq!(lines[0].points.last(), Some(&(100.0, 9.0)));
        assert_eq!(lines[0].points.len(), 9);
    }

    #[test]
    fn closed_loop_and_merged_results_have_one_solid_line() {
        let closed = write(
            "closed.json",
            &format!(
                r#"{{"schema": "speedup-bench/1", "latency_ms": {{"corrected": null, "uncorrected": {FIGURES}}}}}"#
            ),
        );
        let merged = write(
            "merged.json",
            &format!(r#"{{"schema": "speedup-merge/1", "latency_ms": {FIGURES}}}"#),
        );
        let merged2 = write(
            "merged2.json",
            &format!(
                r#"{{"schema": "speedup-merge/2", "latency_ms": {{"corrected": null, "uncorrected": {FIGURES}}}}}"#
            ),
        );
        for path in [closed, merged, merged2] {
            let lines = spectrum_lines(&path, "x", 0).unwrap();
            std::fs::remove_file(&path).ok();
            assert_eq!(lines.len(), 1);
            assert!(!lines[0].dashed);
        }
    }

    #[test]
    fn impossible_results_are_refused_naming_the_key() {
        for (text, says) in [
            (r#"{"schema": "speedup-lab/1"}"#.to_string(), "schema speedup-lab/1 is not"),
            ("[1, 2".to_string(), "not JSON"),
            (
                format!(r#"{{"schema": "speedup-bench/1", "latency_ms": {{"uncorrected": {}}}}}"#, FIGURES.replace("\"p99\": 2.0", "\"p99\": 0.1")),
                "latency_ms.uncorrected.p99 is below the percentile before it",
            ),
            (
                r#"{"schema": "speedup-bench/1", "latency_ms": {"corrected": null, "uncorrected": null}}"#.to_string(),
                "no latency figures",
            ),
        ] {
            let path = write("bad.json", &text);
            let err = spectrum_lines(&path, "x", 0).unwrap_err().to_string();
            std::fs::remove_file(&path).ok();
            assert!(err.contains(says), "{err}");
        }
    }
}
