//! Why the flags of `speedup bench` cannot run: every message names the
//! flag and how to fix it.

use speedup_load::PlanError;

/// A flag with a value that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// `--rate` not a positive finite number.
    #[error(
        "--rate {0}: the rate must be a positive number of requests per second (e.g. --rate 1000)"
    )]
    Rate(f64),
    /// `--batch-sends` without an open loop, or out of range.
    #[error("--batch-sends: give a period above 0 and at most 100ms, with --rate or --stages (batching is an open-loop schedule's), e.g. --batch-sends 1ms")]
    BatchSends,
    /// `--rate` below the thread count.
    #[error("--rate {rate}: below the number of client threads ({threads}), each thread needs at least 1 request per second (raise --rate or lower --threads)")]
    RateBelowThreads {
        /// The rate given.
        rate: f64,
        /// The worker threads.
        threads: usize,
    },
    /// `-d 0`.
    #[error("--duration 0: the duration must be greater than 0 (e.g. -d 10s)")]
    ZeroDuration,
    /// `-n 0`.
    #[error("--requests 0: the number of requests must be at least 1")]
    ZeroRequests,
    /// `-c 0`.
    #[error("--connections 0: at least one connection is needed")]
    ZeroConnections,
    /// `--threads 0`.
    #[error("--threads 0: at least one client thread is needed")]
    ZeroThreads,
    /// `--timeout 0`.
    #[error("--timeout 0: the request timeout must be greater than 0 (e.g. --timeout 5s)")]
    ZeroTimeout,
    /// More connections than requests.
    #[error(
        "--connections {connections} is greater than --requests {requests}: lower -c or raise -n"
    )]
    ConnectionsAboveRequests {
        /// `-c`.
        connections: u32,
        /// `-n`.
        requests: u64,
    },
    /// A header line without a colon.
    #[error("--header {0:?}: a header is 'Name: value', e.g. -H 'Accept-Encoding: gzip'")]
    Header(String),
    /// A header the request framing cannot carry.
    #[error("--header {0:?}: names must be tokens and values must not contain CR or LF")]
    InvalidHeader(String),
    /// A method that is not a token.
    #[error("--method {0:?}: use a token such as GET, HEAD or POST")]
    Method(String),
    /// The body file cannot be read.
    #[error("--body-file {path}: cannot read it ({source}): check the path and its permissions")]
    BodyFile {
        /// The file given.
        path: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The body file is a pipe or device: no size to send up front, and
    /// maybe no end.
    #[error("--body-file {0}: not a regular file (a request body's length is sent before it): save the body to a file first")]
    BodyNotAFile(String),
    /// The body file is above [`crate::request::MAX_BODY`].
    #[error("--body-file {path}: {size} bytes, above the 1 GiB limit on a request body")]
    BodyTooLarge {
        /// The file given.
        path: String,
        /// Its size, or at least the bytes read.
        size: u64,
    },
    /// `--start-at` cannot be kept.
    #[error(transparent)]
    Start(#[from] crate::start::StartError),
    /// The URL cannot be used.
    #[error("URL: {0}")]
    Url(PlanError),
    /// Two outputs would both go to stdout.
    #[error("{first} - and {second} - both write to stdout: send one of them to a file")]
    BothStdout {
        /// The first flag, e.g. `--json`.
        first: &'static str,
        /// The second flag.
        second: &'static str,
    },
    /// Two outputs would overwrite each other.
    #[error("{first} {first_path} and {second} {second_path} name the same file: give each output a path of its own")]
    SameFile {
        /// The first flag, e.g. `--json`.
        first: &'static str,
        /// Its path as given.
        first_path: String,
        /// The second flag.
        second: &'static str,
        /// Its path as given.
        second_path: String,
    },
    /// `--targets`: the file cannot be read or parsed.
    #[error("--targets {path}: {source}")]
    Targets {
        /// The file given (`-` for stdin).
        path: String,
        /// What is wrong, with its line.
        source: crate::targets::TargetsError,
    },
    /// `--targets`: a target's URL differs from the first's scheme, host
    /// or port, or cannot be used.
    #[error("--targets {path}: line {line}: {why}")]
    TargetUrl {
        /// The file given.
        path: String,
        /// The target's line.
        line: usize,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// A URL and `--targets` at once, or neither.
    #[error("{0}")]
    UrlOrTargets(&'static str),
    /// `-H @FILE` cannot be read.
    #[error("--header @{path}: {why}")]
    HeaderFile {
        /// The file given.
        path: String,
        /// Why.
        why: String,
    },
    /// `--slo` cannot be read, or needs what the run does not have.
    #[error(transparent)]
    Slo(#[from] crate::slo::SloError),
    /// A condition or flag that needs an open-loop run.
    #[error("{0}")]
    NeedsOpenLoop(String),
    /// `--stages` cannot be read.
    #[error("--stages {text:?}: {why}")]
    Stages {
        /// The flag's value.
        text: String,
        /// What is wrong and how to write it.
        why: String,
    },
    /// `--find-max` settings that cannot run.
    #[error("{0}")]
    FindMax(String),
}
