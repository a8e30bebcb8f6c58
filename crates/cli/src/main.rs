//! `speedup`: a thin command line over the speedup libraries.
//!
//! Each subcommand lives in its own module, which turns raw flags into a
//! validated plan for a library crate and runs it. Nothing here measures,
//! formats or serves anything itself.

mod ab;
mod lab;
mod plot;
mod serve;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Ab(args) => ab::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Lab(args) => lab::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("speedup: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
