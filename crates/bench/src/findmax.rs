//! `--find-max`: the highest rate a server sustains within its SLO, found
//! by open-loop steps instead of by hand (wrk2 users bisect `-R` themselves).
//!
//! Each step is a fresh open-loop run of `--step-duration` at one rate,
//! after a short settle (a warm-up, not recorded). The first step runs at
//! `--rate`, or at a quarter of what a short closed-loop probe got through;
//! the rate doubles until a step violates the SLO (halves while the first
//! ones do), then bisects between the best passing rate and the lowest
//! failing one until they are within `--precision` of each other, in at
//! most `--max-steps` steps. A step that could not keep its rate violates
//! it too: achieved below 99 % of the target, or more than 1 % of its sends
//! waiting for a free connection (the server fell behind). The client's own
//! lateness is shown but is not the server's failure. A step must hold at
//! least [`MIN_REQUESTS`] requests to mean anything: the search goes no
//! lower.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use speedup_load::Control;

use crate::intervals::SeriesWriters;
use crate::plan::{BenchPlan, FindMax};
use crate::run::{run, BenchError, BenchResult, Observer};
use crate::slo::Verdict;

/// A step keeps its rate if it achieves at least this share of it...
const KEEPS_RATE: f64 = 0.99;
/// ...and at most this share of its sends are late.
const LATE_SHARE: f64 = 0.01;
/// A step's fewest requests: below `MIN_REQUESTS / --step-duration` the
/// search gives up.
pub const MIN_REQUESTS: f64 = 10.0;

/// One step of the search.
#[derive(Debug, Clone)]
pub struct Step {
    /// The rate asked for, requests per second.
    pub rate: f64,
    /// What the step measured.
    pub result: BenchResult,
    /// The SLO's conditions on it.
    pub verdicts: Vec<Verdict>,
    /// Why the step could not keep its rate, if it could not.
    pub unkept: Option<String>,
}

impl Step {
    /// Whether the step met the SLO and kept its rate.
    pub fn ok(&self) -> bool {
        self.unkept.is_none() && self.verdicts.iter().all(|v| v.ok)
    }

    /// Its figures, as the table and the JSON show them: latencies from
    /// the corrected histogram (every step is open loop).
    pub fn figures(&self) -> StepFigures {
        let r = &self.result;
        let p = |q| speedup_stats::hist_percentile(&r.tally.corrected, q);
        StepFigures {
            rate: self.rate,
            achieved: r.achieved_rate(),
            p50_us: p(50.0),
            p99_us: p(99.0),
            errors: r.tally.error_count(),
            ok: self.ok(),
        }
    }

    /// `pass`, or why not: the first condition that failed with its value
    /// (`FAIL p99<100ms (240.12ms)`), else why the rate was not kept.
    pub fn verdict(&self) -> String {
        match (&self.unkept, self.verdicts.iter().find(|v| !v.ok)) {
            (None, None) => "pass".to_string(),
            (_, Some(v)) => format!("FAIL {} ({})", v.expr, v.shown),
            (Some(why), None) => format!("FAIL: {why}"),
        }
    }
}

/// One step's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepFigures {
    /// The rate asked for, requests per second.
    pub rate: f64,
    /// The rate sent ([`BenchResult::achieved_rate`]).
    pub achieved: f64,
    /// Median corrected latency, µs.
    pub p50_us: u64,
    /// 99th percentile corrected latency, µs.
    pub p99_us: u64,
    /// Requests without a response.
    pub errors: u64,
    /// Whether the step met the SLO and kept its rate.
    pub ok: bool,
}

/// What the search found.
#[derive(Debug, Clone)]
pub struct Search {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The rate of the closed-loop probe that chose the first step, if one
    /// ran (req/s).
    pub probe: Option<f64>,
}

impl Search {
    /// The highest rate that passed, and its step (0-based).
    pub fn best(&self) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ok())
            .max_by(|a, b| a.1.rate.total_cmp(&b.1.rate))
    }
}

/// Reports each step as it ends (the CLI prints a line; tests ignore it).
pub trait StepObserver: Observer {
    /// Called after each step.
    fn step(&self, _number: usize, _step: &Step) {}
}

impl StepObserver for crate::run::Quiet {}

/// Runs the search of `plan` (whose `find_max` is set). With `hdr_log`,
/// each step's intervals are written to it tagged `Tag=step-N`, on one
/// time axis.
pub fn find_max(
    plan: &BenchPlan,
    settings: &FindMax,
    mut hdr_log: Option<Box<dyn Write + Send>>,
    observer: &dyn StepObserver,
    control: &Control,
) -> Result<Search, BenchError> {
    let (start, probe) = match settings.start {
        Some(rate) => (rate, None),
        None => {
            let got = probe(plan, settings, observer, control)?;
            ((got / 4.0).max(1.0), Some(got))
        }
    };
    let mut log = hdr_log.as_mut().map(|w| TaggedLog::new(w.as_mut()));
    let mut steps: Vec<Step> = Vec::new();
    let (mut passing, mut failing): (Option<f64>, Option<f64>) = (None, None);
    let lowest = MIN_REQUESTS / settings.step.as_secs_f64();
    let mut rate = start.max(lowest);
    while steps.len() < settings.max_steps as usize && !control.is_stopped() {
        let mut writers = SeriesWriters::default();
        let buffer = Buffer::default();
        if log.is_some() {
            writers.hdr_log = Some(Box::new(buffer.clone()));
        }
        let step = step(plan, settings, rate, writers, observer, control)?;
        if let Some(log) = &mut log {
            log.append(&buffer.take(), steps.len() + 1)
                .map_err(|source| BenchError::Write {
                    what: "--hdr-log",
                    source,
                })?;
        }
        let ok = step.ok();
        observer.step(steps.len() + 1, &step);
        steps.push(step);
        if ok {
            passing = Some(passing.map_or(rate, |p| p.max(rate)));
        } else {
            failing = Some(failing.map_or(rate, |f| f.min(rate)));
        }
        rate = match (passing, failing) {
            (Some(p), None) => p * 2.0,
            (None, Some(f)) if f / 2.0 >= lowest => f / 2.0,
            (None, _) => break,
            (Some(p), Some(f)) if (f - p) / p <= settings.precision => break,
            (Some(p), Some(f)) => (p + f) / 2.0,
        };
    }
    Ok(Search { steps, probe })
}

/// A closed-loop run of the plan's connections, a short while, for the
/// first step's rate when `--rate` does not give it.
fn probe(
    plan: &BenchPlan,
    settings: &FindMax,
    observer: &dyn Observer,
    control: &Control,
) -> Result<f64, BenchError> {
    let mut probe = plan.clone();
    probe.engine.rate = None;
    probe.engine.requests = None;
    probe.engine.duration = Some(settings.step.min(Duration::from_secs(2)));
    probe.engine.warmup = Duration::ZERO;
    probe.warmup = Duration::ZERO;
    let r = run(&probe, SeriesWriters::default(), observer, control)?;
    Ok(r.completion_rate())
}

/// The unrecorded warm-up before a step of `step`: a fifth of it, at
/// most 1 s.
pub fn settle(step: Duration) -> Duration {
    (step / 5).min(Duration::from_secs(1))
}

/// One open-loop step at `rate`.
fn step(
    plan: &BenchPlan,
    settings: &FindMax,
    rate: f64,
    writers: SeriesWriters,
    observer: &dyn Observer,
    control: &Control,
) -> Result<Step, BenchError> {
    let settle = settle(settings.step);
    let mut step = plan.clone();
    step.engine.rate = Some(rate);
    step.engine.requests = None;
    step.engine.duration = Some(settle + settings.step);
    step.engine.warmup = settle;
    step.warmup = settle;
    // No more threads than requests a second (each thread sends at least one).
    let threads = plan.threads().min((rate.floor() as usize).max(1));
    step.engine.threads = Some(threads);
    let result = run(&step, writers, observer, control)?;
    let verdicts = plan.slo.iter().map(|c| c.check(&result)).collect();
    Ok(Step {
        rate,
        unkept: unkept(&result, rate),
        verdicts,
        result,
    })
}

/// Why a step did not keep its rate, if it did not.
fn unkept(r: &BenchResult, rate: f64) -> Option<String> {
    let total = r.total().max(1) as f64;
    let t = &r.tally;
    let achieved = r.achieved_rate();
    if achieved < KEEPS_RATE * rate {
        return Some(format!(
            "achieved {achieved:.1} req/s, below {:.0}% of the rate",
            100.0 * KEEPS_RATE
        ));
    }
    if t.late_count as f64 > LATE_SHARE * total {
        return Some(format!(
            "{} sends waited for a free connection (the server fell behind)",
            t.late_count
        ));
    }
    None
}

/// A step's interval log, in memory until the step ends.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The steps' interval logs as one: the first step's header, then every
/// step's intervals tagged `Tag=step-N`, their start times moved onto the
/// first step's time axis.
struct TaggedLog<'w> {
    out: &'w mut (dyn Write + Send),
    /// The first step's `StartTime`, seconds since the epoch.
    start: Option<f64>,
}

impl<'w> TaggedLog<'w> {
    fn new(out: &'w mut (dyn Write + Send)) -> TaggedLog<'w> {
        TaggedLog { out, start: None }
    }

    /// Appends the log of step `number`, as bench wrote it.
    fn append(&mut self, log: &[u8], number: usize) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(log);
        let start = text
            .lines()
            .find_map(|l| l.strip_prefix("#[StartTime: "))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0);
        let first = *self.start.get_or_insert(start);
        for line in text.lines() {
            let header = line.starts_with('#') || line.starts_with('"');
            if header {
                // The first step's header stands for the whole log.
                if number == 1 {
                    writeln!(self.out, "{line}")?;
                }
                continue;
            }
            // A tagged series of the step (`Tag=uncorrected`) keeps its
            // name after the step's.
            let (tag, line) = match line.strip_prefix("Tag=").and_then(|l| l.split_once(',')) {
                Some((tag, rest)) => (format!("step-{number}.{tag}"), rest),
                None => (format!("step-{number}"), line),
            };
            let Some((at, rest)) = line.split_once(',') else {
                continue;
            };
            let at: f64 = at.parse().unwrap_or(0.0);
            writeln!(self.out, "Tag={tag},{:.3},{rest}", at + start - first)?;
        }
        self.out.flush()
    }
}
