//! The human summary of a run: counts, rates, errors, and the latency
//! table with corrected and uncorrected columns side by side.

use std::io::{self, Write};

use speedup_stats::{HistSummary, BENCH_PERCENTILES};

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
            "  rate:       {:.1} req/s achieved of {target} target ({:.1}%)",
            r.achieved_rate(),
            100.0 * r.achieved_rate() / target
        )?,
        None => writeln!(out, "  rate:       {:.1} req/s", r.achieved_rate())?,
    }
    if r.open_loop() {
        writeln!(
            out,
            "  late sends: {} (no connection free at the due time), worst {} late",
            t.late_count,
            human_us(t.late_max_us as f64)
        )?;
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
    write_latency_table(
        out,
        &[
            ("corrected", corrected.as_ref()),
            ("uncorrected", uncorrected.as_ref()),
        ][usize::from(!r.open_loop())..],
    )
}

/// Writes a latency table, one column per named summary (`-` when a
/// column has no value).
pub fn write_latency_table(
    out: &mut impl Write,
    columns: &[(&str, Option<&HistSummary>)],
) -> io::Result<()> {
    write!(out, "  {:<10}", "latency")?;
    for (name, _) in columns {
        write!(out, " {name:>12}")?;
    }
    writeln!(out)?;
    let mut row = |label: &str, value: &dyn Fn(&HistSummary) -> f64| -> io::Result<()> {
        write!(out, "  {label:<10}")?;
        for (_, summary) in columns {
            let cell = summary.map_or("-".to_string(), |s| human_us(value(s)));
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
