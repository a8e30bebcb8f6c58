//! What `speedup bench` runs: the engine's plan plus what only bench
//! knows (warm-up, output files, TLS leniency).

use std::path::PathBuf;
use std::time::Duration;

/// A validated bench run; build it with [`crate::BenchArgs::plan`].
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// The URL as given, for the summary.
    pub url: String,
    /// What the engine runs: its duration includes the warm-up, and with
    /// `-n` and a rate its request count includes the warm-up's requests.
    pub engine: speedup_load::Plan,
    /// Requests sent before this much time has passed are not recorded.
    pub warmup: Duration,
    /// Files to write.
    pub outputs: Outputs,
}

impl BenchPlan {
    /// Worker threads (resolved when the flags were validated).
    pub fn threads(&self) -> usize {
        self.engine.resolved_threads()
    }

    /// Whether the run is open loop (a `--rate`), with corrected latencies.
    pub fn open_loop(&self) -> bool {
        self.engine.rate.is_some()
    }
}

/// The files a run writes, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--json`; `-` is stdout.
    pub json: Option<PathBuf>,
    /// `--csv`.
    pub csv: Option<PathBuf>,
    /// `--timeline`.
    pub timeline: Option<PathBuf>,
    /// `--hdr-log`.
    pub hdr_log: Option<PathBuf>,
}
