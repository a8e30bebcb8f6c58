//! Why a run could not start, or ended without its records.

use std::time::Duration;

use crate::plan::PlanError;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan failed validation.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The open-files limit cannot hold the connections.
    #[error("concurrency needs about {wanted} open files but the limit is {limit}: raise it with `ulimit -n {wanted}` (or lower the concurrency)")]
    OpenFiles {
        /// File descriptors the run needs.
        wanted: u64,
        /// The process's soft limit.
        limit: u64,
    },
    /// The host name did not resolve.
    #[error("cannot resolve host {host:?}: {source}")]
    Resolve {
        /// The host that failed, with its port.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The TLS client could not be set up (e.g. the host is not a valid
    /// server name).
    #[error("cannot set up TLS: {0}")]
    Tls(rustls::Error),
    /// A worker thread or its runtime could not be created.
    #[error("cannot start the client runtime: {0}")]
    Runtime(std::io::Error),
    /// [`crate::Plan::start`] had passed by more than its `late_ok` when
    /// the run was ready: it could not send its share at the right time.
    #[error(
        "the start time passed {by:?} ago, more than the {late_ok:?} allowed: choose a later start"
    )]
    StartPassed {
        /// How long ago the start passed.
        by: Duration,
        /// How late a start may be.
        late_ok: Duration,
    },
    /// A worker panicked (a bug): the run was stopped, its records lost.
    #[error("a client worker thread panicked: {message}")]
    Panic {
        /// The panic's message.
        message: String,
    },
}
