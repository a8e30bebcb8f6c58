//! The page sections and `summary.json` entries of the chapters beyond the
//! article and of the sweep: a CDF chart per chapter, the sweep's p50/p95
//! chart, their tables and reasons (the capacity chapter's are
//! [`crate::capacity::page`]'s).

use serde::Serialize;
use speedup_report::html::{Grid, Section};
use speedup_report::plot::{self, ChartSpec};
use speedup_report::sweep::{self as sweep_chart, Sweep};

use crate::chapters::{Chapter, ChapterRun};
use crate::rows::ScenarioJson;
use crate::LabError;

/// A chapter in `summary.json`.
#[derive(Debug, Serialize)]
pub struct ChapterSummary<'a> {
    /// `cpu`, `mixed`, `stall`.
    pub chapter: &'static str,
    /// Requests per scenario.
    pub requests: u64,
    /// Clients in flight.
    pub concurrency: u32,
    /// The ideal response time, ms.
    pub ideal_ms: f64,
    /// The `n` of the fibo endpoints, when the chapter has one.
    pub fibo_n: Option<u32>,
    /// Computations of the `--gil` run that waited for the lock (cpu).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gil_waits: Option<u64>,
    /// The one-minute load average when the chapter started.
    pub load_average: Option<f64>,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<ChapterRow<'a>>,
}

/// A scenario of a chapter: its figures and, for the cpu chapter, the
/// mid-burst probe's time.
#[derive(Debug, Serialize)]
pub struct ChapterRow<'a> {
    /// The usual figures.
    #[serde(flatten)]
    pub row: ScenarioJson<'a>,
    /// How long an `/async/sleep/0.1` sent mid-burst took, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_ms: Option<f64>,
}

/// The `summary.json` entry of `run`.
pub fn summary(run: &ChapterRun) -> ChapterSummary<'_> {
    ChapterSummary {
        chapter: run.chapter.id(),
        requests: run.requests,
        concurrency: run.concurrency,
        ideal_ms: run.ideal_ms,
        fibo_n: run.fibo_n,
        gil_waits: run.gil_waits,
        load_average: run.load_average,
        scenarios: run
            .measurements
            .iter()
            .zip(&run.probes)
            .map(|(m, probe)| ChapterRow {
                row: (&m.row).into(),
                probe_ms: *probe,
            })
            .collect(),
    }
}

/// The chapter's section; its chart is also written beside the page as
/// `ID.svg`.
pub fn chapter(run: &ChapterRun) -> Result<Section, LabError> {
    let series = run
        .measurements
        .iter()
        .map(|m| crate::folder::cdf(&m.row.name, &m.report.samples))
        .collect();
    let mut spec = ChartSpec::new(
        format!(
            "{}: ab -n{} -c{}, response time CDF",
            run.chapter.id(),
            run.requests,
            run.concurrency
        ),
        series,
    );
    spec.ideal_ms = Some(run.ideal_ms);
    // Stalled requests take tens of sleeps: a log axis keeps both curves readable.
    spec.log_x = run.chapter == Chapter::Stall;
    let chart_svg = plot::render_svg(&spec)?;
    let (intro, ideal_label) = intro(run);
    Ok(Section {
        id: run.chapter.id().to_string(),
        title: run.chapter.title().to_string(),
        intro,
        chart_svg,
        caption: format!(
            "Cumulative distribution of response times; the dashed line is the ideal, {}.",
            ideal_label
        ),
        ideal_ms: Some(run.ideal_ms),
        ideal_label: format!("ideal ({ideal_label})"),
        rows: run.measurements.iter().map(|m| m.row.clone()).collect(),
        grids: Vec::new(),
        why: run
            .measurements
            .iter()
            .map(|m| (m.row.name.clone(), m.row.why.clone()))
            .collect(),
    })
}

/// The chapter's paragraphs and what its ideal is.
fn intro(run: &ChapterRun) -> (String, String) {
    let (n, c) = (run.requests, run.concurrency);
    let workers = run.workers.map_or("its".to_string(), |w| format!("{w}"));
    match run.chapter {
        Chapter::Cpu => {
            let fibo_n = run.fibo_n.unwrap_or_default();
            (
                format!(
                    "Part 2 of the series computes a naive recursive Fibonacci instead of sleeping, \
                     and notes that coroutines cannot help with CPU-bound work. Here `n` = {fibo_n} \
                     was chosen at start so that one computation takes {:.0} ms on this machine \
                     (measured once), and each endpoint gets `ab -n{n} -c{c}`, as in part 2.\n\n\
                     `/baseline/fibo` computes on the blocking pool, `/async/fibo` computes inside \
                     the async handler (holding its serving thread, one of {workers}: the mistake), \
                     `/pool/fibo` on a CPU pool of one thread per core, Rust's answer to part 2's \
                     process pool. The last run is the baseline on a server started with `--gil`, \
                     one lock held while computing as CPython's GIL is. During each run, one \
                     `/async/sleep/0.1` is sent mid-burst: its time (in the reasons below) says \
                     whether the event loop was free.{}",
                    run.ideal_ms,
                    load_sentence(run.load_average)
                ),
                format!("one computation, {:.0} ms", run.ideal_ms),
            )
        }
        Chapter::Mixed => (
            format!(
                "Part 3 mixes both: each request computes `x = fibo(20) / 1_000_000` and then sleeps \
                 `x` seconds ({:.3} ms), under `ab -n{n} -c{c}`. In Rust the computation \
                 takes microseconds, so the sleep dominates and the IO lesson of part 1 returns.",
                run.ideal_ms
            ),
            format!("the {:.3} ms sleep", run.ideal_ms),
        ),
        Chapter::Stall | Chapter::Io | Chapter::Capacity => (
            format!(
                "`/stall/sleep/0.1` calls `std::thread::sleep` inside an async handler, the twin of \
                 `time.sleep` inside `async def`: it blocks its serving thread for the whole sleep. \
                 Beside it, `/async/sleep/0.1` with the same `ab -n{n} -c{c}`. The server has \
                 {workers} serving threads. The time axis is logarithmic."
            ),
            "the 100 ms sleep".to_string(),
        ),
    }
}

/// A paragraph on the machine's one-minute load average `load`, if known:
/// CPU figures depend on it.
pub(crate) fn load_sentence(load: Option<f64>) -> String {
    match load {
        Some(load) => format!(
            "\n\nThe machine's load average was {load:.1} on {} cores when this chapter \
             started: throughput here is what the run got of the cores, shared with everything \
             else running, so compare the curves with each other, not with another machine.",
            speedup_server::default_cpu_threads()
        ),
        None => String::new(),
    }
}

/// The sweep's section.
pub fn sweep(sweep: &Sweep) -> Result<Section, LabError> {
    let chart_svg = sweep_chart::render_sweep_svg(sweep, "p50 and max against concurrency")?;
    let levels: Vec<String> = crate::sweep::LEVELS.iter().map(u32::to_string).collect();
    let mut rows = Vec::new();
    for endpoint in sweep.endpoints() {
        let mut p50 = vec![format!("{endpoint} p50")];
        let mut max = vec![format!("{endpoint} max")];
        for level in crate::sweep::LEVELS {
            let point = sweep
                .points
                .iter()
                .find(|p| p.endpoint == endpoint && p.concurrency == level);
            p50.push(point.map_or(String::new(), |p| format!("{:.1}", p.p50_ms)));
            max.push(point.map_or(String::new(), |p| format!("{:.1}", p.top_ms())));
        }
        rows.push(p50);
        rows.push(max);
    }
    let mut columns = vec!["ms at concurrency".to_string()];
    columns.extend(levels.iter().cloned());
    let pool = sweep.pool_threads.map_or(String::new(), |t| {
        format!(" The dashed vertical line is the pool size, {t}.")
    });
    Ok(Section {
        id: "sweep".into(),
        title: "Concurrency sweep".into(),
        intro: format!(
            "The article's two endpoints at concurrency {}, each step sending twice as many \
             requests as clients (at least ten). Each point is one step's slowest request \
             (solid) or median (dashed): a step's few requests are too few for a p95, which \
             would rest on one or two of them.{pool}",
            levels.join(", ")
        ),
        chart_svg,
        caption: format!(
            "Response time against clients in flight; the dashed horizontal line is the ideal, {:.0} ms.",
            sweep.ideal_ms
        ),
        ideal_ms: None,
        ideal_label: String::new(),
        rows: Vec::new(),
        grids: vec![Grid {
            id: "grid".into(),
            columns,
            rows,
            caption: "p50 and max in ms, per endpoint and concurrency.".into(),
        }],
        why: crate::sweep::why(sweep),
    })
}
