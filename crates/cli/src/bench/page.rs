//! `speedup bench --report FILE`: the run's page, drawn from its interval
//! log (the `--hdr-log` asked for, or a temporary one beside the page).

use std::path::Path;

use anyhow::Context;
use speedup_bench::{compare, BenchPlan, BenchResult};

use crate::report::TempLog;
use crate::staged::Staged;

/// The page's staged file, checked against the other outputs, and the
/// temporary interval log it is drawn from when no `--hdr-log` was asked for.
pub(super) fn output(path: &Path, plan: &BenchPlan) -> anyhow::Result<(Staged, Option<TempLog>)> {
    let o = &plan.outputs;
    let others: Vec<(&str, &Path)> = [
        ("--json", o.json.as_deref().filter(|p| *p != Path::new("-"))),
        ("--csv", o.csv.as_deref()),
        ("--timeline", o.timeline.as_deref()),
        ("--hdr-log", o.hdr_log.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| Some((flag, p?)))
    .collect();
    let place = speedup_bench::plan::place(path);
    if let Some((flag, _)) = others
        .iter()
        .find(|(_, p)| *p == path || place.is_some() && speedup_bench::plan::place(p) == place)
    {
        anyhow::bail!(
            "--report {} and {flag} name the same file: give each output a file of its own",
            path.display()
        );
    }
    let temp = match o.hdr_log {
        Some(_) => None,
        None => Some(TempLog::beside(path)?),
    };
    Ok((Staged::create(path, "--report")?, temp))
}

/// Writes the page, drawn from the `--hdr-log` or the temporary log
/// (removed after).
pub(super) fn write(
    page: Staged,
    temp: Option<TempLog>,
    plan: &BenchPlan,
    result: &BenchResult,
) -> anyhow::Result<()> {
    let asked = plan.outputs.hdr_log.as_deref();
    let log = asked
        .or_else(|| temp.as_ref().map(|t| t.path()))
        .context("--report: no interval log to draw from")?;
    let name = asked
        .and_then(|p| p.file_stem())
        .map_or("run".to_string(), |s| s.to_string_lossy().into_owned());
    let run = compare::read_run(&[log.to_path_buf()])
        .context("--report: reading the run's interval log back")?;
    let title = format!("speedup bench {}", result.url);
    crate::report::write_report(page, &title, &[(name, run)])
}
