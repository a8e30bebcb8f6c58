//! A minimal command line over the engine, to measure its throughput:
//! `hammer URL [-c N] [-d SECONDS] [-n N] [-k] [--threads N]`; prints req/s.

use std::process::ExitCode;
use std::time::Duration;

use speedup_load::{run, Control, Outcome, Plan, Record, Recorder, Target};

/// Counts outcomes; keeps no samples.
#[derive(Default)]
struct Count {
    ok: u64,
    errors: u64,
}

impl Recorder for Count {
    fn record(&mut self, record: &Record) {
        match record.outcome {
            Outcome::Response { .. } => self.ok += 1,
            Outcome::Error(_) => self.errors += 1,
        }
    }
}

fn main() -> ExitCode {
    match hammer(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hammer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hammer(args: Vec<String>) -> Result<(), String> {
    let mut url = None;
    let (mut c, mut secs, mut n, mut keep_alive, mut threads) = (50u32, 5.0f64, None, false, None);
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-c" => c = value()?.parse().map_err(|e| format!("-c: {e}"))?,
            "-d" => secs = value()?.parse().map_err(|e| format!("-d: {e}"))?,
            "-n" => n = Some(value()?.parse().map_err(|e| format!("-n: {e}"))?),
            "--threads" => threads = Some(value()?.parse().map_err(|e| format!("--threads: {e}"))?),
            "-k" => keep_alive = true,
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}; usage: hammer URL [-c N] [-d SECONDS] [-n N] [-k] [--threads N]")),
        }
    }
    let target = Target::parse(&url.ok_or("missing URL")?).map_err(|e| e.to_string())?;
    let mut plan = Plan::new(target.clone());
    plan.headers = vec![
        ("Host".into(), target.host_header()),
        ("User-Agent".into(), "speedup-hammer".into()),
        ("Accept".into(), "*/*".into()),
    ];
    plan.version = speedup_load::HttpVersion::Http10;
    if keep_alive {
        plan.headers
            .push(("Connection".into(), "Keep-Alive".into()));
    }
    plan.keep_alive = keep_alive;
    plan.concurrency = c;
    plan.requests = n;
    plan.duration = n.is_none().then(|| Duration::from_secs_f64(secs));
    plan.threads = threads;
    let out = run(&plan, Count::default, &Control::new()).map_err(|e| e.to_string())?;
    let ok: u64 = out.recorders.iter().map(|r| r.ok).sum();
    let errors: u64 = out.recorders.iter().map(|r| r.errors).sum();
    let secs = out.elapsed.as_secs_f64();
    println!(
        "{:.0} req/s ({ok} ok, {errors} errors in {secs:.3} s, {} threads)",
        (ok + errors) as f64 / secs,
        out.recorders.len()
    );
    Ok(())
}
