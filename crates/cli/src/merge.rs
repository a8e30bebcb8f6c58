//! `speedup merge`: adds the interval logs of several runs exactly and
//! prints one summary (`--json` for a file); warns when the logs did not
//! run together.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use speedup_bench::{json, merge, text};

use crate::staged::Staged;

/// Flags of `speedup merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Also write the merged result as JSON (schema speedup-merge/2) to FILE, '-' for stdout
    #[arg(long = "json", value_name = "FILE")]
    json: Option<PathBuf>,
    /// Interval logs written by `speedup bench --hdr-log`
    #[arg(value_name = "LOG", required = true)]
    logs: Vec<PathBuf>,
}

/// Runs `speedup merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(json) = args.json.as_deref().filter(|_| !to_stdout) {
        not_a_log("--json", json, &args.logs)?;
    }
    let merged = merge::merge(&args.logs)?;
    warn_unterminated("speedup merge", &merged);
    let mut summary: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    };
    writeln!(
        summary,
        "speedup merge: {} logs, {} intervals\n  requests:   {} over {:.2}s, {:.1} req/s",
        merged.files.len(),
        merged.intervals,
        merged.hist.len(),
        merged.span.as_secs_f64(),
        merged.rate()
    )?;
    if let Some(common) = &merged.common {
        report_common(&mut summary, common)?;
    }
    writeln!(summary)?;
    if merged.other_tags > 0 {
        let s = if merged.other_tags == 1 { "" } else { "s" };
        eprintln!(
            "speedup merge: note: {} interval{s} tagged otherwise than Tag=uncorrected left out \
             (the untagged series is merged, as HdrHistogram's log processor does)",
            merged.other_tags
        );
    }
    let primary = match merged.latency {
        merge::Latency::Unknown => "merged",
        kind => kind.name(),
    };
    let s = speedup_stats::HistSummary::of(&merged.hist);
    let u = merged
        .uncorrected
        .as_ref()
        .and_then(speedup_stats::HistSummary::of);
    let mut columns = vec![(primary, s.as_ref())];
    if u.is_some() {
        columns.push(("uncorrected", u.as_ref()));
    }
    text::write_latency_table(&mut summary, &columns, None)?;
    summary.flush()?;
    match args.json.as_deref() {
        None => {}
        Some(p) if to_stdout || p == Path::new("-") => {
            json::write_json(&merge::to_json(&merged), &mut std::io::stdout().lock())?
        }
        Some(p) => Staged::create(p, "--json")?
            .commit(|w| json::write_json(&merge::to_json(&merged), w))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A result written at the end (`flag`'s `path`) never replaces one of the
/// logs read.
pub(crate) fn not_a_log(flag: &str, path: &Path, logs: &[PathBuf]) -> anyhow::Result<()> {
    let place = speedup_bench::plan::place(path);
    if let Some(log) = logs
        .iter()
        .find(|log| *log == path || place.is_some() && speedup_bench::plan::place(log) == place)
    {
        anyhow::bail!(
            "{flag} {} is the log {}: write the result to a file of its own",
            path.display(),
            log.display()
        );
    }
    Ok(())
}

/// Says which logs lost their last line (a write cut short).
pub(crate) fn warn_unterminated(prefix: &str, merged: &merge::Merged) {
    for file in &merged.unterminated {
        eprintln!(
            "{prefix}: warning: {}: the last line has no newline (a write cut short?): \
             left out, the lines before it are read",
            file.display()
        );
    }
}

/// The merged rate over the logs' common span, and a warning when the logs
/// did not start together (their merged rate over the whole span is then
/// not what the server got).
fn report_common(summary: &mut dyn Write, common: &merge::Common) -> std::io::Result<()> {
    if common.starts_differ() {
        eprintln!(
            "speedup merge: warning: the logs start {:.3}s apart ({} first, {} last), more \
             than one interval ({:.3}s): the generators did not run together, so the rate over \
             the whole span understates the load; {}. Start them together with `speedup bench \
             --start-at TIME`",
            common.start_spread().as_secs_f64(),
            common.first.0.display(),
            common.last.0.display(),
            common.interval.as_secs_f64(),
            match common.span.is_zero() {
                true => "they never all ran at once".to_string(),
                false => format!(
                    "over the {:.3}s when all ran: {:.1} req/s",
                    common.span.as_secs_f64(),
                    common.rate()
                ),
            }
        );
    }
    writeln!(
        summary,
        "  common:     {:.2}s when every log has values, {:.1} req/s (logs start within {:.3}s)",
        common.span.as_secs_f64(),
        common.rate(),
        common.start_spread().as_secs_f64()
    )
}
