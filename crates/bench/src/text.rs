//! The human summary of a run: counts, rates, errors, and the latency
//! table with corrected and uncorrected columns side by side.

use std::io::{self, Write};

use speedup_report::stats::{HistSummary, BENCH_PERCENTILES};

use crate::recorder::CLIENT_LATE_US;
use crate::run::BenchResult;

/// A latency in the unit that fits: `850us`, `12.35ms`, `1.20s`.
pub fn human_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}us")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// A table cell: `v` µs, marked `≥` at or above `floor_us`; a value within
/// the histogram's precision of the floor is shown as the floor itself.
fn cell(v: f64, floor_us: Option<u64>) -> String {
    match floor_us {
        Some(floor) if v >= floor as f64 => {
            let floor = floor as f64;
            let shown = if v <= floor * 1.001 + 1.0 { floor } else { v };
            format!("≥{}", human_us(shown))
        }
        _ => human_us(v),
    }
}

/// Writes the summary of `r`.
pub fn write_summary(r: &BenchResult, out: &mut impl Write) -> io::Result<()> {
    let t = &r.tally;
    let mode = match r.target_rate {
        Some(rate) => format!("open loop at {rate} req/s"),
        None => "closed loop".to_string(),
    };
    writeln!(out, "speedup bench {}", r.url)?;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    writeln!(
        out,
        "  {mode}, {} connection{}, {} thread{}",
        r.connections,
        plural(r.connections as usize),
        r.threads,
        plural(r.threads)
    )?;
    writeln!(
        out,
        "  requests:   {} in {:.2}s, {} ok (2xx), {} errors",
        r.total(),
        r.duration.as_secs_f64(),
        r.ok(),
        t.error_count()
    )?;
    match r.target_rate {
        Some(target) => writeln!(
            out,
            "  rate:       {:.1} req/s sent of {target} target ({:.1}%), {:.1} req/s completed",
            r.achieved_rate(),
            100.0 * r.achieved_rate() / target,
            r.completion_rate()
        )?,
        None => writeln!(out, "  rate:       {:.1} req/s", r.achieved_rate())?,
    }
    if r.open_loop() {
        write_lateness(r, out)?;
    }
    let statuses: Vec<String> = t
        .statuses()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect();
    let statuses = if statuses.is_empty() {
        "none".to_string()
    } else {
        statuses.join(", ")
    };
    writeln!(out, "  status:     {statuses}")?;
    let errors: Vec<String> = t
        .error_counts()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let errors = if errors.is_empty() {
        "none".to_string()
    } else {
        errors.join(", ")
    };
    writeln!(out, "  errors:     {errors}")?;
    writeln!(out)?;
    let corrected = r
        .open_loop()
        .then(|| HistSummary::of(&t.corrected))
        .flatten();
    let uncorrected = HistSummary::of(&t.uncorrected);
    let floor = r.timeout_floor_us();
    write_latency_table(
        out,
        &[
            ("corrected", corrected.as_ref()),
            ("uncorrected", uncorrected.as_ref()),
        ][usize::from(!r.open_loop())..],
        floor,
    )?;
    if let Some(floor) = floor {
        writeln!(
            out,
            "  (timed-out requests are in these figures at the {} timeout: '≥' marks a value \
             that may stand for one, a lower bound of what it took)",
            human_us(floor as f64)
        )?;
    }
    Ok(())
}

/// The open-loop lines: sends that waited for a connection (the server's
/// doing) and the client's own lateness (never in the latencies).
fn write_lateness(r: &BenchResult, out: &mut impl Write) -> io::Result<()> {
    let t = &r.tally;
    writeln!(
        out,
        "  late sends: {} waited for a free connection (the server's), worst {} late",
        t.late_count,
        human_us(t.late_max_us as f64)
    )?;
    if let Some(s) = HistSummary::of(&t.send_lateness) {
        writeln!(
            out,
            "  send lateness: p50 {}, p99 {}, max {} (the client's own, not in the latencies); \
             {} sends over {} late",
            human_us(s.at(50.0).unwrap_or(0) as f64),
            human_us(s.at(99.0).unwrap_or(0) as f64),
            human_us(s.max_us as f64),
            t.client_late_count,
            human_us(CLIENT_LATE_US as f64)
        )?;
    }
    if t.client_late_count > 0 {
        writeln!(
            out,
            "  note: the client itself could not keep the schedule for {} requests: give it \
             more threads (--threads) or a less busy machine",
            t.client_late_count
        )?;
    }
    Ok(())
}

/// Writes a latency table, one column per named summary (`-` when a
/// column has no value). Values at or above `floor_us` (the timeout, when
/// timed-out requests were recorded at it) are lower bounds: marked `≥`.
pub fn write_latency_table(
    out: &mut impl Write,
    columns: &[(&str, Option<&HistSummary>)],
    floor_us: Option<u64>,
) -> io::Result<()> {
    write!(out, "  {:<10}", "latency")?;
    for (name, _) in columns {
        write!(out, " {name:>12}")?;
    }
    writeln!(out)?;
    let mut row = |label: &str, value: &dyn Fn(&HistSummary) -> f64| -> io::Result<()> {
        write!(out, "  {label:<10}")?;
        for (_, summary) in columns {
            let cell = summary.map_or("-".to_string(), |s| cell(value(s), floor_us));
            write!(out, " {cell:>12}")?;
        }
        writeln!(out)
    };
    row("min", &|s| s.min_us as f64)?;
    row("mean", &|s| s.mean_us)?;
    row("stdev", &|s| s.stdev_us)?;
    row("max", &|s| s.max_us as f64)?;
    for p in BENCH_PERCENTILES {
        row(&format!("p{p}"), &|s| s.at(p).unwrap_or(0) as f64)?;
    }
    Ok(())
}
