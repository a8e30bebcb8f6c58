//! One sentence per curve of a chapter: why it came out as it did, with
//! the numbers of this run (the calibrated computation, the serving
//! threads, the mid-burst probe, the lock waits).

use crate::{Chapter, ChapterRun};

/// Gives each of `run`'s measurements its reason.
pub(crate) fn explain(run: &mut ChapterRun, threads: usize) {
    let facts = Facts {
        chapter: run.chapter,
        concurrency: run.concurrency,
        ideal_ms: run.ideal_ms,
        workers: run.workers,
        threads,
        cpu_threads: speedup_server::default_cpu_threads(),
    };
    for (i, m) in run.measurements.iter_mut().enumerate() {
        m.row.why = why(&facts, i, run.probes[i]);
        if let (Chapter::Cpu, 3, Some(waits)) = (run.chapter, i, run.gil_waits) {
            m.row.why.push_str(&format!(
                " The server's `/metrics` counted {waits} computations of {} waiting for the lock.",
                run.requests
            ));
        }
    }
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
