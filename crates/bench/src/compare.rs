//! `speedup compare`: did a change make the server faster? Each side's
//! interval logs are read with `merge`'s reader and checks (several logs a
//! side are merged), kept second by second ([`speedup_stats::Series`]), and
//! compared by `speedup_stats::bootstrap`: the figures, the change and its
//! confidence interval, as a table ([`write_table`]) or JSON (schema
//! `speedup-compare/1`, [`to_json`]). Runs whose logs hold corrected
//! latencies are not compared with runs whose logs hold uncorrected ones.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::{json, Value};
use speedup_stats::bootstrap::{self, Change, Comparison, Settings, TooFew, Verdict, CONFIDENCE};
use speedup_stats::Series;

use crate::hist::SIGFIG;
use crate::merge::{merge_with, Latency, MergeError, Merged};

/// The schema name and version of the JSON.
pub const SCHEMA: &str = "speedup-compare/1";

/// A run read from its interval logs: everything added up, and second by
/// second.
#[derive(Debug, Clone)]
pub struct LoggedRun {
    /// The logs added up (files, latency kind, histograms, span).
    pub merged: Merged,
    /// The untagged intervals, second by second.
    pub series: Series,
}

/// Reads a run's logs (several are merged, with `merge`'s checks).
pub fn read_run(files: &[PathBuf]) -> Result<LoggedRun, MergeError> {
    let mut series = Series::new(SIGFIG);
    let merged = merge_with(files, |i| series.add(i.start_s, i.length_s, i.counts))?;
    Ok(LoggedRun { merged, series })
}

/// Why two runs were not compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A side's logs could not be read or merged.
    #[error("the {side} logs: {source}")]
    Read {
        /// `base` or `new`.
        side: &'static str,
        /// Why.
        source: MergeError,
    },
    /// One side corrected, the other not.
    #[error("the base logs hold {} latencies but the new logs hold {} ones: a corrected latency counts the time a request waited to be sent (an open-loop run, --rate) and an uncorrected one does not, so their difference would not be your change; compare runs made in the same mode", .base.name(), .new.name())]
    Mixed {
        /// The base side's kind.
        base: Latency,
        /// The new side's kind.
        new: Latency,
    },
    /// A side has too few seconds.
    #[error(transparent)]
    TooFew(#[from] TooFew),
}

/// Compares `new` with `base`, refusing what cannot mean anything.
pub fn compare(
    base: &LoggedRun,
    new: &LoggedRun,
    settings: Settings,
) -> Result<Comparison, CompareError> {
    let (b, n) = (base.merged.latency, new.merged.latency);
    if b != n && b != Latency::Unknown && n != Latency::Unknown {
        return Err(CompareError::Mixed { base: b, new: n });
    }
    Ok(bootstrap::compare(&base.series, &new.series, settings)?)
}

/// The latency metrics that are `slower` by more than `pct` %.
pub fn slower_than(c: &Comparison, pct: f64) -> Vec<&Change> {
    c.changes
        .iter()
        .filter(|ch| ch.metric.is_latency() && ch.verdict == Verdict::Slower)
        .filter(|ch| ch.change_pct.is_none_or(|p| p > pct))
        .collect()
}

/// What the latencies of both runs are, for a heading.
pub fn latency_words(base: &LoggedRun, new: &LoggedRun) -> String {
    match (base.merged.latency, new.merged.latency) {
        (Latency::Unknown, Latency::Unknown) => {
            "latencies of unknown kind (the logs do not say corrected or uncorrected)".into()
        }
        (Latency::Unknown, k) | (k, Latency::Unknown) => format!(
            "{} latencies on one side, unknown on the other (check both runs were made in the same mode)",
            k.name()
        ),
        (k, _) => format!("{} latencies", k.name()),
    }
}

/// Writes the comparison as a table.
pub fn write_table(
    c: &Comparison,
    base: &LoggedRun,
    new: &LoggedRun,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "speedup compare: {}", latency_words(base, new))?;
    for (side, run, units, block) in [
        ("base", base, c.units.0, c.block_s.0),
        ("new", new, c.units.1, c.block_s.1),
    ] {
        let files: Vec<String> = run
            .merged
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let unit = if block == 1 {
            "seconds".to_string()
        } else {
            format!("{block}-second blocks")
        };
        writeln!(
            out,
            "  {side:<5} {} ({units} {unit} with responses)",
            files.join(", ")
        )?;
    }
    writeln!(
        out,
        "  change = new - base; {:.0}% interval from {} resamples of each run's seconds (seed {});\n  \
         a verdict needs the whole interval beyond ±{}% of base (--noise), and {} values above a percentile in each run\n",
        CONFIDENCE * 100.0,
        c.resamples,
        c.seed,
        c.noise_pct,
        bootstrap::MIN_TAIL
    )?;
    writeln!(
        out,
        "  {:<16} {:>11} {:>11} {:>10} {:>9}   {:<24} verdict",
        "metric", "base", "new", "change", "change %", "95% interval"
    )?;
    for ch in &c.changes {
        let (label, digits) = (ch.metric.label(), ch.metric.decimals());
        let pct = ch
            .change_pct
            .map_or("-".to_string(), |p| format!("{p:+.1}%"));
        let ci = format!("[{:+.digits$}, {:+.digits$}]", ch.ci.0, ch.ci.1);
        let too_few = if ch.too_few { " (too few values)" } else { "" };
        writeln!(
            out,
            "  {label:<16} {:>11.digits$} {:>11.digits$} {:>+10.digits$} {pct:>9}   {ci:<24} {}{too_few}",
            ch.base,
            ch.new,
            ch.change,
            ch.verdict.name()
        )?;
    }
    let named = |verdict: Verdict| -> Vec<&str> {
        c.changes
            .iter()
            .filter(|ch| ch.verdict == verdict)
            .map(|ch| ch.metric.name())
            .collect()
    };
    let (slower, faster) = (named(Verdict::Slower), named(Verdict::Faster));
    writeln!(out)?;
    if slower.is_empty() && faster.is_empty() {
        writeln!(out, "  no change told apart from the noise")
    } else {
        for (word, metrics) in [("slower", slower), ("faster", faster)] {
            if !metrics.is_empty() {
                writeln!(out, "  {word}: {}", metrics.join(", "))?;
            }
        }
        Ok(())
    }
}

/// The JSON of a comparison, schema `speedup-compare/1`: latencies in ms
/// (`base_ms`, `new_ms`, `change_ms`, `ci_ms`), throughput in responses per
/// second (`base_rps`, ...).
pub fn to_json(c: &Comparison, base: &LoggedRun, new: &LoggedRun) -> Value {
    let side = |run: &LoggedRun, units: usize, block: u64| {
        json!({
            "files": run.merged.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "latency": run.merged.latency.name(),
            "units": units,
            "unit_s": block,
        })
    };
    let metrics: Vec<Value> = c
        .changes
        .iter()
        .map(|ch| {
            let (unit, digits) = if ch.metric.is_latency() {
                ("ms", 3)
            } else {
                ("rps", 3)
            };
            let mut m = serde_json::Map::new();
            m.insert("name".into(), json!(ch.metric.name()));
            m.insert(format!("base_{unit}"), json!(round(ch.base, digits)));
            m.insert(format!("new_{unit}"), json!(round(ch.new, digits)));
            m.insert(format!("change_{unit}"), json!(round(ch.change, digits)));
            m.insert(
                "change_pct".into(),
                json!(ch.change_pct.map(|p| round(p, 2))),
            );
            m.insert(
                format!("ci_{unit}"),
                json!([round(ch.ci.0, digits), round(ch.ci.1, digits)]),
            );
            m.insert("verdict".into(), json!(ch.verdict.name()));
            m.insert("too_few".into(), json!(ch.too_few));
            Value::Object(m)
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "base": side(base, c.units.0, c.block_s.0),
        "new": side(new, c.units.1, c.block_s.1),
        "confidence": CONFIDENCE,
        "noise_pct": c.noise_pct,
        "min_tail": bootstrap::MIN_TAIL,
        "resamples": c.resamples,
        "seed": c.seed,
        "metrics": metrics,
    })
}

/// `x` to `digits` decimals (µs for ms), so the JSON shows no float noise.
fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}
