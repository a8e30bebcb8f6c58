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
//!   against `/async/sleep/0.1`, at `-n100 -c100`.
//!
//! Chapters other than `io` run against the main server only (embedded or
//! `--target`); the `--gil` run needs the embedded server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::measure::{self, Measurement, Observer};
use crate::plan::{LabPlan, Scenario, Server};
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
}

impl Chapter {
    /// Every chapter, in the series' order.
    pub const ALL: [Chapter; 4] = [Chapter::Io, Chapter::Cpu, Chapter::Mixed, Chapter::Stall];

    /// Parses `io`, `cpu`, `mixed`, `stall` or `all`.
    pub fn parse(text: &str) -> Result<Vec<Chapter>, String> {
        Ok(match text.trim() {
            "io" => vec![Chapter::Io],
            "cpu" => vec![Chapter::Cpu],
            "mixed" => vec![Chapter::Mixed],
            "stall" => vec![Chapter::Stall],
            "all" => Chapter::ALL.to_vec(),
            other => {
                return Err(format!(
                    "unknown chapter `{}`: expected io, cpu, mixed, stall or all",
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
        }
    }

    /// The chapter's heading.
    pub fn title(self) -> &'static str {
        match self {
            Chapter::Io => "Part 1: blocking pool vs async timers",
            Chapter::Cpu => "Part 2: CPU-bound work",
            Chapter::Mixed => "Part 3: compute, then sleep",
            Chapter::Stall => "The mistake: blocking inside an async handler",
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
fn load_average() -> Option<f64> {
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
    let mut last = (40, 0.0);
    for n in 20..=40 {
        let ms = (0..3)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(speedup_server::fibo(std::hint::black_box(n)));
                started.elapsed().as_secs_f64() * 1000.0
            })
            .fold(f64::INFINITY, f64::min);
        last = (n, ms);
        if ms >= CALIBRATE_MS {
            break;
        }
    }
    last
}

/// Part 3's `n`: `fibo(20)` = 6765, so each request sleeps 6.765 ms.
const MIXED_N: u32 = 20;

/// Runs `chapter` (not [`Chapter::Io`]) against `main`.
pub fn run(
    plan: &LabPlan,
    chapter: Chapter,
    main: &Server,
    observer: &mut dyn Observer,
) -> Result<ChapterRun, LabError> {
    let workers = plan.target.is_none().then(speedup_server::default_workers);
    let scenario = |name: &str, path: String| Scenario {
        name: format!("{} {name}", chapter.id()),
        path,
    };
    let (requests, concurrency, ideal_ms, fibo_n, scenarios) = match chapter {
        Chapter::Cpu => {
            let (n, ms) = calibrate();
            let scenarios = vec![
                scenario("baseline", format!("/baseline/fibo/{n}")),
                scenario("async", format!("/async/fibo/{n}")),
                scenario("pool", format!("/pool/fibo/{n}")),
            ];
            (100, 10, ms, Some(n), scenarios)
        }
        Chapter::Mixed => {
            let scenarios = vec![
                scenario("baseline", format!("/baseline/fibo_sleep/{MIXED_N}")),
                scenario("async", format!("/async/fibo_sleep/{MIXED_N}")),
            ];
            let ideal = speedup_server::fibo(MIXED_N) as f64 / 1000.0;
            (1000, 100, ideal, Some(MIXED_N), scenarios)
        }
        Chapter::Stall | Chapter::Io => {
            let scenarios = vec![
                scenario("blocking", "/stall/sleep/0.1".into()),
                scenario("async", "/async/sleep/0.1".into()),
            ];
            (100, 100, 100.0, None, scenarios)
        }
    };
    let shaped = LabPlan {
        requests,
        concurrency,
        // The cpu and stall runs are short and their first requests are
        // the lesson; part 3's thousand requests get the warm-up.
        warmup: chapter == Chapter::Mixed,
        ..plan.clone()
    };
    let mut run = ChapterRun {
        chapter,
        requests,
        concurrency,
        ideal_ms,
        fibo_n,
        workers,
        measurements: Vec::new(),
        probes: Vec::new(),
        gil_waits: None,
        load_average: load_average(),
    };
    let probe_after = Duration::from_secs_f64(ideal_ms * 2.0 / 1000.0);
    for scenario in &scenarios {
        let (measurement, probe) = if chapter == Chapter::Cpu {
            probed(&shaped, main, scenario, probe_after, observer)?
        } else {
            (measure::scenario(&shaped, main, scenario, observer)?, None)
        };
        run.measurements.push(measurement);
        run.probes.push(probe);
    }
    if chapter == Chapter::Cpu && plan.target.is_none() {
        // The baseline again on a server whose computations take turns.
        let config = speedup_server::Config {
            gil: true,
            ..plan.server_config()
        };
        let gil = EmbeddedServer::start(config).map_err(LabError::Server)?;
        let server = Server {
            label: None,
            base_url: gil.base_url().to_string(),
        };
        let path = scenarios[0].path.clone();
        let (measurement, probe) = probed(
            &shaped,
            &server,
            &scenario("baseline --gil", path),
            probe_after,
            observer,
        )?;
        run.gil_waits = gil.metrics().and_then(|text| gil_waits(&text));
        gil.stop().map_err(LabError::Server)?;
        run.measurements.push(measurement);
        run.probes.push(probe);
    }
    let facts = Facts {
        chapter,
        concurrency,
        ideal_ms,
        workers,
        threads: plan.threads,
        cpu_threads: speedup_server::default_cpu_threads(),
    };
    for (i, m) in run.measurements.iter_mut().enumerate() {
        m.row.why = why(&facts, i, run.probes[i]);
        if let (Chapter::Cpu, 3, Some(waits)) = (chapter, i, run.gil_waits) {
            m.row.why.push_str(&format!(
                " The server's `/metrics` counted {waits} computations of {requests} waiting for the lock."
            ));
        }
    }
    Ok(run)
}

/// The numbers the reasons quote.
struct Facts {
    chapter: Chapter,
    concurrency: u32,
    ideal_ms: f64,
    workers: Option<usize>,
    threads: usize,
    cpu_threads: usize,
}

/// One sentence per curve, by position in the chapter's run order.
fn why(f: &Facts, index: usize, probe_ms: Option<f64>) -> String {
    let c = f.concurrency;
    let t = f.ideal_ms;
    let cores = f.cpu_threads;
    let workers = f
        .workers
        .map_or("the server's".to_string(), |w| w.to_string());
    let probe = probe_ms.map_or(String::new(), |ms| {
        format!(" An `/async/sleep/0.1` sent mid-burst took {ms:.0} ms.")
    });
    match (f.chapter, index) {
        (Chapter::Cpu, 0) => format!(
            "The pool's {} threads take all {c} requests at once, but only {cores} cores compute: \
             each request shares a core with the others, about {c}/{cores} × {t:.0} ms, and the \
             serving threads stay free.{probe}",
            f.threads
        ),
        (Chapter::Cpu, 1) => format!(
            "Each computation holds its serving thread (one of {workers}) until it ends: the other \
             requests of that thread's connections wait for it, and while every thread computes, \
             new connections wait too: the probe waited.{probe}"
        ),
        (Chapter::Cpu, 2) => format!(
            "A CPU pool of {cores} threads, one per core (Rust's process pool), computes while the \
             serving threads stay free: the same throughput as the cores allow, and the probe is served \
             at once.{probe}"
        ),
        (Chapter::Cpu, _) => format!(
            "With `--gil` one lock lets only one of the {} threads compute at a time, as CPython's \
             GIL does: one core's throughput, so on {cores} cores about {cores}× the baseline's \
             times. This is why Python needs processes where Rust needs only threads.{probe}",
            f.threads
        ),
        (Chapter::Mixed, 0) => {
            let rounds = u64::from(c).div_ceil(f.threads.max(1) as u64);
            format!(
                "{c} clients share {} threads, each held for the computation and the {t:.3} ms \
                 sleep: up to {rounds} rounds.",
                f.threads
            )
        }
        (Chapter::Mixed, _) => format!(
            "The computation (microseconds in Rust) runs on the serving thread, the {t:.3} ms \
             sleep on a timer: all {c} requests sleep at once."
        ),
        (_, 0) => format!(
            "`std::thread::sleep` in an async handler holds its serving thread (one of {workers}) \
             for the whole 100 ms, so at most {workers} requests are served per 100 ms whatever the \
             concurrency (about {} req/s); the lab's server waits 10 s for a first byte, where \
             `speedup serve`'s default 2 s would cut off the clients queued longest.",
            f.workers
                .map_or("10 per thread".into(), |w| (w * 10).to_string())
        ),
        _ => format!("Timers hold no thread while they sleep: all {c} requests sleep at once."),
    }
}

/// Runs `scenario` and, once the burst is under way, sends one
/// `/async/sleep/0.1` to the same server: its time says whether the
/// serving thread was free.
fn probed(
    plan: &LabPlan,
    server: &Server,
    scenario: &Scenario,
    after: Duration,
    observer: &mut dyn Observer,
) -> Result<(Measurement, Option<f64>), LabError> {
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

/// How long one `GET path` over HTTP/1.0 takes to answer 200, in ms;
/// `None` if it fails or takes over 30 s.
pub fn probe_ms(base_url: &str, path: &str) -> Option<f64> {
    http_get(base_url, path).map(|(ms, _)| ms)
}

/// One `GET path` over HTTP/1.0: the time to a full 200 answer in ms, and
/// its body; `None` if it fails or takes over 30 s.
fn http_get(base_url: &str, path: &str) -> Option<(f64, String)> {
    let authority = base_url.strip_prefix("http://")?.split('/').next()?;
    let started = Instant::now();
    let mut stream = TcpStream::connect(authority).ok()?;
    let limit = Some(Duration::from_secs(30));
    stream.set_read_timeout(limit).ok()?;
    stream.set_write_timeout(limit).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer).ok()?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !answer.starts_with(b"HTTP/1.0 200") {
        return None;
    }
    let text = String::from_utf8_lossy(&answer);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Some((ms, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chapters() {
        assert_eq!(Chapter::parse("cpu"), Ok(vec![Chapter::Cpu]));
        assert_eq!(Chapter::parse("all").map(|c| c.len()), Ok(4));
        let err = Chapter::parse("gpu").unwrap_err();
        assert!(err.contains("io, cpu, mixed, stall or all"), "{err}");
    }

    #[test]
    fn calibration_lands_in_range() {
        let (n, ms) = calibrate();
        assert!((20..=40).contains(&n));
        assert!(ms >= CALIBRATE_MS || n == 40, "n={n} took {ms} ms");
    }
}
