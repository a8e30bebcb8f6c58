//! `speedup serve`: (stub, to be written).

use std::process::ExitCode;

/// Flags of `speedup serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs `speedup serve`.
pub fn run(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`speedup serve` is not written yet")
}
