//! `speedup`: a thin command line over the speedup libraries.
//!
//! Each subcommand lives in its own module, which turns raw flags into a
//! validated plan for a library crate and runs it. Nothing here measures,
//! formats or serves anything itself.

mod ab;
mod bench;
mod bench_live;
mod compare;
mod interrupt;
mod lab;
mod limits;
mod merge;
mod plot;
mod report;
mod serve;
mod staged;

use clap::{Parser, Subcommand};

/// A lab for seeing how a server's concurrency model shapes its tail latency.
#[derive(Debug, Parser)]
#[command(name = "speedup", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process, so the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the article's server: blocking and async sleep endpoints.
    Serve(serve::ServeArgs),
    /// A drop-in Apache Bench: same flags, same report, same CSV.
    Ab(ab::AbArgs),
    /// Reproduce the article: embedded server, both endpoints, an HTML report.
    Lab(lab::LabArgs),
    /// Draw the cumulative distribution of response times from ab CSVs.
    Plot(plot::PlotArgs),
    /// Load test with the truth about tail latency: open loop (--rate) with
    /// coordinated-omission correction, HDR histograms, JSON, interval logs.
    Bench(bench::BenchCli),
    /// Add the --hdr-log files of several bench runs into one result.
    Merge(merge::MergeArgs),
    /// Did it get faster? Two runs' --hdr-log files, the change and its
    /// 95% confidence interval per percentile, a verdict each.
    Compare(compare::CompareArgs),
    /// One self-contained HTML page of bench runs from their --hdr-log
    /// files: percentile spectrum, latency and requests over time, percentiles.
    Report(report::ReportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => parse_failed(err),
    };
    let (prefix, result) = match cli.command {
        Command::Serve(args) => ("speedup", serve::run(args)),
        Command::Ab(args) => ("speedup ab", ab::run(args)),
        Command::Plot(args) => ("speedup", plot::run(args)),
        Command::Lab(args) => ("speedup", lab::run(args)),
        Command::Bench(args) => ("speedup bench", bench::run(args)),
        Command::Merge(args) => ("speedup merge", merge::merge(args)),
        Command::Compare(args) => ("speedup compare", compare::run(args)),
        Command::Report(args) => ("speedup report", report::run(args)),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{prefix}: {}", message(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Clap's error, with `speedup ab`'s one prefix for ab's flags (ab users
/// read every message as `speedup ab: ...`), then clap's exit.
fn parse_failed(err: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let for_ab = std::env::args().nth(1).as_deref() == Some("ab");
    if !for_ab
        || matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        )
    {
        err.exit();
    }
    let text = err.to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("speedup ab: {text}");
    std::process::exit(err.exit_code());
}

/// An error and its causes on one line, each said once: a cause whose text
/// the message already holds (thiserror messages often embed their source)
/// is not repeated.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}
