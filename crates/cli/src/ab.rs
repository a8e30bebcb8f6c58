//! `speedup ab`: (stub, to be written).

use std::process::ExitCode;

/// Flags of `speedup ab`.
#[derive(Debug, clap::Args)]
pub struct AbArgs {}

/// Runs `speedup ab`.
pub fn run(_args: AbArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`speedup ab` is not written yet")
}
