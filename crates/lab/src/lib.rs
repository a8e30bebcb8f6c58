//! `speedup lab`: the article reproduced in one call.
//!
//! A [`LabPlan`] names the scenarios (a name and a path, e.g. `baseline` →
//! `/baseline/sleep/0.1`) and the servers to run them against: the embedded
//! `speedup serve` (started in-process on `127.0.0.1` and a free port, see
//! [`embedded`]), an external `--target`, and any `--compare` servers. Each
//! run is shaped as the article's `ab -n1000 -c100` ([`measure`]); the
//! results become a report folder ([`folder`]), written where [`staging`]
//! allows.
//!
//! Beyond the article (the `io` chapter), [`chapters`] runs the series'
//! later parts (`cpu`, `mixed`, `stall`), [`capacity`] the highest rate each
//! endpoint takes within an SLO (`speedup bench --find-max`'s search) and
//! [`sweep`] the concurrency sweep, each into its own section of the same
//! page (`reasons`: one sentence per curve).
//!
//! The lab prints nothing: progress and the terminal table are the front
//! end's, through the [`Observer`] it passes in.

#![forbid(unsafe_code)]

pub mod capacity;
pub mod chapters;
pub mod embedded;
pub mod folder;
pub mod measure;
pub mod plan;
pub mod preflight;
pub mod prose;
mod reasons;
pub mod rows;
pub mod sections;
pub mod staging;
pub mod sweep;

pub use capacity::{CapacityRun, CapacitySettings};
pub use chapters::{Chapter, ChapterRun};
pub use embedded::EmbeddedServer;
pub use measure::{Measurement, Observer};
pub use plan::{LabPlan, Scenario, Server};

use std::path::PathBuf;

use speedup_report::escape::escaped;

/// Why the lab could not finish.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A plan value is out of range; the message names the option.
    #[error("{0}")]
    Plan(String),
    /// The embedded server could not start, or failed while serving.
    #[error("the embedded server failed")]
    Server(#[source] speedup_server::ServerError),
    /// A scenario could not run (bad URL, resolver, open files...).
    #[error("scenario `{}` could not run", escaped(scenario))]
    Run {
        /// The scenario's full name.
        scenario: String,
        /// The engine's reason.
        #[source]
        source: speedup_load::RunError,
    },
    /// A capacity search could not run.
    #[error("`{}` could not run", escaped(scenario))]
    Search {
        /// The search's name, e.g. `capacity baseline`.
        scenario: String,
        /// Bench's reason.
        #[source]
        source: speedup_bench::BenchError,
    },
    /// A URL in the plan is not one the engine can use.
    #[error("scenario `{}`: bad URL {}", escaped(scenario), escaped(url))]
    Url {
        /// The scenario's full name.
        scenario: String,
        /// The URL built for it.
        url: String,
        /// What is wrong with it.
        #[source]
        source: speedup_load::PlanError,
    },
    /// A `--target` or `--compare` server failed the check made before
    /// the experiment.
    #[error("{}: {reason}", escaped(flag))]
    Unreachable {
        /// The flag that named the server, with its value.
        flag: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The chart could not be drawn.
    #[error("cannot draw the chart")]
    Chart(#[from] speedup_report::plot::PlotError),
    /// A signal stopped the lab before its report was written.
    #[error("interrupted: the report was not written")]
    Interrupted,
    /// A report file could not be written.
    #[error("cannot write {}", escaped(path.display()))]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// Everything one `speedup lab` measured.
#[derive(Debug, Default)]
pub struct LabResults {
    /// The io chapter (the article): every scenario on every server.
    pub io: Vec<Measurement>,
    /// The other chapters asked for, in order (but capacity).
    pub chapters: Vec<ChapterRun>,
    /// The capacity chapter, if asked for.
    pub capacity: Option<CapacityRun>,
    /// The concurrency sweep, if asked for.
    pub sweep: Option<speedup_report::sweep::Sweep>,
}

impl LabResults {
    /// Every measurement with its own report files: the io chapter's, then
    /// each chapter's (the sweep's steps keep only their figures).
    pub fn measurements(&self) -> impl Iterator<Item = &Measurement> {
        self.io
            .iter()
            .chain(self.chapters.iter().flat_map(|c| c.measurements.iter()))
    }
}

/// Runs the plan's chapters (the io chapter: every scenario against every
/// server, in order), then the sweep, and returns the measurements (the
/// report folder is written by [`folder::write`]).
///
/// Every external server is checked first ([`preflight::check_servers`]),
/// so that a missing one fails before any scenario runs.
pub fn run(plan: &LabPlan, observer: &mut dyn Observer) -> Result<LabResults, LabError> {
    plan.validate()?;
    preflight::check_servers(plan)?;
    let embedded = if plan.needs_embedded() {
        Some(EmbeddedServer::start(plan.server_config()).map_err(LabError::Server)?)
    } else {
        None
    };
    let servers = plan.servers(embedded.as_ref().map(EmbeddedServer::base_url));
    let main = Server {
        label: None,
        base_url: servers[0].base_url.clone(),
    };
    let mut results = LabResults::default();
    for &chapter in &plan.chapters {
        match chapter {
            Chapter::Io => {
                for server in &servers {
                    for scenario in &plan.scenarios {
                        let mut m = measure::scenario(plan, server, scenario, observer)?;
                        (m.row.article, m.row.why) = measure::explain(plan, &scenario.path);
                        results.io.push(m);
                    }
                }
            }
            Chapter::Capacity => results.capacity = Some(capacity::run(plan, &main, observer)?),
            _ => (results.chapters).push(chapters::run(plan, chapter, &main, observer)?),
        }
    }
    if plan.sweep {
        results.sweep = Some(sweep::run(plan, &main, observer)?);
    }
    if let Some(server) = embedded {
        server.stop().map_err(LabError::Server)?;
    }
    Ok(results)
}
