//! `speedup lab`: the article reproduced in one command. Turns the flags
//! into a [`LabPlan`], runs it with a progress bar per scenario, writes the
//! report folder, prints the summary table, and fails loudly when a
//! scenario had failures or non-2xx responses. SIGINT and SIGTERM remove
//! the half-written report folder before the process exits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use speedup_lab::staging::{Abandon, Staging};
use speedup_lab::{
    CapacityRun, CapacitySettings, Chapter, LabPlan, LabResults, Measurement, Observer, Scenario,
};
use speedup_report::escape::escaped;

use crate::interrupt::{exit_status, Blocked};

/// Flags of `speedup lab`.
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// Requests per scenario (ab's -n)
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// Requests in flight at once (ab's -c)
    #[arg(long, default_value_t = 100)]
    concurrency: u32,
    /// Seconds each request asks the server to sleep: the ideal response time
    #[arg(long, default_value_t = 0.1, value_parser = parse_sleep)]
    sleep: f64,
    /// Threads in the embedded server's blocking pool (FastAPI: 40)
    #[arg(long, default_value_t = 40)]
    threads: usize,
    /// A scenario to run, NAME=PATH (repeatable; default: the article's baseline and async)
    #[arg(long = "scenario", value_name = "NAME=PATH")]
    scenarios: Vec<String>,
    /// Run against this server (http://host:port) instead of the embedded one
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// Also run the scenarios against this server, NAME=URL (repeatable)
    #[arg(long = "compare", value_name = "NAME=URL")]
    compare: Vec<String>,
    /// The report folder: new, empty, or an earlier lab report
    #[arg(long = "out", value_name = "DIR", default_value = "lab-report")]
    out: PathBuf,
    /// Write the report into an --out folder that holds other files (files
    /// of the report's names are replaced, the others left alone)
    #[arg(long)]
    force: bool,
    /// Skip the unrecorded warm-up requests before each scenario
    #[arg(long)]
    no_warmup: bool,
    /// Which part of the series: io (the article), cpu (part 2), mixed
    /// (part 3), stall (blocking in async), capacity (the highest rate
    /// within an SLO), or all
    #[arg(long, default_value = "io", value_name = "CHAPTER", value_parser = parse_chapter)]
    chapter: Vec<Chapters>,
    /// Also sweep the article's two endpoints over concurrency 1 to 200
    #[arg(long)]
    sweep: bool,
    /// Capacity chapter: how long each step sends, e.g. 2s, 500ms
    #[arg(long = "step-duration", value_name = "TIME", default_value = "2s",
          value_parser = speedup_bench::duration::parse_duration)]
    step_duration: Duration,
    /// Capacity chapter: at most this many steps per endpoint
    #[arg(long = "max-steps", value_name = "N", default_value_t = 10)]
    max_steps: u32,
    /// Capacity chapter: connections the client keeps open
    #[arg(long = "connections", value_name = "N", default_value_t = 256)]
    connections: u32,
}

/// What one `--chapter` names: one chapter, or every one (`all`).
#[derive(Debug, Clone)]
struct Chapters(Vec<Chapter>);

/// `--chapter`: one name, or `all` for every chapter.
fn parse_chapter(text: &str) -> Result<Chapters, String> {
    Chapter::parse(text).map(Chapters)
}

/// `--sleep`: seconds above 0 (a zero sleep measures nothing the article
/// is about), checked when parsing.
fn parse_sleep(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        Ok(_) => Err("--sleep must be a number of seconds above 0, e.g. --sleep 0.1".into()),
        Err(_) => Err("--sleep must be a number of seconds, e.g. --sleep 0.1".into()),
    }
}

/// Runs `speedup lab`.
pub fn run(args: LabArgs) -> anyhow::Result<ExitCode> {
    let force = args.force;
    let plan = plan(args)?;
    // Before any work: the plan's ranges, an --out the report may be
    // written to (see `speedup_lab::staging`), and (inside `run`) every
    // external server. The signals are blocked before the temporary folder
    // exists and before any thread starts, so none can leave it behind.
    plan.validate()?;
    room_for(&plan)?;
    let signals = Blocked::new(&[libc::SIGINT, libc::SIGTERM])?;
    let staging = Staging::new(&plan.out_dir, force)?;
    signals.watch(remove_and_exit(staging.abandoner()))?;
    let mut observer = Progress::new();
    let results = speedup_lab::run(&plan, &mut observer)?;
    let mut out = std::io::stdout().lock();
    // The figures are printed first, so a failed write loses nothing.
    print_tables(&mut out, &plan, &results)?;
    let index = speedup_lab::folder::write(&plan, &results, staging)?;
    writeln!(out, "\nreport: {}", index.display())?;
    let bad: Vec<String> = results
        .measurements()
        .filter(|m| m.row.failures > 0 || m.row.non_2xx > 0)
        .map(|m| {
            format!(
                "scenario `{}` ({}): {} failed, {} non-2xx of {} requests",
                m.row.name, m.row.url, m.row.failures, m.row.non_2xx, m.row.requests
            )
        })
        .collect();
    if !bad.is_empty() {
        bail!(
            "{}\nthe figures above are not response times of a working endpoint: check the path \
             (the article's `/asnyc/` typo answers 404) and the server, then run again",
            bad.join("\n")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Raises the open-files limit for the lab's connections (both ends of
/// each are in this process), or says which flag to lower.
fn room_for(plan: &LabPlan) -> anyhow::Result<()> {
    let wanted = plan.open_files();
    let limits = crate::limits::raise_open_files(wanted);
    if !limits.after.fits(wanted) {
        let now = limits.after.soft.unwrap_or(u64::MAX);
        bail!(
            "the open-files limit ({now}) is too low for this run, which needs about {wanted} \
             (each connection is open twice here, in the client and the embedded server): lower \
             --connections (or --concurrency), or raise the limit with `ulimit -n`"
        );
    }
    Ok(())
}

/// What SIGINT and SIGTERM do: the first removes the temporary report
/// folder (after a move into place in progress, if any: see
/// [`Abandon::abandon`]) on a thread of its own, then exits as the signal
/// would; a second one exits at once.
fn remove_and_exit(abandon: Abandon) -> impl FnMut(u32, libc::c_int) + Send + 'static {
    move |n, signal| {
        if n > 1 {
            std::process::exit(exit_status(signal));
        }
        let abandon = abandon.clone();
        let cleanup = move || {
            abandon.abandon();
            std::process::exit(exit_status(signal));
        };
        if std::thread::Builder::new()
            .name("speedup-lab-cleanup".into())
            .spawn(cleanup.clone())
            .is_err()
        {
            cleanup();
        }
    }
}

/// Validates flag syntax into a plan (ranges are checked by the plan).
fn plan(args: LabArgs) -> anyhow::Result<LabPlan> {
    let scenarios = if args.scenarios.is_empty() {
        Scenario::article(args.sleep)
    } else {
        args.scenarios
            .iter()
            .map(|s| {
                let (name, path) =
                    split_pair(s, "--scenario", "NAME=PATH", "baseline=/baseline/sleep/0.1")?;
                Ok(Scenario { name, path })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let compare = args
        .compare
        .iter()
        .map(|s| split_pair(s, "--compare", "NAME=URL", "FastAPI=http://127.0.0.1:8000"))
        .collect::<anyhow::Result<_>>()?;
    Ok(LabPlan {
        requests: args.requests,
        concurrency: args.concurrency,
        sleep: args.sleep,
        threads: args.threads,
        scenarios,
        target: args.target,
        compare,
        warmup: !args.no_warmup,
        out_dir: args.out,
        chapters: chapters(&args.chapter),
        sweep: args.sweep,
        capacity: CapacitySettings {
            step: args.step_duration,
            max_steps: args.max_steps,
            connections: args.connections,
        },
    })
}

/// The chapters asked for, in the series' order, each once.
fn chapters(asked: &[Chapters]) -> Vec<Chapter> {
    Chapter::ALL
        .into_iter()
        .filter(|c| asked.iter().any(|a| a.0.contains(c)))
        .collect()
}

fn split_pair(
    raw: &str,
    flag: &str,
    form: &str,
    example: &str,
) -> anyhow::Result<(String, String)> {
    match raw.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => bail!(
            "{flag} {}: expected {form}, e.g. {flag} {example}",
            escaped(raw)
        ),
    }
}

/// Every chapter's table, then the sweep's p95s.
fn print_tables(out: &mut impl Write, plan: &LabPlan, results: &LabResults) -> std::io::Result<()> {
    if !results.io.is_empty() {
        print_table(out, plan.ideal_ms(), &results.io)?;
    }
    for run in &results.chapters {
        let n = run.fibo_n.map_or(String::new(), |n| format!(", n = {n}"));
        writeln!(
            out,
            "\n{} (ab -n{} -c{}{n}; ideal {:.1} ms)",
            run.chapter.title(),
            run.requests,
            run.concurrency,
            run.ideal_ms
        )?;
        print_table(out, run.ideal_ms, &run.measurements)?;
        for (m, probe) in run.measurements.iter().zip(&run.probes) {
            if let Some(ms) = probe {
                writeln!(
                    out,
                    "  during {}: /async/sleep/0.1 took {ms:.0} ms",
                    m.row.name
                )?;
            }
        }
    }
    if let Some(capacity) = &results.capacity {
        print_capacity(out, capacity)?;
    }
    if let Some(sweep) = &results.sweep {
        writeln!(out, "\nconcurrency sweep, p95 ms")?;
        write!(out, "{:<10}", "clients")?;
        for level in speedup_lab::sweep::LEVELS {
            write!(out, "{level:>8}")?;
        }
        writeln!(out)?;
        for endpoint in sweep.endpoints() {
            write!(out, "{endpoint:<10}")?;
            for p in sweep.points.iter().filter(|p| p.endpoint == endpoint) {
                write!(out, "{:>8.1}", p.p95_ms)?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// The capacity chapter: each endpoint's steps and answer, as `speedup
/// bench --find-max` prints them, and why an answer is a lower bound.
fn print_capacity(out: &mut impl Write, run: &CapacityRun) -> std::io::Result<()> {
    let step = run.settings.step;
    writeln!(
        out,
        "\n{} ({}; steps of {step:?}, {} connections)",
        Chapter::Capacity.title(),
        run.slo,
        run.settings.connections
    )?;
    for endpoint in &run.endpoints {
        let model = endpoint.model_rps.map_or(String::new(), |cap| {
            format!(" (model: at most {cap:.0} req/s)")
        });
        writeln!(out, "\n{}: {}{model}", endpoint.name, endpoint.url)?;
        speedup_bench::text::write_search(&endpoint.search, &run.slo, out)?;
        if let Some(why) = endpoint.answer.lower_bound(run.settings.connections) {
            writeln!(out, "  a lower bound: {why}")?;
        }
    }
    Ok(())
}

/// One summary table, times in ms.
fn print_table(out: &mut impl Write, ideal: f64, results: &[Measurement]) -> std::io::Result<()> {
    let width = results
        .iter()
        .map(|m| m.row.name.len())
        .chain([8])
        .max()
        .unwrap_or(8);
    writeln!(
        out,
        "\n{:<width$}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>6}  {:>7}",
        "scenario", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms", "failed", "non-2xx"
    )?;
    writeln!(
        out,
        "{:<width$}  {:>8}  {ideal:>8.1}  {ideal:>8.1}  {ideal:>8.1}  {ideal:>8.1}  {ideal:>8.1}  {:>6}  {:>7}",
        "ideal", "-", "-", "-"
    )?;
    for m in results {
        let r = &m.row;
        writeln!(
            out,
            "{:<width$}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}  {:>8.1}  {:>6}  {:>7}",
            r.name, r.rps, r.p50_ms, r.p90_ms, r.p95_ms, r.p99_ms, r.max_ms, r.failures, r.non_2xx
        )?;
    }
    Ok(())
}

/// Progress on stderr: a bar per scenario on a terminal, plain lines otherwise.
struct Progress {
    terminal: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            bar: None,
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, name: &str, url: &str, total: u64) {
        if self.terminal {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            self.bar = Some(bar);
        } else {
            eprintln!("{name}: {total} requests to {url}");
        }
    }

    fn progress(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn step(&mut self, name: &str, line: &str) {
        eprintln!("{name}: {line}");
    }

    fn finished(&mut self, m: &Measurement) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        if !self.terminal {
            // The run's own duration (first request to last response), not
            // a time rounded to the progress poll.
            eprintln!(
                "{}: {} requests in {:.3} s",
                m.row.name,
                m.row.requests,
                m.report.elapsed.as_secs_f64()
            );
        }
    }
}
