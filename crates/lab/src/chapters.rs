//! The series' later chapters, each a set of scenarios with its own shape
//! and its own reasons:
//!
//! * `io` (part 1, the article): the [`crate::LabPlan`]'s own scenarios;
//! * `cpu` (part 2): `/baseline/fibo`, `/async/fibo`, `/pool/fibo` and the
//!   baseline again on a server with `--gil`, at `-n100 -c10`, with `n`
//!   calibrated here so one computation costs 50–100 ms, and an
//!   `/async/sleep/0.1` probe sent mid-burst to show whether a serving thread
//!   is free;
//! * `mixed` (part 3): `/baseline/fibo_sleep/20` and `/async/fibo_sleep/20`
//!   at `-n1000 -c100`;
//! * `stall`: `/stall/sleep/0.1` (a blocking sleep in an async handler)
//!   against `/async/sleep/0.1`, at `-n100 -c100`;
//! * `capacity`: the highest rate each of the article's endpoints takes
//!   within an SLO, run by [`crate::capacity`].
//!
//! Chapters other than `io` run against the main server only (embedded or
//! `--target`); the `--gil` run needs the embedded server.

use std::time::{Duration, Instant};

use speedup_load::{Control, Outcome};

use crate::measure::{self, Measurement, Observer};
use crate::plan::{LabPlan, Scenario, Server};
use crate::preflight::First;
use crate::{EmbeddedServer, LabError};

/// One chapter of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chapter {
    /// Part 1: blocking pool vs timers (the article).
    Io,
    /// Part 2: CPU-bound work.
    Cpu,
    /// Part 3: CPU then IO.
    Mixed,
    /// A blocking sleep inside an async handler.
    Stall,
    /// The highest rate within an SLO: part 1 in throughput terms.
    Capacity,
}

impl Chapter {
    /// Every chapter, in the series' order (what `all` runs).
    pub const ALL: [Chapter; 5] = [
        Chapter::Io,
        Chapter::Cpu,
        Chapter::Mixed,
        Chapter::Stall,
        Chapter::Capacity,
    ];

    /// Parses `io`, `cpu`, `mixed`, `stall`, `capacity` or `all`.
    pub fn parse(text: &str) -> Result<Vec<Chapter>, String> {
        Ok(match text.trim() {
            "io" => vec![Chapter::Io],
            "cpu" => vec![Chapter::Cpu],
            "mixed" => vec![Chapter::Mixed],
            "stall" => vec![Chapter::Stall],
            "capacity" => vec![Chapter::Capacity],
            "all" => Chapter::ALL.to_vec(),
            other => {
                return Err(format!(
                    "unknown chapter `{}`: expected io, cpu, mixed, stall, capacity or all",
                    speedup_report::escape::escaped(other)
                ))
            }
        })
    }

    /// The chapter's short name (file names, HTML ids, `summary.json`).
    pub fn id(self) -> &'static str {
        match self {
            Chapter::Io => "io",
            Chapter::Cpu => "cpu",
            Chapter::Mixed => "mixed",
            Chapter::Stall => "stall",
            Chapter::Capacity => "capacity",
        }
    }

    /// The chapter's heading.
    pub fn title(self) -> &'static str {
        match self {
            Chapter::Io => "Part 1: blocking pool vs async timers",
            Chapter::Cpu => "Part 2: CPU-bound work",
            Chapter::Mixed => "Part 3: compute, then sleep",
            Chapter::Stall => "The mistake: blocking inside an async handler",
            Chapter::Capacity => "How much can it take: the highest rate within the SLO",
        }
    }
}

/// What one chapter measured.
#[derive(Debug)]
pub struct ChapterRun {
    /// Which chapter.
    pub chapter: Chapter,
    /// Requests per scenario.
    pub requests: u64,
    /// Clients in flight.
    pub concurrency: u32,
    /// The ideal response time, ms: one computation (cpu), the sleep
    /// `fibo(20)/1e6` s (mixed), the sleep (stall).
    pub ideal_ms: f64,
    /// The calibrated `n` (cpu) or part 3's 20 (mixed).
    pub fibo_n: Option<u32>,
    /// Serving threads of the embedded server (what `/stall` and
    /// `/async/fibo` block), when known.
    pub workers: Option<usize>,
    /// One per scenario, in run order.
    pub measurements: Vec<Measurement>,
    /// How long an `/async/sleep/0.1` sent mid-run took, per scenario (cpu).
    pub probes: Vec<Option<f64>>,
    /// Computations of the `--gil` run that waited for the lock, from that
    /// server's `/metrics` (cpu).
    pub gil_waits: Option<u64>,
    /// The machine's one-minute load average when the chapter started
    /// (Linux), which says how much of the cores the run really had.
    pub load_average: Option<f64>,
}

/// The one-minute load average from `/proc/loadavg`, where there is one.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What a CPU chapter's computation should cost, at least.
const CALIBRATE_MS: f64 = 50.0;

/// The smallest `n` (20..=40) whose naive `fibo(n)` takes at least 50 ms
/// here, and what it took; each step costs ~1.6× the previous, so it stays
/// under ~100 ms. Each `n` is timed three times and the fastest kept: on a
/// shared machine a single timing measures the neighbours too.
pub fn calibrate() -> (u32, f64) {
    calibrate_with(|n| {
        let started = Instant::now();
        std::hint::black_box(speedup_server::fibo(std::hint::black_box(n)));
        started.elapsed().as_secs_f64() * 1000.0
    })
}

/// [`calibrate`], with `time(n)` timing one `fibo(n)` in ms.
fn calibrate_with(mut time: impl FnMut(u32) -> f64) -> (u32, f64) {
    let mut last = (40, 0.0);
    for n in 20..=40 {
        let ms = (0..3).map(|_| time(n)).fold(f64::INFINITY, f64::min);
        last = (n, ms);
        if ms >= CALIBRATE_MS {
            break;
        }
    }
    last
}

/// Part 3's `n`: `fibo(20)` = 6765, so each request sleeps 6.765 ms.
const MIXED_N: u32 = 20;

/// A chapter's runs: their shape, their ideal, their scenarios.
struct Shape {
    requests: u64,
    concurrency: u32,
    ideal_ms: f64,
    fibo_n: Option<u32>,
    scenarios: Vec<Scenario>,
}

impl Shape {
    /// The shape of `chapter` (cpu calibrates its `n` here).
    fn of(chapter: Chapter) -> Shape {
        let scenario = |name: &str, path: String| Scenario {
            name: format!("{} {name}", chapter.id()),
            path,
        };
        match chapter {
            Chapter::Cpu => {
                let (n, ms) = calibrate();
                Shape {
                    requests: 100,
                    concurrency: 10,
                    ideal_ms: ms,
                    fibo_n: Some(n),
                    scenarios: vec![
                        scenario("baseline", format!("/baseline/fibo/{n}")),
                        scenario("async", format!("/async/fibo/{n}")),
                        scenario("pool", format!("/pool/fibo/{n}")),
                    ],
                }
            }
            Chapter::Mixed => Shape {
                requests: 1000,
                concurrency: 100,
                ideal_ms: speedup_server::fibo(MIXED_N) as f64 / 1000.0,
                fibo_n: Some(MIXED_N),
                scenarios: vec![
                    scenario("baseline", format!("/baseline/fibo_sleep/{MIXED_N}")),
                    scenario("async", format!("/async/fibo_sleep/{MIXED_N}")),
                ],
            },
            // Io and Capacity are not run here.
            Chapter::Stall | Chapter::Io | Chapter::Capacity => Shape {
                requests: 100,
                concurrency: 100,
                ideal_ms: 100.0,
                fibo_n: None,
                scenarios: vec![
                    scenario("blocking", "/stall/sleep/0.1".into()),
                    scenario("async", "/async/sleep/0.1".into()),
                ],
            },
        }
    }
}

/// Runs `chapter` (not [`Chapter::Io`] nor [`Chapter::Capacity`]) against
/// `main`.
pub fn run(
    plan: &LabPlan,
    chapter: Chapter,
    main: &Server,
    observer: &mut dyn Observer,
) -> Result<ChapterRun, LabError> {
    let shape = Shape::of(chapter);
    let shaped = LabPlan {
        requests: shape.requests,
        concurrency: shape.concurrency,
        // The cpu and stall runs are short and their first requests are
        // the lesson; part 3's thousand requests get the warm-up.
        warmup: chapter == Chapter::Mixed,
        ..plan.clone()
    };
    let mut run = ChapterRun {
        chapter,
        requests: shape.requests,
        concurrency: shape.concurrency,
        ideal_ms: shape.ideal_ms,
        fibo_n: shape.fibo_n,
        workers: plan.target.is_none().then(speedup_server::default_workers),
        measurements: Vec::new(),
        probes: Vec::new(),
        gil_waits: None,
        load_average: load_average(),
    };
    let probe_after =
        (chapter == Chapter::Cpu).then(|| Duration::from_secs_f64(shape.ideal_ms * 2.0 / 1000.0));
    for scenario in &shape.scenarios {
        let (measurement, probe) = probed(&shaped, main, scenario, probe_after, observer)?;
        run.measurements.push(measurement);
        run.probes.push(probe);
    }
    if chapter == Chapter::Cpu && plan.target.is_none() {
        let baseline = Scenario {
            name: "cpu baseline --gil".into(),
            path: shape.scenarios[0].path.clone(),
        };
        let (measurement, probe, waits) =
            with_gil(plan, &shaped, &baseline, probe_after, observer)?;
        run.measurements.push(measurement);
        run.probes.push(probe);
        run.gil_waits = waits;
    }
    crate::reasons::explain(&mut run, plan.threads);
    Ok(run)
}

/// The baseline again, on an embedded server whose computations take
/// turns (`--gil`): its measurement, probe and the lock waits its
/// `/metrics` counted.
fn with_gil(
    plan: &LabPlan,
    shaped: &LabPlan,
    scenario: &Scenario,
    probe_after: Option<Duration>,
    observer: &mut dyn Observer,
) -> Result<(Measurement, Option<f64>, Option<u64>), LabError> {
    let config = speedup_server::Config {
        gil: true,
        ..plan.server_config()
    };
    let gil = EmbeddedServer::start(config).map_err(LabError::Server)?;
    let server = Server {
        label: None,
        base_url: gil.base_url().to_string(),
    };
    let (measurement, probe) = probed(shaped, &server, scenario, probe_after, observer)?;
    let waits = gil.metrics().and_then(|text| gil_waits(&text));
    gil.stop().map_err(LabError::Server)?;
    Ok((measurement, probe, waits))
}

/// Runs `scenario` and, once the burst is under way (`after`, if any),
/// sends one `/async/sleep/0.1` to the same server: its time says whether
/// a serving thread was free.
fn probed(
    plan: &LabPlan,
    server: &Server,
    scenario: &Scenario,
    after: Option<Duration>,
    observer: &mut dyn Observer,
) -> Result<(Measurement, Option<f64>), LabError> {
    let Some(after) = after else {
        return Ok((measure::scenario(plan, server, scenario, observer)?, None));
    };
    let base = server.base_url.clone();
    std::thread::scope(|s| {
        let probe = s.spawn(move || {
            std::thread::sleep(after);
            probe_ms(&base, "/async/sleep/0.1")
        });
        let measured = measure::scenario(plan, server, scenario, observer);
        let probe = probe.join().ok().flatten();
        measured.map(|m| (m, probe))
    })
}

/// `speedup_gil_waits_total` from a `/metrics` scrape.
fn gil_waits(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("speedup_gil_waits_total "))?
        .trim()
        .parse()
        .ok()
}

/// How long the probe may take, in all.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one `GET path` takes to answer with a 2xx, in ms, sent as ab
/// sends it (HTTP/1.0, a connection of its own) through the load engine;
/// `None` if it fails or takes over 30 s.
pub fn probe_ms(base_url: &str, path: &str) -> Option<f64> {
    let mut load = speedup_ab::plain_plan(&format!("{base_url}{path}"), 1, 1).ok()?;
    load.timeout = PROBE_TIMEOUT;
    let out = speedup_load::run(&load, First::default, &Control::new()).ok()?;
    let record = out.recorders.into_iter().find_map(|first| first.0)?;
    match record.outcome {
        Outcome::Response { status, .. } if (200..300).contains(&status) => {
            Some(f64::from(record.sample.total_us) / 1000.0)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chapters() {
        assert_eq!(Chapter::parse("cpu"), Ok(vec![Chapter::Cpu]));
        assert_eq!(Chapter::parse("all").map(|c| c.len()), Ok(5));
        assert_eq!(Chapter::parse("capacity"), Ok(vec![Chapter::Capacity]));
        let err = Chapter::parse("gpu").unwrap_err();
        assert!(
            err.contains("io, cpu, mixed, stall, capacity or all"),
            "{err}"
        );
    }

    /// Naive fibo's cost grows by the golden ratio per step; here
    /// `fibo(20)` takes 0.05 ms, so `fibo(35)` is the first to take 50 ms.
    fn model(n: u32) -> f64 {
        0.05 * 1.618_f64.powi(n as i32 - 20)
    }

    #[test]
    fn calibration_picks_the_first_n_to_cost_50_ms() {
        let (n, ms) = calibrate_with(model);
        assert_eq!(n, 35);
        assert!((50.0..100.0).contains(&ms), "{ms}");
    }

    #[test]
    fn calibration_keeps_the_fastest_of_three_timings() {
        // Every first timing measures a busy neighbour too (10× slower).
        let mut timings = 0;
        let noisy = |n| {
            timings += 1;
            model(n) * if timings % 3 == 1 { 10.0 } else { 1.0 }
        };
        assert_eq!(calibrate_with(noisy).0, 35);
    }

    #[test]
    fn calibration_stops_at_the_ends_of_its_range() {
        assert_eq!(calibrate_with(|_| 70.0), (20, 70.0), "a slow machine");
        assert_eq!(calibrate_with(f64::from), (40, 40.0), "a fast one");
    }

    /// A server on a free loopback port that answers its first request
    /// with `answer`, then closes; its base URL.
    fn answering(answer: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(answer.as_bytes());
        });
        base
    }

    #[test]
    fn the_probe_takes_any_http_version_and_refuses_what_is_not_2xx() {
        // uvicorn answers an HTTP/1.0 request with HTTP/1.1.
        let ok = answering("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert!(probe_ms(&ok, "/async/sleep/0.1").is_some_and(|ms| ms >= 0.0));
        let missing = answering("HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(probe_ms(&missing, "/asnyc/sleep/0.1"), None);
        // Nothing listening: no answer, at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        assert_eq!(probe_ms(&format!("http://127.0.0.1:{port}"), "/"), None);
    }
}
