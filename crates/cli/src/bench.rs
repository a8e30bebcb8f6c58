//! `speedup bench` and `speedup merge`: flags to a validated plan, output
//! files opened before any request, a progress line on a terminal, then the
//! summary and the requested files. SIGINT and SIGTERM stop a run early
//! without losing it: the summary and every file still hold what finished.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use speedup_bench::{
    compare, json, merge, text, BenchArgs, BenchPlan, BenchResult, Progress, SeriesWriters,
};
use speedup_load::{Control, ErrorKind};

use crate::interrupt::{self, Interrupted};
use crate::report::TempLog;
use crate::staged::Staged;

/// Past `--timeout` after a stop signal, the time left for the last request
/// in flight to be recorded before the run is cut.
const RECORD_MARGIN: Duration = Duration::from_millis(500);

/// Flags of `speedup bench`: the library's, and the page.
#[derive(Debug, clap::Args)]
pub struct BenchCli {
    #[command(flatten)]
    args: BenchArgs,
    /// Also write the run's page to FILE: percentile spectrum, latency and
    /// responses per second over time, percentiles (as `speedup report`)
    #[arg(long = "report", value_name = "FILE")]
    report: Option<PathBuf>,
}

/// Runs `speedup bench`.
pub fn run(cli: BenchCli) -> anyhow::Result<ExitCode> {
    let args = cli.args;
    let plan = args.plan()?;
    // The page is drawn from the interval log: the one asked for, or a
    // temporary one beside the page.
    let report = match &cli.report {
        Some(path) => Some(report_output(path, &plan)?),
        None => None,
    };
    // Open every file first: a bad path fails before any request is sent.
    // The series are written as the seconds complete, so they are created
    // now; the JSON and CSV go to temporary files renamed at the end.
    let hdr_log = match (&plan.outputs.hdr_log, &report) {
        (Some(path), _) => open(Some(path), "--hdr-log")?,
        (None, Some((_, log))) => open(log.as_ref().map(|l| l.path()), "--report")?,
        (None, None) => None,
    };
    let writers = SeriesWriters {
        timeline: open(plan.outputs.timeline.as_deref(), "--timeline")?,
        hdr_log,
    };
    let json_to_stdout = plan.outputs.json.as_deref() == Some(Path::new("-"));
    let json_file = match &plan.outputs.json {
        Some(p) if !json_to_stdout => Some(Staged::create(p, "--json")?),
        _ => None,
    };
    let csv_file = match &plan.outputs.csv {
        Some(p) => Some(Staged::create(p, "--csv")?),
        None => None,
    };
    let control = Arc::new(Control::new());
    let interrupted = on_stop_signals(Arc::clone(&control), plan.engine.timeout)?;
    let progress = match (std::io::stderr().is_terminal(), args.progress) {
        (true, _) => Some(Bar::terminal()),
        (false, true) => Some(Bar::Lines(std::sync::Mutex::new(0))),
        (false, false) => None,
    };
    let result = match &progress {
        Some(bar) => speedup_bench::run(&plan, writers, bar, &control),
        None => speedup_bench::run(&plan, writers, &speedup_bench::Quiet, &control),
    };
    if let Some(Bar::Terminal(bar)) = &progress {
        bar.finish_and_clear();
    }
    let result = result.context("the run failed")?;
    // The summary goes to stdout, or to stderr when stdout carries the JSON.
    if json_to_stdout {
        text::write_summary(&result, &mut std::io::stderr().lock())?;
        write_to(&mut std::io::stdout().lock(), "--json", |w| {
            json::write_json(&json::to_json(&result), w)
        })?;
    } else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        text::write_summary(&result, &mut out)?;
        out.flush()?;
    }
    if let Some(file) = json_file {
        file.commit(|w| json::write_json(&json::to_json(&result), w))?;
    }
    if let Some(file) = csv_file {
        file.commit(|w| json::write_ab_csv(csv_hist(&result), w))?;
    }
    if let Some((page, temp)) = report {
        write_run_report(page, temp, &plan, &result)?;
    }
    if let Some(signal) = interrupted.name() {
        eprintln!(
            "speedup bench: interrupted by {signal}: the summary and the files hold the {} \
             requests that finished",
            result.total()
        );
        return Ok(ExitCode::FAILURE);
    }
    let certificate =
        result.tally.errors[speedup_bench::recorder::error_index(ErrorKind::Certificate)];
    if certificate > 0 && result.tally.responses() == 0 {
        eprintln!(
            "speedup bench: the TLS certificate of {} could not be verified against the trusted \
             root certificates (self-signed, expired, or issued for another name): check the URL's \
             host, or pass -k/--insecure to accept the certificate anyway",
            result.url
        );
        return Ok(ExitCode::FAILURE);
    }
    if result.total() > 0 && result.tally.responses() == 0 {
        eprintln!(
            "speedup bench: no request got a response from {} (see the errors above)",
            result.url
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The page's staged file, checked against the other outputs, and the
/// temporary interval log it is drawn from when no `--hdr-log` was asked for.
fn report_output(path: &Path, plan: &BenchPlan) -> anyhow::Result<(Staged, Option<TempLog>)> {
    let o = &plan.outputs;
    let others: Vec<(&str, &Path)> = [
        ("--json", o.json.as_deref().filter(|p| *p != Path::new("-"))),
        ("--csv", o.csv.as_deref()),
        ("--timeline", o.timeline.as_deref()),
        ("--hdr-log", o.hdr_log.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| Some((flag, p?)))
    .collect();
    let place = speedup_bench::plan::place(path);
    if let Some((flag, _)) = others
        .iter()
        .find(|(_, p)| *p == path || place.is_some() && speedup_bench::plan::place(p) == place)
    {
        anyhow::bail!(
            "--report {} and {flag} name the same file: give each output a file of its own",
            path.display()
        );
    }
    let temp = match o.hdr_log {
        Some(_) => None,
        None => Some(TempLog::beside(path)?),
    };
    Ok((Staged::create(path, "--report")?, temp))
}

/// `--report`: the run's page, drawn from its interval log (the
/// `--hdr-log`, or the temporary one, removed after).
fn write_run_report(
    page: Staged,
    temp: Option<TempLog>,
    plan: &BenchPlan,
    result: &BenchResult,
) -> anyhow::Result<()> {
    let asked = plan.outputs.hdr_log.as_deref();
    let log = asked
        .or_else(|| temp.as_ref().map(|t| t.path()))
        .context("--report: no interval log to draw from")?;
    let name = asked
        .and_then(|p| p.file_stem())
        .map_or("run".to_string(), |s| s.to_string_lossy().into_owned());
    let run = compare::read_run(&[log.to_path_buf()])
        .context("--report: reading the run's interval log back")?;
    let title = format!("speedup bench {}", result.url);
    crate::report::write_report(page, &title, &[(name, run)])
}

/// The latencies of the `--csv` file: corrected when there are any.
fn csv_hist(r: &BenchResult) -> &speedup_bench::hist::Hist {
    if r.open_loop() && !r.tally.corrected.is_empty() {
        &r.tally.corrected
    } else {
        &r.tally.uncorrected
    }
}

/// SIGINT and SIGTERM (a pod stopped, Ctrl-C): the first stops sending
/// and lets the requests in flight finish, each within `timeout`; the
/// second cuts them; a third exits at once. The run then ends as usual, so
/// the summary is printed and every file written.
fn on_stop_signals(control: Arc<Control>, timeout: Duration) -> std::io::Result<Interrupted> {
    interrupt::watch(&[libc::SIGINT, libc::SIGTERM], move |n, signal| match n {
        1 => {
            control.stop();
            eprintln!(
                "speedup bench: stopping: waiting up to {timeout:?} for the requests in flight \
                 (send the signal again to cut them)"
            );
            // Requests in flight end within their timeout; connections
            // idle until a later due time need not be waited for.
            let control = Arc::clone(&control);
            let _ = std::thread::Builder::new()
                .name("speedup-bench-stop".into())
                .spawn(move || {
                    std::thread::sleep(timeout + RECORD_MARGIN);
                    control.abort();
                });
        }
        2 => {
            eprintln!("speedup bench: cutting the requests in flight");
            control.abort();
        }
        _ => std::process::exit(128 + signal),
    })
}

/// Flags of `speedup merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Also write the merged result as JSON (schema speedup-merge/1) to FILE, '-' for stdout
    #[arg(long = "json", value_name = "FILE")]
    json: Option<PathBuf>,
    /// Interval logs written by `speedup bench --hdr-log`
    #[arg(value_name = "LOG", required = true)]
    logs: Vec<PathBuf>,
}

/// Runs `speedup merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(json) = args.json.as_deref().filter(|_| !to_stdout) {
        not_a_log("--json", json, &args.logs)?;
    }
    let merged = merge::merge(&args.logs)?;
    warn_unterminated("speedup merge", &merged);
    let mut summary: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    };
    writeln!(
        summary,
        "speedup merge: {} logs, {} intervals\n  requests:   {} over {:.2}s, {:.1} req/s\n",
        merged.files.len(),
        merged.intervals,
        merged.hist.len(),
        merged.span.as_secs_f64(),
        merged.rate()
    )?;
    if merged.other_tags > 0 {
        let s = if merged.other_tags == 1 { "" } else { "s" };
        eprintln!(
            "speedup merge: note: {} interval{s} tagged otherwise than Tag=uncorrected left out \
             (the untagged series is merged, as HdrHistogram's log processor does)",
            merged.other_tags
        );
    }
    let primary = match merged.latency {
        merge::Latency::Unknown => "merged",
        kind => kind.name(),
    };
    let s = speedup_stats::HistSummary::of(&merged.hist);
    let u = merged
        .uncorrected
        .as_ref()
        .and_then(speedup_stats::HistSummary::of);
    let mut columns = vec![(primary, s.as_ref())];
    if u.is_some() {
        columns.push(("uncorrected", u.as_ref()));
    }
    text::write_latency_table(&mut summary, &columns)?;
    summary.flush()?;
    match args.json.as_deref() {
        None => {}
        Some(p) if to_stdout || p == Path::new("-") => {
            json::write_json(&merge::to_json(&merged), &mut std::io::stdout().lock())?
        }
        Some(p) => Staged::create(p, "--json")?
            .commit(|w| json::write_json(&merge::to_json(&merged), w))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A result written at the end (`flag`'s `path`) never replaces one of the
/// logs read.
pub(crate) fn not_a_log(flag: &str, path: &Path, logs: &[PathBuf]) -> anyhow::Result<()> {
    let place = speedup_bench::plan::place(path);
    if let Some(log) = logs
        .iter()
        .find(|log| *log == path || place.is_some() && speedup_bench::plan::place(log) == place)
    {
        anyhow::bail!(
            "{flag} {} is the log {}: write the result to a file of its own",
            path.display(),
            log.display()
        );
    }
    Ok(())
}

/// Says which logs lost their last line (a write cut short).
pub(crate) fn warn_unterminated(prefix: &str, merged: &merge::Merged) {
    for file in &merged.unterminated {
        eprintln!(
            "{prefix}: warning: {}: the last line has no newline (a write cut short?): \
             left out, the lines before it are read",
            file.display()
        );
    }
}

/// Creates `path` for writing, with an error naming the flag.
fn open(path: Option<&Path>, flag: &str) -> anyhow::Result<Option<Box<dyn Write + Send>>> {
    let Some(path) = path else { return Ok(None) };
    let file = File::create(path).with_context(|| {
        format!(
            "{flag} {}: cannot create the file (check the directory and permissions)",
            path.display()
        )
    })?;
    Ok(Some(Box::new(BufWriter::new(file))))
}

fn write_to<W: Write + ?Sized>(
    w: &mut W,
    flag: &str,
    write: impl FnOnce(&mut W) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    write(w)
        .and_then(|()| w.flush())
        .with_context(|| format!("cannot write the {flag} file"))
}

/// The live progress: elapsed, requests, req/s, p99 so far, errors. A
/// redrawn line on a terminal; with `--progress` on a pipe, a plain line
/// a second.
enum Bar {
    /// indicatif's line on stderr.
    Terminal(ProgressBar),
    /// The last whole second a line was printed for.
    Lines(std::sync::Mutex<u64>),
}

impl Bar {
    fn terminal() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Bar::Terminal(bar)
    }
}

impl speedup_bench::Observer for Bar {
    fn progress(&self, p: &Progress) {
        let rps = p.completed as f64 / p.elapsed.as_secs_f64().max(1e-3);
        let line = format!(
            "{} requests, {rps:.0} req/s, p99 {}, {} errors",
            p.completed,
            // Nothing yet until the first second is complete.
            match p.p99_us {
                0 => "-".to_string(),
                us => text::human_us(us as f64),
            },
            p.errors
        );
        match self {
            Bar::Terminal(bar) => {
                bar.set_message(line);
                bar.tick();
            }
            Bar::Lines(last) => {
                let second = p.elapsed.as_secs();
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if second > *last {
                    *last = second;
                    eprintln!("{second:>4}s {line}");
                }
            }
        }
    }
}
