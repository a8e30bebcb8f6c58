//! `speedup report -o report.html [NAME=]LOG...`: the page of one or more
//! bench runs from their interval logs, and [`write_report`], which
//! `speedup bench --report` calls at the end of a run. Reading the logs
//! lives in `speedup_bench::compare`, the page in `speedup_report`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use speedup_bench::compare::{self, CompareError, LoggedRun};
use speedup_report::bench_page::{bench_page_html, BenchPage, PageRun};
use speedup_report::escape::escaped;
use speedup_stats::bootstrap::Settings;

use crate::merge::{not_a_log, warn_unterminated};
use crate::plot::split_name;
use crate::staged::Staged;

/// Flags of `speedup report`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  speedup bench --rate 500 -d 30s --hdr-log before.hlog URL\n  \
                  speedup bench --rate 500 -d 30s --hdr-log after.hlog URL\n  \
                  speedup report -o report.html before.hlog after.hlog"
)]
pub struct ReportArgs {
    /// The page to write (one self-contained HTML file)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// The runs' interval logs (`speedup bench --hdr-log`), one run each;
    /// NAME= names a run (default: the file's stem). With two, the second
    /// is compared with the first.
    #[arg(value_name = "[NAME=]LOG", required = true)]
    logs: Vec<String>,
    /// The page's title
    #[arg(long, default_value = DEFAULT_TITLE)]
    title: String,
}

/// The default title of the page.
pub const DEFAULT_TITLE: &str = "speedup bench report";

/// Runs `speedup report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut named = Vec::new();
    for input in &args.logs {
        let (name, path) = split_name(input)?;
        let name = name.map_or_else(|| stem(path), str::to_owned);
        named.push((name, path.to_path_buf()));
    }
    let paths: Vec<PathBuf> = named.iter().map(|(_, p)| p.clone()).collect();
    not_a_log("-o", &args.output, &paths)?;
    // Created before reading: a bad folder fails first.
    let page = Staged::create(&args.output, "-o")?;
    let mut runs = Vec::new();
    for (name, path) in named {
        let run = compare::read_run(std::slice::from_ref(&path))?;
        warn_unterminated("speedup report", &run.merged);
        runs.push((name, run));
    }
    write_report(page, &args.title, &runs)?;
    eprintln!(
        "wrote {} ({} run{})",
        escaped(args.output.display()),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `runs` to `out`, whole or not at all. With two runs
/// the second is compared with the first.
pub fn write_report(out: Staged, title: &str, runs: &[(String, LoggedRun)]) -> anyhow::Result<()> {
    let comparison = match runs {
        [(_, base), (_, new)] => Some(compare::compare(base, new, Settings::default())),
        _ => None,
    };
    let page = BenchPage {
        title: title.to_owned(),
        runs: runs
            .iter()
            .map(|(name, run)| PageRun {
                name: name.clone(),
                files: run
                    .merged
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect(),
                latency: run.merged.latency.name(),
                hist: &run.merged.hist,
                uncorrected: run.merged.uncorrected.as_ref(),
                seconds: run.series.seconds(),
                unit_s: run.series.block_s(),
                span_s: run.merged.span.as_secs_f64(),
            })
            .collect(),
        comparison: comparison.as_ref().map(|c| c.as_ref().map_err(refusal)),
    };
    let html = bench_page_html(&page)?;
    out.commit(|w| w.write_all(html.as_bytes()))
}

/// Why two runs are not compared, as the page says it.
fn refusal(e: &CompareError) -> String {
    e.to_string()
}

/// A log's name for the page: its file stem.
fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// An interval log `speedup bench --report` writes when no `--hdr-log` was
/// asked for, beside the report: created here (never an existing file, so
/// nothing of the user's is written over) and removed when dropped.
pub struct TempLog {
    path: PathBuf,
    file: std::fs::File,
}

impl TempLog {
    /// Creates a hidden file beside `report`: `.NAME.PID.hlog`.
    pub fn beside(report: &Path) -> anyhow::Result<TempLog> {
        let name = report
            .file_name()
            .with_context(|| format!("--report {}: not a file name", report.display()))?;
        let path = report.with_file_name(format!(
            ".{}.{}.hlog",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "--report {}: cannot create the temporary interval log {} beside it \
                     (check the folder is writable, and move that file away if it exists)",
                    report.display(),
                    path.display()
                )
            })?;
        Ok(TempLog { path, file })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A buffered writer into it.
    pub fn writer(&self) -> anyhow::Result<Box<dyn Write + Send>> {
        let file = self
            .file
            .try_clone()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(Box::new(std::io::BufWriter::new(file)))
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::TempLog;

    #[test]
    fn the_temporary_log_is_never_a_file_that_was_there() {
        let dir = std::env::temp_dir().join(format!("speedup-templog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let report = dir.join("page.html");
        let theirs = dir.join(format!(".page.html.{}.hlog", std::process::id()));
        std::fs::write(&theirs, b"theirs").unwrap();
        let err = TempLog::beside(&report).err().expect("refused");
        assert!(err.to_string().contains("move that file away"), "{err:#}");
        assert_eq!(std::fs::read(&theirs).unwrap(), b"theirs");
        std::fs::remove_file(&theirs).unwrap();
        let made = TempLog::beside(&report).unwrap();
        assert!(made.path().exists());
        let path = made.path().to_path_buf();
        drop(made);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
