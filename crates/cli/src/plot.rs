//! `speedup plot`: (stub, to be written).

use std::process::ExitCode;

/// Flags of `speedup plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {}

/// Runs `speedup plot`.
pub fn run(_args: PlotArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`speedup plot` is not written yet")
}
