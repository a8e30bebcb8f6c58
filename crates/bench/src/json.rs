//! The JSON result, schema `speedup-bench/1` (documented in the README):
//! keys other tools may rely on; new keys may be added, none renamed
//! without a new schema version.

use std::io::{self, Write};

use serde_json::{json, Map, Value};
use speedup_stats::{ms_f64, HistSummary, BENCH_PERCENTILES};

use crate::hist::Hist;
use crate::run::BenchResult;

/// The schema name and version written in every result.
pub const SCHEMA: &str = "speedup-bench/1";

/// The JSON value of a run.
pub fn to_json(r: &BenchResult) -> Value {
    let t = &r.tally;
    let status: Map<String, Value> = t
        .statuses()
        .map(|(code, n)| (code.to_string(), json!(n)))
        .collect();
    let errors: Map<String, Value> = t
        .error_counts()
        .map(|(name, n)| (name.to_string(), json!(n)))
        .collect();
    json!({
        "schema": SCHEMA,
        "url": r.url,
        "mode": if r.open_loop() { "open" } else { "closed" },
        "connections": r.connections,
        "threads": r.threads,
        "duration_s": r.duration.as_secs_f64(),
        "requests": { "total": r.total(), "ok": r.ok(), "errors": t.error_count() },
        "rate": { "target": r.target_rate, "achieved": r.achieved_rate() },
        "late_sends": { "count": t.late_count, "max_ms": ms_f64(t.late_max_us) },
        "status": status,
        "errors": errors,
        "latency_ms": {
            "corrected": if r.open_loop() { latency_json(&t.corrected) } else { Value::Null },
            "uncorrected": latency_json(&t.uncorrected),
        },
    })
}

/// `{"min", "mean", "stdev", "max", "p50", ..., "p99.99"}` in ms, or null
/// for an empty histogram.
pub fn latency_json(h: &Hist) -> Value {
    let Some(s) = HistSummary::of(h) else {
        return Value::Null;
    };
    let ms = |us: f64| us / 1000.0;
    let mut m = Map::new();
    m.insert("count".into(), json!(s.count));
    m.insert("min".into(), json!(ms(s.min_us as f64)));
    m.insert("mean".into(), json!(ms(s.mean_us)));
    m.insert("stdev".into(), json!(ms(s.stdev_us)));
    m.insert("max".into(), json!(ms(s.max_us as f64)));
    for p in BENCH_PERCENTILES {
        m.insert(format!("p{p}"), json!(ms(s.at(p).unwrap_or(0) as f64)));
    }
    Value::Object(m)
}

/// Writes `value` pretty-printed, with a final newline.
pub fn write_json(value: &Value, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Writes ab's `-e` CSV (`Percentage served,Time in ms`, rows 0 to 100)
/// from a histogram, so `speedup plot` draws bench runs beside ab runs.
pub fn write_ab_csv(h: &Hist, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", speedup_stats::CDF_CSV_HEADER)?;
    for (i, us) in speedup_stats::hist_cdf_rows(h) {
        writeln!(out, "{i},{:.3}", ms_f64(us))?;
    }
    Ok(())
}
