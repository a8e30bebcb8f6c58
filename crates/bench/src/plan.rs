//! What `speedup bench` runs: the engine's plan plus what only bench
//! knows (warm-up, output files, TLS leniency).

use std::path::{Path, PathBuf};
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

/// An output file as named on the command line: its flag and path.
pub type NamedOutput<'a> = (&'static str, &'a Path);

impl Outputs {
    /// The first two outputs that name the same file (`--json -`, stdout,
    /// is none), as `(flag, path)` pairs in command-line order.
    pub fn same_file(&self) -> Option<(NamedOutput<'_>, NamedOutput<'_>)> {
        let named: Vec<NamedOutput<'_>> = [
            (
                "--json",
                self.json.as_deref().filter(|p| *p != Path::new("-")),
            ),
            ("--csv", self.csv.as_deref()),
            ("--timeline", self.timeline.as_deref()),
            ("--hdr-log", self.hdr_log.as_deref()),
        ]
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path?)))
        .collect();
        let places: Vec<Option<PathBuf>> = named.iter().map(|(_, p)| place(p)).collect();
        for i in 0..named.len() {
            for j in i + 1..named.len() {
                let same =
                    named[i].1 == named[j].1 || places[i].is_some() && places[i] == places[j];
                if same {
                    return Some((named[i], named[j]));
                }
            }
        }
        None
    }
}

/// Where `path` is, links and `.`/`..` resolved: an existing file's own
/// canonical path, a new one's folder's plus its name; `None` when its
/// folder cannot be resolved (writing there fails anyway).
pub fn place(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
}
