//! `speedup bench`'s flags, and their validation into a [`BenchPlan`]
//! before any work. Every error names the flag and how to fix it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use speedup_load::{default_headers, HttpVersion, Plan, PlanError, Target};

use crate::duration::parse_duration;
use crate::plan::{BenchPlan, Outputs};
use crate::start::{StartArgs, StartError};

/// How long a run lasts when neither `--duration` nor `--requests` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// The largest `--body-file`: 1 GiB. The body is held in memory once,
/// shared by every connection, and its length is sent up front.
pub const MAX_BODY: u64 = 1 << 30;

/// Flags of `speedup bench`: wrk's and oha's names where they have them.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Connections to keep open, each with one request in flight at most
    #[arg(
        short = 'c',
        long = "connections",
        value_name = "N",
        default_value_t = 50
    )]
    pub connections: u32,
    /// How long to send, e.g. 10s, 2m, 1m30s, 500ms (default 10s unless --requests)
    #[arg(short = 'd', long = "duration", value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many requests
    #[arg(short = 'n', long = "requests", value_name = "N")]
    pub requests: Option<u64>,
    /// Requests per second on a fixed schedule (open loop, corrected for
    /// coordinated omission); without it, as fast as answers come back
    #[arg(long = "rate", value_name = "R", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Client worker threads (default: 1 on up to 2 cores or below 16
    /// connections, else half the cores, leaving the rest to the server)
    #[arg(long = "threads", value_name = "N")]
    pub threads: Option<usize>,
    /// Limit on each request, from its send to its last byte
    #[arg(long = "timeout", value_name = "TIME", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Send requests for this long first without recording them, e.g. 2s
    #[arg(long = "warmup", value_name = "TIME", value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Request method
    #[arg(
        short = 'm',
        long = "method",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,
    /// Extra header 'Name: value' (repeatable; replaces a default of the same name)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long = "body", value_name = "STR", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body read from a file (a regular file, at most 1 GiB)
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Send HTTP/1.0 requests (default HTTP/1.1)
    #[arg(long = "http1.0")]
    pub http10: bool,
    /// Close each connection after one request
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,
    /// Accept a certificate that does not verify (self-signed, wrong host)
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Resume TLS sessions on new connections (default: every connection
    /// does a full handshake, as a new client would)
    #[arg(long = "tls-resume")]
    pub tls_resume: bool,
    /// Write the result as JSON (schema speedup-bench/1) to FILE, '-' for stdout
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write ab's -e CSV (percentage served, ms) to FILE, for `speedup plot`
    #[arg(long = "csv", value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write one CSV row per second (requests, errors, p50, p99, max) to FILE
    #[arg(long = "timeline", value_name = "FILE")]
    pub timeline: Option<PathBuf>,
    /// Write an HdrHistogram interval log (one histogram per second, µs) to FILE
    #[arg(long = "hdr-log", value_name = "FILE")]
    pub hdr_log: Option<PathBuf>,
    /// Show the live progress line even when stderr is not a terminal
    #[arg(long = "progress")]
    pub progress: bool,
    /// --start-at, --start-late-ok
    #[command(flatten)]
    pub start: StartArgs,
    /// --metrics-addr, --metrics-linger
    #[command(flatten)]
    pub live: crate::live::LiveArgs,
    /// http://host[:port]/path or https://...
    #[arg(value_name = "URL")]
    pub url: String,
}

/// A flag with a value that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// `--rate` not a positive finite number.
    #[error(
        "--rate {0}: the rate must be a positive number of requests per second (e.g. --rate 1000)"
    )]
    Rate(f64),
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
    /// The body file is above [`MAX_BODY`].
    #[error("--body-file {path}: {size} bytes, above the 1 GiB limit on a request body")]
    BodyTooLarge {
        /// The file given.
        path: String,
        /// Its size, or at least the bytes read.
        size: u64,
    },
    /// `--start-at` cannot be kept.
    #[error(transparent)]
    Start(#[from] StartError),
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
}

/// `url` with `/` for a path when it has none (`http://host:8080` means
/// the root, as wrk and curl read it); ab's rule, a path required, is ab's.
fn with_path(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => url.to_string(),
        Some(i) => format!("{}/{}", &url[..scheme_end + 3 + i], &rest[i..]),
        None => format!("{url}/"),
    }
}

impl BenchArgs {
    /// Validates the flags into a plan: nothing is sent or opened but the
    /// `--body-file`.
    pub fn plan(&self) -> Result<BenchPlan, FlagError> {
        // The engine's validation cannot see these: the warm-up lengthens
        // the duration and adds requests.
        if self.duration == Some(Duration::ZERO) {
            return Err(FlagError::ZeroDuration);
        }
        let mut notes = Vec::new();
        let mut connections = self.connections;
        match self.requests {
            Some(0) => return Err(FlagError::ZeroRequests),
            // As wrk and oha do: no more connections than requests.
            Some(n) if u64::from(connections) > n => {
                connections = n as u32;
                notes.push(format!(
                    "-c {} is more than -n {n}: using {n} connection{}",
                    self.connections,
                    if n == 1 { "" } else { "s" }
                ));
            }
            _ => {}
        }
        let target = Target::parse(&with_path(&self.url)).map_err(FlagError::Url)?;
        let body = match (&self.body, &self.body_file) {
            (Some(b), _) => Some(b.clone().into_bytes()),
            (None, Some(path)) => Some(read_body(path)?),
            (None, None) => None,
        };
        let mut plan = Plan::new(target);
        plan.headers = self.headers(&plan.target, body.as_ref().map(Vec::len))?;
        plan.method = self.method.clone();
        plan.version = if self.http10 {
            HttpVersion::Http10
        } else {
            HttpVersion::Http11
        };
        plan.body = body.map(Arc::from);
        plan.keep_alive = !self.no_keepalive;
        plan.concurrency = connections;
        plan.timeout = self.timeout;
        plan.threads = self.threads;
        // Resolved once, here: the run sizes its per-thread state by it. A
        // low rate needs no more threads than requests a second.
        let threads = plan.resolved_threads();
        plan.threads = Some(match (self.threads, self.rate) {
            (None, Some(rate)) if rate.is_finite() && rate >= 0.0 => {
                threads.min((rate.floor() as usize).max(1))
            }
            _ => threads,
        });
        plan.rate = self.rate;
        plan.insecure = self.insecure;
        plan.tls_resume = self.tls_resume;
        plan.requests = self.requests;
        let warmup = self.warmup.unwrap_or(Duration::ZERO);
        plan.duration = match (self.duration, self.requests) {
            (Some(d), _) => Some(d + warmup),
            (None, None) => Some(DEFAULT_DURATION + warmup),
            (None, Some(_)) => None,
        };
        // Warm-up requests are sent on top of the -n measured ones.
        plan.warmup = warmup;
        plan.give_up_unreachable = true;
        plan.start = self.start.resolve(warmup, SystemTime::now(), &mut notes)?;
        plan.validate().map_err(|e| match e {
            PlanError::ZeroConcurrency => FlagError::ZeroConnections,
            PlanError::ZeroThreads => FlagError::ZeroThreads,
            PlanError::ZeroTimeout => FlagError::ZeroTimeout,
            PlanError::InvalidRate => FlagError::Rate(self.rate.unwrap_or_default()),
            PlanError::RateBelowThreads { rate, threads } => {
                FlagError::RateBelowThreads { rate, threads }
            }
            PlanError::InvalidMethod { method } => FlagError::Method(method),
            PlanError::InvalidHeader { name } => FlagError::InvalidHeader(name),
            other => FlagError::Url(other),
        })?;
        let outputs = Outputs {
            json: self.json.clone(),
            csv: self.csv.clone(),
            timeline: self.timeline.clone(),
            hdr_log: self.hdr_log.clone(),
        };
        if let [first, second, ..] = outputs.to_stdout()[..] {
            return Err(FlagError::BothStdout { first, second });
        }
        if let Some(((first, a), (second, b))) = outputs.same_file() {
            return Err(FlagError::SameFile {
                first,
                first_path: a.display().to_string(),
                second,
                second_path: b.display().to_string(),
            });
        }
        Ok(BenchPlan {
            url: self.url.clone(),
            engine: plan,
            warmup,
            outputs,
            notes,
        })
    }

    /// Host, User-Agent and Accept unless `-H` gives them, Connection as
    /// the keep-alive choice needs, Content-Length with a body, then `-H`.
    fn headers(
        &self,
        target: &Target,
        body_len: Option<usize>,
    ) -> Result<Vec<(String, String)>, FlagError> {
        let mut extra = Vec::with_capacity(self.headers.len());
        for line in &self.headers {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| FlagError::Header(line.clone()))?;
            extra.push((name.trim().to_string(), value.trim().to_string()));
        }
        let given = |name: &str| extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        let mut out: Vec<(String, String)> = default_headers(target)
            .into_iter()
            .filter(|(name, _)| !given(name))
            .collect();
        if !given("Connection") {
            match (self.no_keepalive, self.http10) {
                (true, false) => out.push(("Connection".into(), "close".into())),
                (false, true) => out.push(("Connection".into(), "keep-alive".into())),
                _ => {}
            }
        }
        if let Some(len) = body_len.filter(|_| !given("Content-Length")) {
            out.push(("Content-Length".into(), len.to_string()));
        }
        out.extend(extra);
        Ok(out)
    }
}

/// Reads a regular file of at most [`MAX_BODY`] bytes: `/dev/zero` or a
/// pipe would be read without end.
fn read_body(path: &Path) -> Result<Vec<u8>, FlagError> {
    let name = || path.display().to_string();
    let fail = |source| FlagError::BodyFile {
        path: name(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(FlagError::BodyNotAFile(name()));
    }
    let too_large = |size| FlagError::BodyTooLarge { path: name(), size };
    if meta.len() > MAX_BODY {
        return Err(too_large(meta.len()));
    }
    let mut body = Vec::with_capacity(meta.len() as usize);
    // The file may grow while read: never past the limit.
    file.take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(fail)?;
    if body.len() as u64 > MAX_BODY {
        return Err(too_large(body.len() as u64));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.args)
    }

    fn error(args: &[&str]) -> String {
        match parse(args) {
            Ok(a) => a.plan().expect_err("an error").to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_input_names_the_flag() {
        let url = "http://127.0.0.1:1/";
        assert!(error(&["--rate", "0", url]).starts_with("--rate 0"));
        assert!(error(&["--rate", "1", "--threads", "2", url])
            .contains("below the number of client threads"));
        assert!(error(&["-d", "0", url]).starts_with("--duration 0"));
        assert!(error(&["-d", "5y", url]).contains("--duration"));
        assert!(error(&["-d", "5y", url]).contains("unknown unit"));
        assert!(error(&["-n", "0", url]).starts_with("--requests 0"));
        assert!(error(&["--rate", "-5", url]).starts_with("--rate -5"));
        assert!(error(&["-H", "nocolon", url]).starts_with("--header"));
        assert!(error(&["-m", "G T", url]).starts_with("--method"));
        assert!(error(&["--timeout", "0s", url]).starts_with("--timeout 0"));
        assert!(error(&["--body-file", "/nonexistent/x", url]).starts_with("--body-file"));
        assert!(error(&["ftp://h/"]).starts_with("URL"));
    }

    #[test]
    fn what_a_wrk_or_oha_user_types_first() {
        let plan = |args: &[&str]| parse(args).unwrap().plan().unwrap();
        // A URL without a path is the root.
        assert_eq!(with_path("http://h:8080"), "http://h:8080/");
        assert_eq!(with_path("http://h:8080?q=1"), "http://h:8080/?q=1");
        assert_eq!(with_path("https://h/x"), "https://h/x");
        assert_eq!(plan(&["http://h:8080"]).engine.target.path, "/");
        // -n below -c: n connections, said so.
        let p = plan(&["-c", "10", "-n", "5", "http://h/"]);
        assert_eq!(p.engine.concurrency, 5);
        assert_eq!(p.notes, ["-c 10 is more than -n 5: using 5 connections"]);
        // A fractional rate runs on one thread.
        let p = plan(&["--rate", "0.5", "-c", "20", "http://h/"]);
        assert_eq!((p.engine.rate, p.threads()), (Some(0.5), 1));
        // Compound durations.
        assert_eq!(
            plan(&["-d", "1m30s", "http://h/"]).engine.duration,
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn plan_from_flags() {
        let p = parse(&[
            "-c",
            "4",
            "--threads",
            "2",
            "--rate",
            "100",
            "-d",
            "2s",
            "--warmup",
            "1s",
            "-H",
            "User-Agent: me",
            "--body",
            "abc",
            "-m",
            "POST",
            "http://h:81/x",
        ])
        .unwrap()
        .plan()
        .unwrap();
        assert_eq!(p.threads(), 2);
        assert_eq!(p.warmup, Duration::from_secs(1));
        assert_eq!(p.engine.duration, Some(Duration::from_secs(3)));
        assert_eq!(p.engine.rate, Some(100.0));
        assert!(p.engine.keep_alive);
        let names: Vec<&str> = p.engine.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "Accept", "Content-Length", "User-Agent"]);
        let closed = parse(&["--no-keepalive", "http://h/"])
            .unwrap()
            .plan()
            .unwrap();
        assert_eq!(closed.engine.duration, Some(DEFAULT_DURATION));
        assert!(closed
            .engine
            .headers
            .contains(&("Connection".into(), "close".into())));
    }
}
