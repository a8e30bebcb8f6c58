//! `speedup bench`'s flags, and their validation into a [`BenchPlan`]
//! before any work. Every error names the flag and how to fix it
//! ([`FlagError`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use speedup_load::{HttpVersion, Plan, PlanError, Stage, Target};

use crate::duration::parse_duration;
pub use crate::errors::FlagError;
use crate::plan::{BenchPlan, FindMax, Outputs};
use crate::request::{header_flags, read_body, targets_mix, with_path, Framing};
use crate::slo::parse_slo;
use crate::start::StartArgs;

/// How long a run lasts when neither `--duration` nor `--requests` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

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
    /// Open loop with a changing rate: DUR:RATE stages, each ramping
    /// linearly from the previous rate (the first from --rate, else 0),
    /// e.g. 30s:500,1m:500,10s:0; the stages set the duration
    #[arg(long = "stages", value_name = "DUR:RATE,...", value_parser = parse_stages,
          conflicts_with_all = ["duration", "warmup"])]
    pub stages: Option<Stages>,
    /// Open loop: wake for sends at most once per TIME, e.g. 1ms (as wrk2
    /// does): fewer wake-ups, less CPU per request, but sends wait up to
    /// TIME (shown as send lateness, never charged to the server); keep -c
    /// above rate × TIME, or a batch's sends wait for each other
    #[arg(long = "batch-sends", value_name = "TIME", value_parser = parse_duration)]
    pub batch_sends: Option<Duration>,
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
    /// Extra header 'Name: value', or @FILE for a file of them, one per
    /// line (repeatable; replaces a default of the same name)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long = "body", value_name = "STR", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body read from a file (a regular file, at most 1 GiB)
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Several requests in turn, from a vegeta-format targets file ('-' for
    /// stdin), with a breakdown per target; instead of the URL
    #[arg(long = "targets", value_name = "FILE", conflicts_with_all = ["url", "method", "body", "body_file"])]
    pub targets: Option<PathBuf>,
    /// Send HTTP/1.0 requests (default HTTP/1.1)
    #[arg(long = "http1.0", conflicts_with = "http2")]
    pub http10: bool,
    /// Speak HTTP/2: h2 by ALPN on https://, prior knowledge (h2c) on http://
    #[arg(long = "http2")]
    pub http2: bool,
    /// With --http2: requests in flight at once on each connection (never
    /// more than the server allows); -c × --streams are in flight
    #[arg(
        long = "streams",
        value_name = "N",
        default_value_t = 1,
        requires = "http2"
    )]
    pub streams: u32,
    /// Close each connection after one request
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,
    /// Connect to this Unix socket instead of the URL's host and port (the
    /// URL still gives the Host header and the path)
    #[arg(long = "unix-socket", value_name = "PATH")]
    pub unix_socket: Option<PathBuf>,
    /// Accept a certificate that does not verify (self-signed, wrong host)
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Resume TLS sessions on new connections (default: every connection
    /// does a full handshake, as a new client would)
    #[arg(long = "tls-resume")]
    pub tls_resume: bool,
    /// Conditions the run must meet, e.g. 'p99<50ms,errors<0.1%,rate>=99%';
    /// exit 2 when one fails
    #[arg(long = "slo", value_name = "CONDITIONS")]
    pub slo: Option<String>,
    /// Find the highest rate that meets --slo: open-loop steps, doubling
    /// from --rate, then bisecting
    #[arg(long = "find-max", requires = "slo", conflicts_with_all = ["stages", "requests", "duration", "csv", "timeline"])]
    pub find_max: bool,
    /// --find-max: how long each step sends
    #[arg(long = "step-duration", value_name = "TIME", default_value = "10s", value_parser = parse_duration)]
    pub step_duration: Duration,
    /// --find-max: stop bisecting when the bounds are this close, in %
    #[arg(long = "precision", value_name = "PCT", default_value_t = 5.0)]
    pub precision: f64,
    /// --find-max: at most this many steps
    #[arg(long = "max-steps", value_name = "N", default_value_t = 12)]
    pub max_steps: u32,
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
    #[arg(value_name = "URL", required_unless_present = "targets")]
    pub url: Option<String>,
}

/// `--stages`: the stages as given, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<Stage>);

/// Parses `DUR:RATE[,DUR:RATE...]`.
pub fn parse_stages(text: &str) -> Result<Stages, String> {
    let stages = text
        .split(',')
        .map(|stage| {
            let (dur, rate) = stage.trim().split_once(':').ok_or_else(|| {
                format!("{stage:?} is not DUR:RATE: write e.g. --stages 30s:500,1m:500")
            })?;
            let duration = parse_duration(dur)?;
            if duration.is_zero() {
                return Err(format!("{stage:?}: a stage lasts more than 0 s"));
            }
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    format!("{stage:?}: the rate is a number of requests per second, 0 or more")
                })?;
            Ok(Stage { duration, rate })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if stages.iter().all(|s| s.rate == 0.0) {
        return Err("every stage has rate 0: nothing would be sent".into());
    }
    Ok(Stages(stages))
}

impl BenchArgs {
    /// The flags of `speedup bench FLAGS...`, read as its command line
    /// would be (`flags` without the program's name), for programs that run
    /// bench as a library. The error is clap's, naming the flag.
    pub fn from_flags<I, T>(flags: I) -> Result<BenchArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString>,
    {
        use clap::{Args, FromArgMatches};
        let command = BenchArgs::augment_args(clap::Command::new("bench"));
        let line = std::iter::once("bench".into()).chain(flags.into_iter().map(Into::into));
        let matches = command.try_get_matches_from(line.collect::<Vec<std::ffi::OsString>>())?;
        BenchArgs::from_arg_matches(&matches)
    }

    /// Validates the flags into a plan: nothing is sent, and nothing opened
    /// but the files that make up the requests (bodies, `-H @FILE`,
    /// `--targets`).
    pub fn plan(&self) -> Result<BenchPlan, FlagError> {
        // The engine's validation cannot see these: the warm-up lengthens
        // the duration.
        if self.duration == Some(Duration::ZERO) {
            return Err(FlagError::ZeroDuration);
        }
        let mut notes = Vec::new();
        let connections = self.connections(&mut notes)?;
        let framing = Framing {
            extra: header_flags(&self.headers)?,
            close: self.no_keepalive,
            http10: self.http10,
        };
        let mut plan = self.requests_plan(&framing)?;
        plan.version = if self.http10 {
            HttpVersion::Http10
        } else {
            HttpVersion::Http11
        };
        plan.keep_alive = !self.no_keepalive;
        plan.http2 = self.http2;
        plan.streams = self.streams;
        plan.concurrency = connections;
        plan.timeout = self.timeout;
        plan.unix_socket = self.unix_socket.clone();
        plan.insecure = self.insecure;
        plan.tls_resume = self.tls_resume;
        plan.give_up_unreachable = true;
        self.schedule(&mut plan);
        plan.start = self
            .start
            .resolve(plan.warmup, SystemTime::now(), &mut notes)?;
        plan.validate().map_err(|e| self.flag_error(e))?;
        let slo = match &self.slo {
            Some(text) => parse_slo(text)?,
            None => Vec::new(),
        };
        if !(plan.open_loop() || self.find_max) {
            if let Some(c) = slo.iter().find(|c| c.needs_rate()) {
                return Err(FlagError::NeedsOpenLoop(format!(
                    "--slo {:?}: the achieved rate is measured against a target: add --rate \
                     (or --stages, or --find-max)",
                    c.expr
                )));
            }
        }
        let outputs = self.outputs()?;
        Ok(BenchPlan {
            url: match (&self.url, &self.targets) {
                (Some(url), _) => url.clone(),
                (None, _) => plan.target.with_path("/").absolute_url(),
            },
            targets: plan
                .mix
                .iter()
                .map(|r| (r.method.clone(), r.path.clone()))
                .collect(),
            warmup: plan.warmup,
            engine: plan,
            outputs,
            notes,
            slo,
            find_max: self.find_max()?,
        })
    }

    /// `-c`, or `-n` when it is lower (as wrk and oha do), said in `notes`.
    fn connections(&self, notes: &mut Vec<String>) -> Result<u32, FlagError> {
        match self.requests {
            Some(0) => Err(FlagError::ZeroRequests),
            Some(n) if u64::from(self.connections) > n => {
                notes.push(format!(
                    "-c {} is more than -n {n}: using {n} connection{}",
                    self.connections,
                    if n == 1 { "" } else { "s" }
                ));
                Ok(n as u32)
            }
            _ => Ok(self.connections),
        }
    }

    /// The plan's target and what it sends: the URL's one request (method,
    /// headers, body), or the `--targets` file's in turn.
    fn requests_plan(&self, framing: &Framing) -> Result<Plan, FlagError> {
        if let Some(path) = &self.targets {
            let (target, mix) = targets_mix(path, framing)?;
            let mut plan = Plan::new(target);
            plan.mix = mix;
            return Ok(plan);
        }
        let url = self.url.as_deref().ok_or(FlagError::UrlOrTargets(
            "no URL: give one, or --targets FILE",
        ))?;
        let target = Target::parse(&with_path(url)).map_err(FlagError::Url)?;
        let body = match (&self.body, &self.body_file) {
            (Some(b), _) => Some(b.clone().into_bytes()),
            (None, Some(path)) => Some(read_body(path)?),
            (None, None) => None,
        };
        let mut plan = Plan::new(target);
        plan.headers = framing.headers(&plan.target, &[], body.as_ref().map(Vec::len));
        plan.method = self.method.clone();
        plan.body = body.map(Arc::from);
        Ok(plan)
    }

    /// Threads, rate, stages, duration, count and warm-up.
    fn schedule(&self, plan: &mut Plan) {
        plan.rate = self.rate;
        plan.stages = self.stages.clone().map(|s| s.0).unwrap_or_default();
        plan.send_batch = self.batch_sends;
        plan.threads = self.threads;
        // Resolved once, here: the run sizes its per-thread state by it. A
        // low rate needs no more threads than requests a second.
        let top = plan
            .stages
            .iter()
            .map(|s| s.rate)
            .chain(self.rate)
            .fold(0.0, f64::max);
        let threads = plan.resolved_threads();
        plan.threads = Some(match self.threads {
            None if plan.open_loop() && top.is_finite() => {
                threads.min((top.floor() as usize).max(1))
            }
            _ => threads,
        });
        plan.requests = self.requests;
        let warmup = self.warmup.unwrap_or(Duration::ZERO);
        plan.duration = match (self.duration, self.requests, plan.rate_profile()) {
            (Some(d), _, _) => Some(d + warmup),
            (None, _, Some(p)) if p.length().is_some() => p.length(),
            (None, None, _) => Some(DEFAULT_DURATION + warmup),
            (None, Some(_), _) => None,
        };
        // Warm-up requests are sent on top of the -n measured ones.
        plan.warmup = warmup;
    }

    /// `--find-max`'s settings, checked.
    fn find_max(&self) -> Result<Option<FindMax>, FlagError> {
        if !self.find_max {
            return Ok(None);
        }
        if !(self.precision.is_finite() && self.precision > 0.0 && self.precision < 100.0) {
            return Err(FlagError::FindMax(format!(
                "--precision {}: a share of the rate in %, above 0 and below 100 (e.g. 5)",
                self.precision
            )));
        }
        if self.max_steps < 2 {
            return Err(FlagError::FindMax(format!(
                "--max-steps {}: at least 2 steps (one that passes, one that fails)",
                self.max_steps
            )));
        }
        if self.step_duration < Duration::from_millis(500) {
            return Err(FlagError::FindMax(
                "--step-duration: at least 500ms per step".into(),
            ));
        }
        Ok(Some(FindMax {
            start: self.rate,
            step: self.step_duration,
            precision: self.precision / 100.0,
            max_steps: self.max_steps,
        }))
    }

    /// The engine's refusals, named by flag.
    fn flag_error(&self, e: PlanError) -> FlagError {
        match e {
            PlanError::ZeroConcurrency => FlagError::ZeroConnections,
            PlanError::ZeroThreads => FlagError::ZeroThreads,
            PlanError::ZeroTimeout => FlagError::ZeroTimeout,
            PlanError::InvalidRate => FlagError::Rate(self.rate.unwrap_or_default()),
            PlanError::InvalidSendBatch => FlagError::BatchSends,
            PlanError::RateBelowThreads { rate, threads } => {
                FlagError::RateBelowThreads { rate, threads }
            }
            PlanError::InvalidMethod { method } => FlagError::Method(method),
            PlanError::InvalidHeader { name } => FlagError::InvalidHeader(name),
            other => FlagError::Url(other),
        }
    }

    /// The output files, checked for clashes.
    fn outputs(&self) -> Result<Outputs, FlagError> {
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
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests;
