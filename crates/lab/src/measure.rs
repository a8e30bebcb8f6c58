//! One scenario on one server, measured as the article's
//! `ab -n REQUESTS -c CONCURRENCY URL` would: HTTP/1.0, a new connection per
//! request, ab's accounting ([`AbTally`]) and ab's report.

use std::time::Duration;

use speedup_ab::{AbOptions, AbReport, AbTally};
use speedup_load::{Control, Plan, Record, Recorder};
use speedup_report::html::ScenarioRow;
use speedup_stats as stats;

use crate::plan::{LabPlan, Scenario, Server};
use crate::LabError;

/// Client threads for every lab run (see `ab_plan`).
const CLIENT_THREADS: usize = 2;

/// How often the observer hears of progress during a run.
const TICK: Duration = Duration::from_millis(100);

/// What the lab tells its front end while it works. Every call comes from
/// the thread that called [`crate::run`].
pub trait Observer {
    /// A scenario starts: `total` recorded requests will follow.
    fn started(&mut self, name: &str, url: &str, total: u64);
    /// `done` of the scenario's requests have finished so far.
    fn progress(&mut self, done: u64);
    /// The scenario finished.
    fn finished(&mut self, measurement: &Measurement);
    /// A step of search `name` (the capacity chapter's) ended; `line` is
    /// its row as `speedup bench --find-max` prints it.
    fn step(&mut self, _name: &str, _line: &str) {}
}

/// The outcome of one scenario on one server.
#[derive(Debug)]
pub struct Measurement {
    /// ab's report of the run (samples sorted by total time).
    pub report: AbReport,
    /// The figures for the summary table, `summary.json` and the page.
    pub row: ScenarioRow,
}

/// Runs `scenario` against `server` as the plan says.
pub fn scenario(
    plan: &LabPlan,
    server: &Server,
    scenario: &Scenario,
    observer: &mut dyn Observer,
) -> Result<Measurement, LabError> {
    let name = server.scenario_name(scenario);
    let url = format!("{}{}", server.base_url, scenario.path);
    let load = ab_plan(&url, plan.requests, plan.concurrency).map_err(|source| LabError::Url {
        scenario: name.clone(),
        url: url.clone(),
        source,
    })?;
    let run_error = |source| LabError::Run {
        scenario: name.clone(),
        source,
    };
    if plan.warmup {
        let mut warm = load.clone();
        warm.requests = Some(u64::from(plan.concurrency));
        speedup_load::run(&warm, || Discard, &Control::new()).map_err(run_error)?;
    }
    observer.started(&name, &url, plan.requests);
    let start_epoch_us = speedup_ab::epoch_us_now();
    let control = Control::new();
    let output = std::thread::scope(|s| {
        let run = s.spawn(|| speedup_load::run(&load, || AbTally::new(None), &control));
        while !run.is_finished() {
            observer.progress(control.completed());
            std::thread::sleep(TICK);
        }
        run.join()
    })
    .map_err(|_| {
        LabError::Plan(format!(
            "scenario `{}`: the load engine panicked",
            speedup_report::escape::escaped(&name)
        ))
    })?
    .map_err(run_error)?;
    observer.progress(control.completed());

    let mut report = AbReport::from_run(
        &load,
        output.elapsed,
        output.server_header,
        output.recorders,
        AbOptions::default(),
    );
    report.start_epoch_us = start_epoch_us;
    let row = row(&name, &url, &report);
    let measurement = Measurement { report, row };
    observer.finished(&measurement);
    Ok(measurement)
}

/// The request the article's ab sends ([`speedup_ab::plain_plan`]), on the
/// lab's client threads.
fn ab_plan(url: &str, requests: u64, concurrency: u32) -> Result<Plan, speedup_load::PlanError> {
    let mut plan = speedup_ab::plain_plan(url, requests, concurrency)?;
    // Two client threads, whatever the engine would pick for throughput:
    // the article's closed loop sends its connections in waves of
    // `concurrency`, and two threads open and read a wave in parallel, which
    // measured ~1.5 ms off the async p95 here (104 vs 105.5 ms at c=100).
    plan.threads = Some(CLIENT_THREADS.min(concurrency as usize));
    plan.validate()?;
    Ok(plan)
}

/// The summary figures of one run, percentiles by ab's table rule; the
/// article's figure and the reason are the caller's to fill in.
fn row(name: &str, url: &str, r: &AbReport) -> ScenarioRow {
    let totals: Vec<u64> = r.samples.iter().map(|s| u64::from(s.total_us)).collect();
    let ms = |p| stats::percentile(&totals, p).map_or(0.0, stats::ms_f64);
    let secs = r.elapsed.as_secs_f64();
    ScenarioRow {
        name: name.to_string(),
        url: url.to_string(),
        requests: r.counts.complete,
        concurrency: u64::from(r.concurrency),
        rps: if secs > 0.0 {
            r.counts.complete as f64 / secs
        } else {
            0.0
        },
        p50_ms: ms(50),
        p90_ms: ms(90),
        p95_ms: ms(95),
        p99_ms: ms(99),
        max_ms: ms(100),
        failures: r.counts.failed(),
        non_2xx: r.counts.non_2xx,
        article: None,
        why: String::new(),
    }
}

/// The article's own figure and a one-sentence reason for an io chapter
/// scenario, by endpoint kind.
pub(crate) fn explain(plan: &LabPlan, path: &str) -> (Option<String>, String) {
    let c = u64::from(plan.concurrency);
    let threads = plan.threads as u64;
    if path.starts_with("/baseline/") {
        let rounds = c.div_ceil(threads.max(1));
        let why = if rounds > 1 {
            format!(
                "{c} clients share a pool of {threads} threads, so a request may queue behind up to \
                 {} other sleep{} before its own: {rounds} rounds in all.",
                rounds - 1,
                if rounds == 2 { "" } else { "s" }
            )
        } else {
            format!("{threads} threads are enough for {c} clients: every request sleeps at once, one round.")
        };
        (Some("p95 > 300 ms".into()), why)
    } else if path.starts_with("/async/") {
        (
            Some("p95 ~150 ms".into()),
            format!("Timers hold no thread while they sleep, so all {c} concurrent requests sleep at once: one round."),
        )
    } else {
        (None, String::new())
    }
}

/// A recorder that keeps nothing: warm-up requests are not figures.
struct Discard;

impl Recorder for Discard {
    fn record(&mut self, _record: &Record) {}
}
