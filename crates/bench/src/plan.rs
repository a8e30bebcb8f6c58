//! What `speedup bench` runs: the engine's plan plus what only bench
//! knows (warm-up, output files, TLS leniency).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated bench run; build it with [`crate::BenchArgs::plan`].
#[derive(Debug, Clone)]
pub struct BenchPlan {
    /// The URL as given, for the summary.
    pub url: String,
    /// What the engine runs: its duration includes the warm-up, and its
    /// request count (`-n`) does not count the warm-up's requests.
    pub engine: speedup_load::Plan,
    /// Requests sent before this much time has passed are not recorded.
    pub warmup: Duration,
    /// Files to write.
    pub outputs: Outputs,
    /// What the flags were taken to mean where it differs from what they
    /// say (e.g. `-c` above `-n`), for the front end to show.
    pub notes: Vec<String>,
    /// With `--targets`: each target's method and path, in the engine's
    /// mix order (empty for one URL).
    pub targets: Vec<(String, String)>,
    /// `--slo`: the conditions the run must meet.
    pub slo: Vec<crate::slo::Condition>,
    /// `--find-max`: search for the highest rate within the SLO.
    pub find_max: Option<FindMax>,
}

/// How `--find-max` searches.
#[derive(Debug, Clone, PartialEq)]
pub struct FindMax {
    /// The first step's rate (`--rate`); `None`: a quick closed-loop probe
    /// decides.
    pub start: Option<f64>,
    /// How long each step sends.
    pub step: Duration,
    /// Stop when the best passing and the first failing rate are this
    /// close, as a share of the passing one.
    pub precision: f64,
    /// At most this many steps.
    pub max_steps: u32,
}

impl BenchPlan {
    /// Worker threads (resolved when the flags were validated).
    pub fn threads(&self) -> usize {
        self.engine.resolved_threads()
    }

    /// Whether the run is open loop (a `--rate` or `--stages`), with
    /// corrected latencies.
    pub fn open_loop(&self) -> bool {
        self.engine.open_loop()
    }
}

/// The files a run writes, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--json`; `-` is stdout (for any of them, one at most).
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
    /// Every output given, as `(flag, path)` in command-line order.
    fn named(&self) -> Vec<NamedOutput<'_>> {
        [
            ("--json", self.json.as_deref()),
            ("--csv", self.csv.as_deref()),
            ("--timeline", self.timeline.as_deref()),
            ("--hdr-log", self.hdr_log.as_deref()),
        ]
        .into_iter()
        .filter_map(|(flag, path)| Some((flag, path?)))
        .collect()
    }

    /// The flags whose output goes to stdout (`-`), in command-line order.
    pub fn to_stdout(&self) -> Vec<&'static str> {
        self.named()
            .into_iter()
            .filter(|(_, p)| is_stdout(p))
            .map(|(flag, _)| flag)
            .collect()
    }

    /// The first two outputs that name the same file (`-`, stdout, is
    /// none: see [`Outputs::to_stdout`]), as `(flag, path)` pairs in
    /// command-line order.
    pub fn same_file(&self) -> Option<(NamedOutput<'_>, NamedOutput<'_>)> {
        let named: Vec<NamedOutput<'_>> = self
            .named()
            .into_iter()
            .filter(|(_, p)| !is_stdout(p))
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

/// Whether an output path means stdout.
pub fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
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
