//! The human summary of a run: counts, rates, errors, and the latency
//! table with corrected and uncorrected columns side by side.

use std::io::{self, Write};

use speedup_stats::{HistSummary, BENCH_PERCENTILES};

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

/// A rate as a user would write it: `1000`, `0.5`, `399.27`.
pub fn rate_text(rate: f64) -> String {
    let text = format!("{rate:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
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
pub fn write_summary(r: &BenchResult, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let t = &r.tally;
    let mode = match (r.target_rate, r.stages.len()) {
        (Some(rate), 0) => format!("open loop at {} req/s", rate_text(rate)),
        (Some(mean), n) => format!(
            "open loop in {n} stage{} ({}), mean {mean:.1} req/s",
            if n == 1 { "" } else { "s" },
            stages_text(&r.stages)
        ),
        (None, _) => "closed loop".to_string(),
    };
    writeln!(out, "speedup bench {}", r.url)?;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let streams = match r.streams {
        1 => String::new(),
        n => format!(" × {n} streams"),
    };
    // HTTP/1.1 goes without saying; another protocol is named.
    let protocol = match r.protocol {
        "http/1.1" => String::new(),
        other => format!("{other} "),
    };
    writeln!(
        out,
        "  {mode}, {} {protocol}connection{}{streams}, {} thread{}",
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
            "  rate:       {:.1} req/s sent of {} target ({:.1}%), {:.1} req/s completed",
            r.achieved_rate(),
            rate_text(target),
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
    let resets: Vec<String> = t
        .reset_counts()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    if !resets.is_empty() {
        writeln!(out, "  resets:     {}", resets.join(", "))?;
    }
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
    if !r.targets.is_empty() {
        write_targets(r, out)?;
    }
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

/// `30s:500, 1m:500` as given.
fn stages_text(stages: &[speedup_load::Stage]) -> String {
    let stage = |s: &speedup_load::Stage| format!("{}s:{}", s.duration.as_secs_f64(), s.rate);
    stages.iter().map(stage).collect::<Vec<_>>().join(", ")
}

/// With `--targets`: a row per target (method, path, requests, ok, errors,
/// p50, p99, max), from the corrected histograms in an open-loop run.
fn write_targets(r: &BenchResult, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let width = r
        .targets
        .iter()
        .map(|(_, p)| p.len())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    writeln!(
        out,
        "\n  {:<7} {:<width$} {:>9} {:>9} {:>7} {:>10} {:>10} {:>10}",
        "method", "path", "requests", "ok", "errors", "p50", "p99", "max"
    )?;
    for ((method, path), t) in r.targets.iter().zip(&r.tally.targets) {
        let h = if r.open_loop() {
            &t.corrected
        } else {
            &t.uncorrected
        };
        let (p50, p99, max) = match HistSummary::of(h) {
            Some(s) => (
                human_us(s.at(50.0).unwrap_or(0) as f64),
                human_us(s.at(99.0).unwrap_or(0) as f64),
                human_us(s.max_us as f64),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let shown: String = path.chars().take(width).collect();
        writeln!(
            out,
            "  {method:<7} {shown:<width$} {:>9} {:>9} {:>7} {p50:>10} {p99:>10} {max:>10}",
            t.responses() + t.error_count(),
            t.ok(),
            t.error_count()
        )?;
    }
    Ok(())
}

/// After the summary: one line per `--slo` condition, its measured value
/// and whether it holds.
pub fn write_slo(
    verdicts: &[crate::slo::Verdict],
    out: &mut (impl Write + ?Sized),
) -> io::Result<()> {
    if verdicts.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for v in verdicts {
        let verdict = if v.ok { "pass" } else { "FAIL" };
        writeln!(out, "  slo {:<20} {:>12}  {verdict}", v.expr, v.shown)?;
    }
    Ok(())
}

/// The open-loop lines: sends that waited for a connection (the server's
/// doing) and the client's own lateness (never in the latencies).
fn write_lateness(r: &BenchResult, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
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
    out: &mut (impl Write + ?Sized),
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

/// `--find-max`: a row per step (rate asked, achieved, p50, p99, errors,
/// verdict and why), then the answer.
pub fn write_search(
    search: &crate::findmax::Search,
    slo: &str,
    out: &mut (impl Write + ?Sized),
) -> io::Result<()> {
    if let Some(probe) = search.probe {
        writeln!(
            out,
            "  closed-loop probe: {probe:.1} req/s; first step at a quarter of it"
        )?;
    }
    writeln!(
        out,
        "  {:>4} {:>10} {:>10} {:>10} {:>10} {:>7}  verdict",
        "step", "rate", "achieved", "p50", "p99", "errors"
    )?;
    for (i, step) in search.steps.iter().enumerate() {
        writeln!(out, "  {}", step_row(i + 1, step))?;
    }
    let steps = search.steps.len();
    match search.best() {
        Some((i, best)) => writeln!(
            out,
            "  highest rate within {slo}: {:.1} req/s (step {} of {steps})",
            best.rate,
            i + 1
        ),
        None => {
            writeln!(
            out,
            "  no rate tried met {slo} (the lowest, {:.1} req/s, did not): the server does not \
             meet it under this load, or --rate started too high",
            search.steps.iter().map(|s| s.rate).fold(f64::INFINITY, f64::min)
        )
        }
    }
}

/// One step's row.
pub fn step_row(number: usize, step: &crate::findmax::Step) -> String {
    let f = step.figures();
    format!(
        "{number:>4} {:>10.1} {:>10.1} {:>10} {:>10} {:>7}  {}",
        f.rate,
        f.achieved,
        human_us(f.p50_us as f64),
        human_us(f.p99_us as f64),
        f.errors,
        step.verdict()
    )
}
