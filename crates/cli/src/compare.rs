//! `speedup compare BASE NEW`: reads both runs' interval logs, prints the
//! figures, the change and its confidence interval with a verdict per
//! metric, optionally writes the JSON, and with `--fail-if-slower` exits 2
//! when a latency got slower by more than the given percentage (for CI).
//! Reading, comparing and formatting live in `speedup_bench::compare`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use speedup_bench::compare::{self, CompareError, LoggedRun};
use speedup_bench::json;
use speedup_stats::bootstrap::Settings;

use crate::merge::{not_a_log, warn_unterminated};
use crate::staged::Staged;

/// Flags of `speedup compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  speedup bench --rate 500 -d 30s --hdr-log before.hlog URL\n  \
                  (change the server)\n  \
                  speedup bench --rate 500 -d 30s --hdr-log after.hlog URL\n  \
                  speedup compare before.hlog after.hlog\n\n\
                  Several logs a side (generators run side by side, or runs one after another):\n  \
                  speedup compare --base a1.hlog --base a2.hlog --new b1.hlog --new b2.hlog"
)]
pub struct CompareArgs {
    /// The base run's log, then the new run's (`speedup bench --hdr-log`)
    #[arg(value_name = "BASE NEW")]
    logs: Vec<PathBuf>,
    /// A log of the base run; repeat for several (they are merged)
    #[arg(long = "base", value_name = "LOG")]
    base: Vec<PathBuf>,
    /// A log of the new run; repeat for several (they are merged)
    #[arg(long = "new", value_name = "LOG")]
    new: Vec<PathBuf>,
    /// Also write the comparison as JSON (schema speedup-compare/1) to FILE, '-' for stdout
    #[arg(long = "json", value_name = "FILE")]
    json: Option<PathBuf>,
    /// Exit 2 when a latency metric is `slower` by more than PCT percent
    #[arg(
        long = "fail-if-slower",
        value_name = "PCT",
        allow_negative_numbers = true
    )]
    fail_if_slower: Option<f64>,
    /// Bootstrap resamples (100 to 1000000)
    #[arg(long, value_name = "N", default_value_t = Settings::default().resamples)]
    resamples: usize,
    /// Seed of the resampling: the same logs and seed give the same intervals
    #[arg(long, value_name = "N", default_value_t = Settings::default().seed)]
    seed: u64,
    /// Noise band in % of base: a change whose interval reaches into ±PCT
    /// reads `same`; set it to what two runs of the same build differ by on
    /// your machine (0: the interval alone)
    #[arg(long, value_name = "PCT", default_value_t = Settings::default().noise_pct)]
    noise: f64,
}

/// Runs `speedup compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (base_logs, new_logs) = sides(&args)?;
    if !(100..=1_000_000).contains(&args.resamples) {
        bail!(
            "--resamples {} is out of range: give 100 to 1000000 (2000 is plenty)",
            args.resamples
        );
    }
    if !(args.noise.is_finite() && (0.0..=100.0).contains(&args.noise)) {
        bail!(
            "--noise takes a percentage from 0 to 100 (e.g. --noise 2), got {}",
            args.noise
        );
    }
    if let Some(pct) = args.fail_if_slower {
        if !(pct.is_finite() && pct >= 0.0) {
            bail!("--fail-if-slower takes a percentage of 0 or more (e.g. --fail-if-slower 5), got {pct}");
        }
    }
    let to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(json) = args.json.as_deref().filter(|_| !to_stdout) {
        not_a_log(
            "--json",
            json,
            &[base_logs.clone(), new_logs.clone()].concat(),
        )?;
    }
    let read = |side, logs: &[PathBuf]| -> anyhow::Result<LoggedRun> {
        let run = compare::read_run(logs).map_err(|source| CompareError::Read { side, source })?;
        warn_unterminated("speedup compare", &run.merged);
        Ok(run)
    };
    let (base, new) = (read("base", &base_logs)?, read("new", &new_logs)?);
    let settings = Settings {
        resamples: args.resamples,
        seed: args.seed,
        noise_pct: args.noise,
    };
    let c = compare::compare(&base, &new, settings)?;
    let mut table: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    };
    compare::write_table(&c, &base, &new, &mut table)?;
    table.flush()?;
    drop(table);
    let value = compare::to_json(&c, &base, &new);
    match args.json.as_deref() {
        None => {}
        Some(_) if to_stdout => json::write_json(&value, &mut std::io::stdout().lock())?,
        Some(p) => Staged::create(p, "--json")?.commit(|w| json::write_json(&value, w))?,
    }
    if let Some(pct) = args.fail_if_slower {
        let slower = compare::slower_than(&c, pct);
        if !slower.is_empty() {
            let names: Vec<String> = slower
                .iter()
                .map(|ch| {
                    let by = ch
                        .change_pct
                        .map_or(String::new(), |p| format!(" {p:+.1}%"));
                    format!("{}{by}", ch.metric.name())
                })
                .collect();
            eprintln!(
                "speedup compare: slower by more than {pct}% (--fail-if-slower): {}",
                names.join(", ")
            );
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The base and new logs: `BASE NEW`, or `--base`/`--new` (repeatable).
fn sides(args: &CompareArgs) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    match (
        args.logs.as_slice(),
        args.base.is_empty(),
        args.new.is_empty(),
    ) {
        ([base, new], true, true) => Ok((vec![base.clone()], vec![new.clone()])),
        ([], false, false) => Ok((args.base.clone(), args.new.clone())),
        ([], _, _) => bail!(
            "name both runs: `speedup compare BASE NEW`, or --base LOG and --new LOG (each \
             repeatable)"
        ),
        (logs, true, true) => bail!(
            "give two logs, BASE then NEW, not {}: for several logs a side use --base LOG and \
             --new LOG (each repeatable)",
            logs.len()
        ),
        _ => bail!(
            "give the logs either as BASE NEW or with --base/--new, not both: use --base LOG \
             and --new LOG for every log"
        ),
    }
}
