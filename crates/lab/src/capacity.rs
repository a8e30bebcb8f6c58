//! The capacity chapter: the article's lesson in throughput terms. How many
//! requests a second does each endpoint take while 99 % of them answer
//! within two sleeps (`p99<200ms` for the article's 0.1 s: a request may
//! wait one sleep for a thread)? `speedup bench --find-max` answers by
//! open-loop steps ([`speedup_bench::findmax`], run here as bench runs it),
//! for `/baseline/sleep/{sleep}` and `/async/sleep/{sleep}` on the main
//! server.
//!
//! The model: the blocking pool's threads each hold a request for the
//! sleep, so the baseline serves at most `threads / sleep` requests a
//! second; timers hold no thread, so only the machine caps the async
//! endpoint. The client keeps [`CapacitySettings::connections`]
//! connections, each carrying one request at a time: at the sleep's latency
//! they carry at most `connections / sleep` requests a second, the client's
//! own ceiling. When the step that failed above the best one needed more
//! than [`CLIENT_SHARE`] of them, the client may have stopped the search,
//! not the server: the answer is then only a lower bound
//! ([`Limit::Connections`]), said as such rather than as the server's.

pub mod page;

use std::sync::mpsc;
use std::time::Duration;

use speedup_bench::findmax::{find_max, Search, Step, StepObserver};
use speedup_bench::plan::FindMax;
use speedup_bench::BenchArgs;
use speedup_load::Control;
use speedup_report::escape::escaped;

use crate::measure::Observer;
use crate::plan::{LabPlan, Scenario, Server};
use crate::LabError;

/// A failing step that needed more than this share of the client's
/// connections in flight (its rate × the sleep) may be the client's doing.
pub const CLIENT_SHARE: f64 = 0.75;

/// The search stops when the best passing and the lowest failing rate are
/// this close (bench's default `--precision`, 5 %).
pub const PRECISION: f64 = 0.05;

/// How the chapter searches.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacitySettings {
    /// How long each step sends, after its settle (a fifth of it, at most
    /// 1 s, not recorded). Bench's default is 10 s; the lab's 2 s keeps
    /// the chapter under a minute.
    pub step: Duration,
    /// At most this many steps per endpoint.
    pub max_steps: u32,
    /// Connections the client keeps open (each is two open files here:
    /// the client's and the embedded server's).
    pub connections: u32,
}

impl Default for CapacitySettings {
    fn default() -> Self {
        CapacitySettings {
            step: Duration::from_secs(2),
            max_steps: 10,
            connections: 256,
        }
    }
}

/// Why an answer is only a lower bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// Every step tried passed: the search ran out of steps.
    Steps,
    /// The step that failed above needed most of the client's connections.
    Connections,
}

/// What a search found. Steps are numbered from 1, as bench prints them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// The server's highest rate within the SLO: `failed` req/s, the
    /// lowest rate above it tried, did not meet it.
    Found {
        /// The step that passed at `rate`.
        step: usize,
        /// Requests per second.
        rate: f64,
        /// The lowest failing rate above it.
        failed: f64,
    },
    /// At least `rate`: the search did not reach the server's limit.
    AtLeast {
        /// The step that passed at `rate`.
        step: usize,
        /// Requests per second.
        rate: f64,
        /// What stopped the search first.
        limit: Limit,
    },
    /// No step met the SLO; `lowest` req/s was the lowest rate tried.
    Nothing {
        /// Requests per second.
        lowest: f64,
    },
}

impl Answer {
    /// The answer for steps of `(rate, ok)` in run order, with `connections`
    /// connections and a sleep of `sleep_s` seconds.
    pub fn of(steps: &[(f64, bool)], sleep_s: f64, connections: u32) -> Answer {
        let best = (steps.iter().enumerate())
            .filter(|(_, (_, ok))| *ok)
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0));
        let Some((index, &(rate, _))) = best else {
            let lowest = steps.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
            return Answer::Nothing { lowest };
        };
        let step = index + 1;
        let failed = (steps.iter())
            .filter(|(r, ok)| !ok && *r > rate)
            .map(|s| s.0)
            .min_by(f64::total_cmp);
        match failed {
            None => Answer::AtLeast {
                step,
                rate,
                limit: Limit::Steps,
            },
            Some(f) if f * sleep_s > CLIENT_SHARE * f64::from(connections) => Answer::AtLeast {
                step,
                rate,
                limit: Limit::Connections,
            },
            Some(failed) => Answer::Found { step, rate, failed },
        }
    }

    /// The highest passing rate, if any.
    pub fn rate(&self) -> Option<f64> {
        match *self {
            Answer::Found { rate, .. } | Answer::AtLeast { rate, .. } => Some(rate),
            Answer::Nothing { .. } => None,
        }
    }

    /// `highest rate within SLO: N req/s (step k of m)`, bench's answer
    /// line, and for a lower bound why it is one.
    pub fn text(&self, slo: &str, steps: usize, connections: u32) -> String {
        match *self {
            Answer::Found { step, rate, .. } => {
                format!("highest rate within {slo}: {rate:.1} req/s (step {step} of {steps})")
            }
            Answer::AtLeast { step, rate, .. } => format!(
                "highest rate within {slo}: at least {rate:.1} req/s (step {step} of {steps}): {}",
                self.lower_bound(connections).unwrap_or_default()
            ),
            Answer::Nothing { lowest } => {
                format!("no rate tried met {slo} (the lowest, {lowest:.1} req/s, did not)")
            }
        }
    }

    /// Why the answer is only a lower bound, if it is one.
    pub fn lower_bound(&self, connections: u32) -> Option<String> {
        match *self {
            Answer::AtLeast {
                limit: Limit::Steps,
                ..
            } => Some(
                "every step tried passed: the search ran out of steps (--max-steps) before the \
                 server's limit"
                    .into(),
            ),
            Answer::AtLeast {
                limit: Limit::Connections,
                ..
            } => Some(format!(
                "the step that failed above it needed more than {:.0} % of the client's \
                 {connections} connections, so the client, not necessarily the server, stopped \
                 there",
                100.0 * CLIENT_SHARE
            )),
            _ => None,
        }
    }
}

/// One endpoint's search.
#[derive(Debug)]
pub struct Endpoint {
    /// `baseline` or `async`.
    pub name: String,
    /// The URL searched.
    pub url: String,
    /// The pool's capacity by the model, `threads / sleep` req/s: the
    /// embedded server's baseline only.
    pub model_rps: Option<f64>,
    /// Every step.
    pub search: Search,
    /// What it found.
    pub answer: Answer,
}

/// What the chapter measured.
#[derive(Debug)]
pub struct CapacityRun {
    /// The SLO, e.g. `p99<200ms`.
    pub slo: String,
    /// Its latency bound, ms: twice the sleep.
    pub slo_ms: f64,
    /// The sleep each request asks for, ms.
    pub sleep_ms: f64,
    /// How the searches ran.
    pub settings: CapacitySettings,
    /// The embedded server's blocking pool (unknown for `--target`).
    pub pool_threads: Option<usize>,
    /// The baseline's search, then the async one's.
    pub endpoints: Vec<Endpoint>,
    /// The machine's one-minute load average when the chapter started.
    pub load_average: Option<f64>,
}

impl CapacityRun {
    /// What the client's connections carry at most at the sleep's latency,
    /// req/s.
    pub fn client_ceiling(&self) -> f64 {
        f64::from(self.settings.connections) / (self.sleep_ms / 1000.0)
    }
}

/// Runs the chapter against `main`: the baseline's search, then the async
/// one's, each step reported to `observer` as it ends.
pub fn run(
    plan: &LabPlan,
    main: &Server,
    observer: &mut dyn Observer,
) -> Result<CapacityRun, LabError> {
    let settings = plan.capacity.clone();
    let slo_ms = 2.0 * plan.ideal_ms();
    let slo = format!("p99<{}ms", speedup_report::html::trim_ms(slo_ms));
    let pool_threads = plan.target.is_none().then_some(plan.threads);
    let load_average = crate::chapters::load_average();
    let mut endpoints = Vec::new();
    for scenario in Scenario::article(plan.sleep) {
        let name = format!("capacity {}", scenario.name);
        let url = format!("{}{}", main.base_url, scenario.path);
        let search = search(&name, &url, &slo, &settings, observer)?;
        let steps: Vec<(f64, bool)> = search.steps.iter().map(|s| (s.rate, s.ok())).collect();
        let answer = Answer::of(&steps, plan.sleep, settings.connections);
        let model_rps = (scenario.name == "baseline")
            .then_some(pool_threads)
            .flatten()
            .map(|threads| threads as f64 / plan.sleep);
        endpoints.push(Endpoint {
            name: scenario.name,
            url,
            model_rps,
            search,
            answer,
        });
    }
    Ok(CapacityRun {
        slo,
        slo_ms,
        sleep_ms: plan.ideal_ms(),
        settings,
        pool_threads,
        endpoints,
        load_average,
    })
}

/// One endpoint's search, as `speedup bench --find-max --slo SLO -c
/// CONNECTIONS URL` runs it, with the chapter's steps.
fn search(
    name: &str,
    url: &str,
    slo: &str,
    settings: &CapacitySettings,
    observer: &mut dyn Observer,
) -> Result<Search, LabError> {
    let connections = settings.connections.to_string();
    let refused = |why: String| LabError::Plan(format!("`{}`: {why}", escaped(name)));
    let bench = BenchArgs::from_flags(["--slo", slo, "-c", &connections, url])
        .map_err(|e| refused(e.to_string()))?
        .plan()
        .map_err(|e| refused(e.to_string()))?;
    let find = FindMax {
        start: None,
        step: settings.step,
        precision: PRECISION,
        max_steps: settings.max_steps,
    };
    let control = Control::new();
    let (tx, rx) = mpsc::channel();
    let searched = std::thread::scope(|s| {
        let (bench, find, control) = (&bench, &find, &control);
        let running = s.spawn(move || find_max(bench, find, None, &Steps(tx), control));
        // Ends when the search does (its sender dropped).
        for line in rx {
            observer.step(name, &line);
        }
        running.join()
    })
    .map_err(|_| refused("the search panicked".into()))?;
    searched.map_err(|source| LabError::Search {
        scenario: name.to_string(),
        source,
    })
}

/// Hands each step's row to the lab's thread as it ends.
struct Steps(mpsc::Sender<String>);

impl speedup_bench::Observer for Steps {}

impl StepObserver for Steps {
    fn step(&self, number: usize, step: &Step) {
        let row = speedup_bench::text::step_row(number, step);
        // The receiver lives as long as the search.
        let _ = self.0.send(format!("step {}", row.trim_start()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_best_passing_rate_and_the_failure_above_it() {
        // A pool of 400 req/s: doubling, then bisecting.
        let steps = [
            (100.0, true),
            (200.0, true),
            (400.0, true),
            (800.0, false),
            (600.0, false),
            (500.0, false),
            (450.0, false),
            (425.0, false),
            (412.5, false),
        ];
        let answer = Answer::of(&steps, 0.1, 256);
        assert_eq!(
            answer,
            Answer::Found {
                step: 3,
                rate: 400.0,
                failed: 412.5
            }
        );
        assert_eq!(
            answer.text("p99<200ms", steps.len(), 256),
            "highest rate within p99<200ms: 400.0 req/s (step 3 of 9)"
        );
    }

    #[test]
    fn a_failure_that_needed_most_connections_gives_a_lower_bound() {
        // 256 connections at 0.1 s carry 2560 req/s; 2480 needs 248 of them.
        let steps = [
            (640.0, true),
            (1280.0, true),
            (2560.0, false),
            (2480.0, false),
        ];
        let answer = Answer::of(&steps, 0.1, 256);
        assert_eq!(
            answer,
            Answer::AtLeast {
                step: 2,
                rate: 1280.0,
                limit: Limit::Connections
            }
        );
        let text = answer.text("p99<200ms", 4, 256);
        assert!(
            text.starts_with("highest rate within p99<200ms: at least 1280.0 req/s (step 2 of 4)"),
            "{text}"
        );
        assert!(text.contains("256 connections"), "{text}");
        // The same failure with a thousand connections is the server's.
        assert!(matches!(
            Answer::of(&steps, 0.1, 1000),
            Answer::Found { failed: 2480.0, .. }
        ));
    }

    #[test]
    fn no_failure_or_no_pass_says_so() {
        let passing = [(100.0, true), (200.0, true)];
        assert_eq!(
            Answer::of(&passing, 0.1, 256),
            Answer::AtLeast {
                step: 2,
                rate: 200.0,
                limit: Limit::Steps
            }
        );
        let failing = [(100.0, false), (50.0, false)];
        let answer = Answer::of(&failing, 0.1, 256);
        assert_eq!(answer, Answer::Nothing { lowest: 50.0 });
        assert_eq!(answer.rate(), None);
        assert!(answer.text("p99<200ms", 2, 256).contains("50.0 req/s"));
        // A failure below the best (noise) does not bound it.
        let noisy = [(100.0, true), (50.0, false), (200.0, true)];
        assert!(matches!(
            Answer::of(&noisy, 0.1, 256),
            Answer::AtLeast {
                step: 3,
                limit: Limit::Steps,
                ..
            }
        ));
    }
}
