//! The capacity chapter on the page and in `summary.json`: the story in
//! throughput terms, the latency-against-rate chart, each endpoint's step
//! table with its answer, and one reason per endpoint.

use serde::Serialize;
use speedup_bench::findmax::{settle, Step};
use speedup_report::capacity::{render_rate_svg, RateCurve, RateMark, RateSpec, RateStep};
use speedup_report::html::{trim_ms, Grid, Section};
use speedup_stats::ms_f64;

use super::{Answer, CapacityRun, Endpoint, Limit, CLIENT_SHARE, PRECISION};
use crate::sections::load_sentence;
use crate::LabError;

/// The chapter in `summary.json`.
#[derive(Debug, Serialize)]
pub struct CapacitySummary<'a> {
    /// The SLO, e.g. `p99<200ms`.
    pub slo: &'a str,
    /// Its latency bound, ms.
    pub slo_ms: f64,
    /// The sleep each request asks for, ms.
    pub sleep_ms: f64,
    /// How long each step sends, s.
    pub step_s: f64,
    /// The unrecorded settle before each step, s.
    pub settle_s: f64,
    /// At most this many steps per endpoint.
    pub max_steps: u32,
    /// Connections the client kept open.
    pub connections: u32,
    /// What they carry at most at the sleep's latency, req/s.
    pub client_ceiling_rps: f64,
    /// The embedded server's blocking pool (null for `--target`).
    pub pool_threads: Option<usize>,
    /// The one-minute load average when the chapter started.
    pub load_average: Option<f64>,
    /// The baseline's search, then the async one's.
    pub endpoints: Vec<EndpointSummary<'a>>,
}

/// One endpoint's search in `summary.json`.
#[derive(Debug, Serialize)]
pub struct EndpointSummary<'a> {
    /// `baseline` or `async`.
    pub name: &'a str,
    /// The URL searched.
    pub url: &'a str,
    /// The pool's capacity by the model, req/s (the embedded baseline).
    pub model_rps: Option<f64>,
    /// The closed-loop probe that chose the first step, req/s.
    pub probe_rps: Option<f64>,
    /// What the search found.
    pub answer: AnswerSummary,
    /// Every step, as `speedup bench --json` writes them: `{"rate",
    /// "steps": [{"rate", "achieved", "p50_ms", "p99_ms", "errors", "ok"}]}`.
    pub find_max: serde_json::Value,
}

/// An [`Answer`] in `summary.json`.
#[derive(Debug, Serialize)]
pub struct AnswerSummary {
    /// The highest rate that met the SLO, req/s (null if none did).
    pub rate: Option<f64>,
    /// Its step, from 1.
    pub step: Option<usize>,
    /// Steps run.
    pub steps: usize,
    /// Whether `rate` is only a lower bound of the server's capacity.
    pub at_least: bool,
    /// What stopped the search: `server` (a step above failed on the
    /// server's account), `connections` (the client's), `steps`.
    pub limited_by: Option<&'static str>,
    /// The lowest failing rate above `rate` (a `server` limit).
    pub failed_rps: Option<f64>,
    /// The answer in words, as the page and the terminal give it.
    pub text: String,
}

/// The `summary.json` entry of `run`.
pub fn summary(run: &CapacityRun) -> CapacitySummary<'_> {
    let endpoints = (run.endpoints.iter())
        .map(|e| {
            let (step, limited_by, failed_rps) = match e.answer {
                Answer::Found { step, failed, .. } => (Some(step), Some("server"), Some(failed)),
                Answer::AtLeast { step, limit, .. } => (
                    Some(step),
                    Some(match limit {
                        Limit::Steps => "steps",
                        Limit::Connections => "connections",
                    }),
                    None,
                ),
                Answer::Nothing { .. } => (None, None, None),
            };
            EndpointSummary {
                name: &e.name,
                url: &e.url,
                model_rps: e.model_rps,
                probe_rps: e.search.probe,
                answer: AnswerSummary {
                    rate: e.answer.rate(),
                    step,
                    steps: e.search.steps.len(),
                    at_least: matches!(e.answer, Answer::AtLeast { .. }),
                    limited_by,
                    failed_rps,
                    text: answer_text(run, e),
                },
                find_max: speedup_bench::json::search_json(&e.search),
            }
        })
        .collect();
    CapacitySummary {
        slo: &run.slo,
        slo_ms: run.slo_ms,
        sleep_ms: run.sleep_ms,
        step_s: run.settings.step.as_secs_f64(),
        settle_s: settle(run.settings.step).as_secs_f64(),
        max_steps: run.settings.max_steps,
        connections: run.settings.connections,
        client_ceiling_rps: run.client_ceiling(),
        pool_threads: run.pool_threads,
        load_average: run.load_average,
        endpoints,
    }
}

/// `endpoint`'s answer in words.
pub fn answer_text(run: &CapacityRun, endpoint: &Endpoint) -> String {
    let steps = endpoint.search.steps.len();
    (endpoint.answer).text(&run.slo, steps, run.settings.connections)
}

/// The chapter's section; its chart is also written beside the page as
/// `capacity.svg`.
pub fn section(run: &CapacityRun) -> Result<Section, LabError> {
    Ok(Section {
        id: "capacity".into(),
        title: "How much can it take: the highest rate within the SLO".into(),
        intro: intro(run),
        chart_svg: render_rate_svg(&chart(run))?,
        caption: caption(run),
        ideal_ms: None,
        ideal_label: String::new(),
        rows: Vec::new(),
        grids: run.endpoints.iter().map(|e| grid(run, e)).collect(),
        why: run.endpoints.iter().map(|e| why(run, e)).collect(),
    })
}

/// The chart: each endpoint's steps, the SLO, the model's and the client's
/// ceilings.
fn chart(run: &CapacityRun) -> RateSpec {
    let curves = (run.endpoints.iter())
        .map(|e| RateCurve {
            name: e.name.clone(),
            steps: (e.search.steps.iter())
                .map(|s| {
                    let f = s.figures();
                    RateStep {
                        target: f.rate,
                        achieved: f.achieved,
                        p50_ms: ms_f64(f.p50_us),
                        p99_ms: ms_f64(f.p99_us),
                        ok: f.ok,
                    }
                })
                .collect(),
        })
        .collect();
    let sleep_s = trim_ms(run.sleep_ms / 1000.0);
    let mut marks: Vec<RateMark> = (run.endpoints.iter())
        .filter_map(|e| Some((e.model_rps?, run.pool_threads?)))
        .map(|(rate, threads)| RateMark {
            rate,
            label: format!("pool: {threads} / {sleep_s} s"),
        })
        .collect();
    marks.push(RateMark {
        rate: run.client_ceiling(),
        label: format!("client: {} conns / {sleep_s} s", run.settings.connections),
    });
    RateSpec {
        title: format!("Latency against rate, steps of {}", seconds(run)),
        curves,
        slo_ms: run.slo_ms,
        slo_label: format!("SLO {}", run.slo),
        marks,
    }
}

/// The step duration as the page says it: `2 s`, `250 ms`.
fn seconds(run: &CapacityRun) -> String {
    let ms = run.settings.step.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{} s", trim_ms(ms / 1000.0))
    } else {
        format!("{} ms", trim_ms(ms))
    }
}

/// The chapter's paragraphs: the search, the model, the client's ceiling.
fn intro(run: &CapacityRun) -> String {
    let s = &run.settings;
    let (slo, sleep) = (&run.slo, trim_ms(run.sleep_ms));
    let settle_ms = trim_ms(settle(s.step).as_secs_f64() * 1000.0);
    let search = format!(
        "The article measures response times under 100 clients. Its lesson in throughput \
         terms: how many requests a second can each endpoint take while 99 % of them answer \
         within {} ms, twice the {sleep} ms sleep (`{slo}`: a request may wait one sleep for a \
         thread)? `speedup bench --find-max` answers with open-loop steps, each a fresh \
         schedule at one rate, here {} per step after a {settle_ms} ms settle that is not \
         recorded (bench's default step is 10 s; `--step-duration`). The first step runs at a \
         quarter of a short closed-loop probe's throughput; the rate doubles until a step fails, \
         then bisects until the best passing and the lowest failing rate are within {:.0} %, \
         at most {} steps per endpoint (`--max-steps`). A step also fails when it could not keep \
         its rate: achieved below 99 % of it, or more than 1 % of its sends waiting for a free \
         connection. Requests go as `speedup bench` sends them, HTTP/1.1 keep-alive over {} \
         connections (`--connections`), latencies corrected for coordinated omission.",
        trim_ms(run.slo_ms),
        seconds(run),
        100.0 * PRECISION,
        s.max_steps,
        s.connections
    );
    let model = match (run.pool_threads, baseline_model(run)) {
        (Some(threads), Some(cap)) => {
            let span = s.step + settle(s.step);
            let slack = 100.0 * run.sleep_ms / 1000.0 / span.as_secs_f64();
            format!(
                "The model: the blocking endpoint's pool of {threads} threads, each held {sleep} ms \
                 by a request, serves at most {threads} / {} s = {cap:.0} req/s. Above that, \
                 requests queue, and in an open loop the queue grows for as long as the rate stays \
                 above: at R req/s by R − {cap:.0} requests a second, so p99 climbs past {} ms. A \
                 short step can end before its queue adds a sleep of waiting: within about \
                 {slack:.0} % above {cap:.0} req/s, a {} step may still pass; longer steps narrow \
                 that. The timers hold no thread: nothing caps the async endpoint but the machine, \
                 whose {} cores the client and the server share here.",
                trim_ms(run.sleep_ms / 1000.0),
                trim_ms(run.slo_ms),
                seconds(run),
                speedup_server::default_cpu_threads()
            )
        }
        _ => "The server under test is external: its blocking pool, and so the blocking \
              endpoint's ceiling, are its own."
            .to_string(),
    };
    let client = format!(
        "The client's {c} connections each carry one request at a time: a step at R req/s keeps \
         about R × {sleep_s} s of them busy, so they carry at most {c} / {sleep_s} s = {:.0} \
         req/s, the client's own ceiling. When the step that failed above an answer needed more \
         than {:.0} % of them, the client may have stopped the search rather than the server, \
         and the answer is given as a lower bound (\"at least\"). More connections raise the \
         ceiling, each an open file (two with the embedded server, whose end is in this process \
         too), but finding the machine's own limit would take thousands.",
        run.client_ceiling(),
        100.0 * CLIENT_SHARE,
        c = s.connections,
        sleep_s = trim_ms(run.sleep_ms / 1000.0),
    );
    format!(
        "{search}\n\n{model}\n\n{client}{}",
        load_sentence(run.load_average)
    )
}

/// The baseline's model capacity, req/s, when known.
fn baseline_model(run: &CapacityRun) -> Option<f64> {
    run.endpoints.iter().find_map(|e| e.model_rps)
}

/// What the chart shows.
fn caption(run: &CapacityRun) -> String {
    let model = baseline_model(run).map_or(String::new(), |cap| {
        format!("the pool's model capacity, {cap:.0} req/s, and ")
    });
    format!(
        "Each step's p99 (solid; points filled where the step met `{}`, hollow where not) and \
         p50 (dashed) against the rate it achieved, latency on a log axis. The dashed horizontal \
         line is the SLO's {} ms; the vertical ones are {model}the client's connection ceiling, \
         {:.0} req/s.",
        run.slo,
        trim_ms(run.slo_ms),
        run.client_ceiling()
    )
}

/// `endpoint`'s step table, its answer under it.
fn grid(run: &CapacityRun, endpoint: &Endpoint) -> Grid {
    let best = endpoint.search.best().map(|(i, _)| i);
    let rows = (endpoint.search.steps.iter().enumerate())
        .map(|(i, step)| row(i, step, best == Some(i)))
        .collect();
    let probe = endpoint.search.probe.map_or(String::new(), |p| {
        format!(" First step at a quarter of a closed-loop probe's {p:.1} req/s.")
    });
    let erring = (endpoint.search.steps.iter())
        .filter(|s| s.figures().errors > 0)
        .count();
    let errors = match erring {
        0 => String::new(),
        n => format!(
            " ⚠ {n} of its steps had requests without a response (the errors column), which \
             their p99 leaves out: check the server."
        ),
    };
    Grid {
        id: format!("{}-steps", endpoint.name),
        columns: [
            &format!("{} step", endpoint.name),
            "target req/s",
            "achieved req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        caption: format!(
            "{} (`{}`): {}.{probe}{errors}",
            endpoint.name,
            endpoint.url,
            answer_text(run, endpoint)
        ),
    }
}

/// One step's row; the answer's verdict says so.
fn row(index: usize, step: &Step, best: bool) -> Vec<String> {
    let f = step.figures();
    let mut verdict = step.verdict();
    if best {
        verdict.push_str(" ← the answer");
    }
    vec![
        (index + 1).to_string(),
        format!("{:.1}", f.rate),
        format!("{:.1}", f.achieved),
        format!("{:.1}", ms_f64(f.p50_us)),
        format!("{:.1}", ms_f64(f.p99_us)),
        f.errors.to_string(),
        verdict,
    ]
}

/// One sentence (or three) per endpoint, in throughput terms.
fn why(run: &CapacityRun, endpoint: &Endpoint) -> (String, String) {
    let found = match endpoint.answer {
        Answer::Found { rate, .. } => format!("{rate:.0} req/s"),
        Answer::AtLeast { rate, .. } => format!("at least {rate:.0} req/s"),
        Answer::Nothing { .. } => "no rate".to_string(),
    };
    let sleep_s = trim_ms(run.sleep_ms / 1000.0);
    let text = match (endpoint.model_rps, run.pool_threads) {
        (Some(cap), Some(threads)) => {
            let share = endpoint.answer.rate().map_or(String::new(), |rate| {
                let above = match rate > cap {
                    true => format!(
                        ": a {} step can end before its queue above {cap:.0} req/s adds a \
                         sleep of waiting (see above)",
                        seconds(run)
                    ),
                    false => String::new(),
                };
                format!(", {:.0} % of the model{above}", 100.0 * rate / cap)
            });
            format!(
                "The pool of {threads} threads caps the blocking endpoint at {threads} / \
                 {sleep_s} s = {cap:.0} req/s: past it requests queue for a thread. This search: \
                 {found} within `{}`{share}.",
                run.slo
            )
        }
        _ if endpoint.name == "baseline" => format!(
            "The external server's pool sets the blocking endpoint's ceiling: past it, requests \
             queue. This search: {found} within `{}`.",
            run.slo
        ),
        _ => async_why(run, endpoint, &found),
    };
    (endpoint.name.clone(), text)
}

/// The async endpoint's reason: the machine's ceiling, or the client's.
fn async_why(run: &CapacityRun, endpoint: &Endpoint, found: &str) -> String {
    let baseline = (run.endpoints.iter())
        .find(|e| e.name == "baseline")
        .and_then(|e| e.answer.rate());
    let at_least = match endpoint.answer {
        Answer::AtLeast { .. } => "at least ",
        _ => "",
    };
    let times = match (endpoint.answer.rate(), baseline) {
        (Some(rate), Some(base)) if base > 0.0 => {
            format!(", {at_least}{:.1}× the blocking endpoint's", rate / base)
        }
        _ => String::new(),
    };
    let sleep_s = trim_ms(run.sleep_ms / 1000.0);
    let c = run.settings.connections;
    let limit = match endpoint.answer {
        Answer::AtLeast {
            limit: Limit::Connections,
            ..
        } => format!(
            " The search stopped at the client's ceiling, not the server's: at {sleep_s} s a \
             request, {c} connections carry at most {:.0} req/s, and the steps above needed \
             nearly all of them.",
            run.client_ceiling()
        ),
        Answer::AtLeast {
            limit: Limit::Steps,
            ..
        } => " Every step passed: the search ran out of steps before the server's limit.".into(),
        Answer::Found { failed, .. } => format!(
            " The step at {failed:.1} req/s failed with the client's connections to spare: the \
             machine, whose cores the client and the server share, ran out first."
        ),
        Answer::Nothing { .. } => String::new(),
    };
    format!(
        "Timers hold no thread: the async endpoint's ceiling is the machine's, not a pool's. \
         This search: {found} within `{}`{times}.{limit}",
        run.slo
    )
}
