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
mod page;
mod search;

use speedup_bench::plan::is_stdout;
use speedup_bench::slo::Verdict;
use speedup_bench::{json, text, BenchArgs, BenchResult, Progress, SeriesWriters};
use speedup_load::{Control, ErrorKind};

use crate::bench_live as live;
use crate::interrupt::{self, Interrupted};
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
    for note in &plan.notes {
        eprintln!("speedup bench: note: {note}");
    }
    // Room for the connections; a limit still too low is the engine's
    // error, with both numbers.
    crate::limits::raise_open_files(speedup_load::descriptors_needed(&plan.engine));
    if let Some(settings) = &plan.find_max {
        return search::run(&plan, settings, args.progress);
    }
    // Listen first, then open every file: a taken port or a bad path fails
    // before any file is replaced or any request sent. The series are
    // written as the seconds complete, so they are created now; the JSON
    // and CSV go to temporary files renamed at the end.
    let bound = live::bind(&args.live, plan.engine.rate_profile().map(|p| p.mean()))?;
    // The page is drawn from the interval log: the one asked for, or a
    // temporary one beside the page.
    let report = match &cli.report {
        Some(path) => Some(page::output(path, &plan)?),
        None => None,
    };
    let hdr_log = match (&plan.outputs.hdr_log, &report) {
        (Some(path), _) => open(Some(path), "--hdr-log")?,
        (None, Some((_, Some(log)))) => Some(log.writer()?),
        (None, Some((_, None))) => None,
        (None, None) => None,
    };
    let writers = SeriesWriters {
        timeline: open(plan.outputs.timeline.as_deref(), "--timeline")?,
        hdr_log,
        metrics: bound.as_ref().map(live::Bound::metrics),
    };
    let json_out = ResultFile::create(plan.outputs.json.as_deref(), "--json")?;
    let csv_out = ResultFile::create(plan.outputs.csv.as_deref(), "--csv")?;
    let control = Arc::new(Control::new());
    let interrupted = on_stop_signals(Arc::clone(&control), plan.engine.timeout)?;
    let live = bound.map(live::serve).transpose()?;
    let progress = Bar::new(args.progress);
    let result = match &progress {
        Some(bar) => speedup_bench::run(&plan, writers, bar, &control),
        None => speedup_bench::run(&plan, writers, &speedup_bench::Quiet, &control),
    };
    if let Some(bar) = &progress {
        bar.finish();
    }
    let result = result.context("the run failed")?;
    let verdicts: Vec<Verdict> = plan.slo.iter().map(|c| c.check(&result)).collect();
    summary(&plan, |out| {
        text::write_summary(&result, out)?;
        text::write_slo(&verdicts, out)
    })?;
    if let Some(out) = json_out {
        let mut value = json::to_json(&result);
        if !verdicts.is_empty() {
            value["slo"] = json::slo_json(&verdicts);
        }
        out.commit(|w| json::write_json(&value, w))?;
    }
    if let Some(out) = csv_out {
        out.commit(|w| json::write_ab_csv(csv_hist(&result), w))?;
    }
    if let Some((out, temp)) = report {
        page::write(out, temp, &plan, &result)?;
    }
    if let Some(live) = &live {
        live::linger(live, args.live.metrics_linger, &control);
    }
    if let Some(failure) = failure(&result, &interrupted) {
        eprintln!("speedup bench: {failure}");
        return Ok(ExitCode::FAILURE);
    }
    if verdicts.iter().any(|v| !v.ok) {
        eprintln!("speedup bench: the run did not meet --slo (see above)");
        return Ok(ExitCode::from(SLO_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit status of a run that did not meet its `--slo` (1 is a run
/// that failed as a run).
pub(crate) const SLO_FAILED: u8 = 2;

/// Writes the human summary to stdout, or to stderr when an output goes
/// to stdout.
pub(crate) fn summary(
    plan: &speedup_bench::BenchPlan,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    if !plan.outputs.to_stdout().is_empty() {
        write(&mut std::io::stderr().lock())?;
    } else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        write(&mut out)?;
        out.flush()?;
    }
    Ok(())
}

/// Why a run failed as a run (exit 1), if it did.
pub(crate) fn failure(result: &BenchResult, interrupted: &Interrupted) -> Option<String> {
    if result.unreachable {
        return Some(format!(
            "nothing is listening at {}: no connection could be made in the first second \
             (see the connect errors above): check the host and port, and that the server runs",
            result.url
        ));
    }
    if let Some(chosen) = &result.alpn_refused {
        return Some(format!(
            "the server does not speak HTTP/2 (ALPN chose {chosen}): drop --http2"
        ));
    }
    if let Some(signal) = interrupted.name() {
        return Some(format!(
            "interrupted by {signal}: the summary and the files hold the {} requests that \
             finished",
            result.total()
        ));
    }
    let certificate =
        result.tally.errors[speedup_bench::recorder::error_index(ErrorKind::Certificate)];
    if certificate > 0 && result.tally.responses() == 0 {
        return Some(format!(
            "the TLS certificate of {} could not be verified against the trusted root \
             certificates (self-signed, expired, or issued for another name): check the URL's \
             host, or pass -k/--insecure to accept the certificate anyway",
            result.url
        ));
    }
    if result.total() > 0 && result.tally.responses() == 0 {
        return Some(format!(
            "no request got a response from {} (see the errors above)",
            result.url
        ));
    }
    None
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
pub(crate) fn on_stop_signals(
    control: Arc<Control>,
    timeout: Duration,
) -> std::io::Result<Interrupted> {
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

/// Creates `path` for writing (`-`: stdout), with an error naming the flag.
pub(crate) fn open(
    path: Option<&Path>,
    flag: &str,
) -> anyhow::Result<Option<Box<dyn Write + Send>>> {
    let Some(path) = path else { return Ok(None) };
    if is_stdout(path) {
        return Ok(Some(Box::new(std::io::stdout())));
    }
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

/// Where a result written at the end goes: stdout (`-`), or a file staged
/// beside its destination.
pub(crate) enum ResultFile {
    Stdout(&'static str),
    File(Staged),
}

impl ResultFile {
    /// Prepares the output of `flag`, if given.
    pub(crate) fn create(
        path: Option<&Path>,
        flag: &'static str,
    ) -> anyhow::Result<Option<ResultFile>> {
        Ok(match path {
            None => None,
            Some(p) if is_stdout(p) => Some(ResultFile::Stdout(flag)),
            Some(p) => Some(ResultFile::File(Staged::create(p, flag)?)),
        })
    }

    /// Writes the result with `write`, then puts it in place.
    pub(crate) fn commit(
        self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            ResultFile::Stdout(flag) => write_to(&mut std::io::stdout().lock(), flag, |w| write(w)),
            ResultFile::File(file) => file.commit(|w| write(w)),
        }
    }
}

/// The live progress: elapsed, requests, req/s, p99 so far, errors. A
/// redrawn line on a terminal; with `--progress` on a pipe, a plain line
/// a second.
pub(crate) enum Bar {
    /// indicatif's line on stderr.
    Terminal(ProgressBar),
    /// The last whole second a line was printed for.
    Lines(std::sync::Mutex<u64>),
}

impl Bar {
    /// The live line on a terminal, plain lines with `--progress`, or none.
    pub(crate) fn new(progress: bool) -> Option<Bar> {
        match (std::io::stderr().is_terminal(), progress) {
            (true, _) => Some(Bar::terminal()),
            (false, true) => Some(Bar::Lines(std::sync::Mutex::new(0))),
            (false, false) => None,
        }
    }

    fn terminal() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Bar::Terminal(bar)
    }

    /// Clears the live line.
    pub(crate) fn finish(&self) {
        if let Bar::Terminal(bar) = self {
            bar.finish_and_clear();
        }
    }

    /// Prints `line` on stderr above the live line.
    pub(crate) fn println(&self, line: &str) {
        match self {
            Bar::Terminal(bar) => bar.suspend(|| eprintln!("{line}")),
            Bar::Lines(_) => eprintln!("{line}"),
        }
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
