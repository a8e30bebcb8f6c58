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
    let mut value = json!({
        "schema": SCHEMA,
        "url": r.url,
        "mode": if r.open_loop() { "open" } else { "closed" },
        "protocol": r.protocol,
        "connections": r.connections,
        "threads": r.threads,
        "duration_s": r.duration.as_secs_f64(),
        "started_unix_ms": crate::start::unix_ms(r.started),
        "requests": { "total": r.total(), "ok": r.ok(), "errors": t.error_count() },
        "rate": {
            "target": r.target_rate,
            "achieved": r.achieved_rate(),
            "completed": r.completion_rate(),
        },
        "late_sends": {
            "count": t.late_count,
            "max_ms": ms_f64(t.late_max_us),
            "client_late_count": t.client_late_count,
        },
        "send_lateness_us": lateness_json(r),
        "status": status,
        "errors": errors,
        "latency_ms": {
            "corrected": if r.open_loop() { latency_json(&t.corrected) } else { Value::Null },
            "uncorrected": latency_json(&t.uncorrected),
        },
        "timeouts_recorded_at_ms": ms_f64(r.timeout.as_micros() as u64),
    });
    let object = value.as_object_mut().expect("an object");
    let resets: Map<String, Value> = t.reset_counts().map(|(code, n)| (code, json!(n))).collect();
    if !resets.is_empty() {
        object.insert("resets".into(), Value::Object(resets));
    }
    if let Some(batch) = r.send_batch {
        object.insert("send_batch_us".into(), json!(batch.as_micros() as u64));
    }
    if !r.stages.is_empty() {
        let stages: Vec<Value> = r
            .stages
            .iter()
            .map(|s| json!({"duration_s": s.duration.as_secs_f64(), "rate": s.rate}))
            .collect();
        object.insert("stages".into(), Value::Array(stages));
    }
    if !r.targets.is_empty() {
        object.insert("targets".into(), targets_json(r));
    }
    value
}

/// With `--targets`: `[{"method", "url", "requests", "status", "errors",
/// "latency_ms"}]`, in the targets file's order.
fn targets_json(r: &BenchResult) -> Value {
    let base = r.url.trim_end_matches('/');
    let rows: Vec<Value> = r
        .targets
        .iter()
        .zip(&r.tally.targets)
        .map(|((method, path), t)| {
            let status: Map<String, Value> = t
                .statuses()
                .into_iter()
                .map(|(code, n)| (code.to_string(), json!(n)))
                .collect();
            let errors: Map<String, Value> = t
                .error_counts()
                .map(|(name, n)| (name.to_string(), json!(n)))
                .collect();
            json!({
                "method": method,
                "url": format!("{base}{path}"),
                "requests": {
                    "total": t.responses() + t.error_count(),
                    "ok": t.ok(),
                    "errors": t.error_count(),
                },
                "status": status,
                "errors": errors,
                "latency_ms": {
                    "corrected": if r.open_loop() { latency_json(&t.corrected) } else { Value::Null },
                    "uncorrected": latency_json(&t.uncorrected),
                },
            })
        })
        .collect();
    Value::Array(rows)
}

/// `{"rate": R|null, "steps": [{"rate", "achieved", "p50_ms", "p99_ms",
/// "errors", "ok"}]}` of a `--find-max` search.
pub fn search_json(search: &crate::findmax::Search) -> Value {
    let steps: Vec<Value> = search
        .steps
        .iter()
        .map(|s| {
            let f = s.figures();
            json!({
                "rate": f.rate,
                "achieved": f.achieved,
                "p50_ms": ms_f64(f.p50_us),
                "p99_ms": ms_f64(f.p99_us),
                "errors": f.errors,
                "ok": f.ok,
            })
        })
        .collect();
    json!({
        "rate": search.best().map(|(_, s)| s.rate),
        "steps": steps,
    })
}

/// `[{"expr", "value", "ok"}]` of the `--slo` verdicts.
pub fn slo_json(verdicts: &[crate::slo::Verdict]) -> Value {
    Value::Array(
        verdicts
            .iter()
            .map(|v| json!({"expr": v.expr, "value": v.value, "ok": v.ok}))
            .collect(),
    )
}

/// Open loop: `{"p50", "p99", "max"}` of the client's own send lateness, µs;
/// null in closed loop.
fn lateness_json(r: &BenchResult) -> Value {
    match r
        .open_loop()
        .then(|| HistSummary::of(&r.tally.send_lateness))
        .flatten()
    {
        Some(s) => json!({
            "p50": s.at(50.0).unwrap_or(0),
            "p99": s.at(99.0).unwrap_or(0),
            "max": s.max_us,
        }),
        None => Value::Null,
    }
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
pub fn write_json(value: &Value, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Writes ab's `-e` CSV (`Percentage served,Time in ms`, rows 0 to 100)
/// from a histogram, so `speedup plot` draws bench runs beside ab runs.
pub fn write_ab_csv(h: &Hist, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    writeln!(out, "{}", speedup_stats::CDF_CSV_HEADER)?;
    for (i, us) in speedup_stats::hist_cdf_rows(h) {
        writeln!(out, "{i},{:.3}", ms_f64(us))?;
    }
    Ok(())
}
