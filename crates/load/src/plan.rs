//! What to run: the target URL and a validated [`Plan`].
//!
//! Front ends turn their flags into a plan; the engine trusts a plan that
//! passed [`Plan::validate`], so every check on user input lives here, with
//! a message that names the problem and its fix.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::limits::default_threads;
use crate::rate::{RateProfile, Stage};
use crate::request::RequestSpec;
use crate::target::Target;

/// A plan or URL the engine cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// `https://` through an HTTP proxy (CONNECT tunnels are not spoken).
    #[error(
        "https through a proxy is not supported: {url:?} (drop the proxy or use an http:// url)"
    )]
    HttpsThroughProxy {
        /// The URL as given.
        url: String,
    },
    /// HTTP/2 with what it cannot carry.
    #[error("HTTP/2 {0}")]
    Http2(&'static str),
    /// A request HTTP/2 cannot send (a method or header its types refuse).
    #[error("a request cannot be sent over HTTP/2 (a method or header value it refuses)")]
    Http2Request,
    /// A Unix socket with https or a proxy.
    #[error("--unix-socket with {what}: not supported (use an http:// URL without a proxy)")]
    UnixSocketWith {
        /// `https` or `a proxy`.
        what: &'static str,
    },
    /// The URL has no path after the host (ab requires one).
    #[error(
        "invalid url {url:?}: no path after the host (add a trailing '/', e.g. http://host:port/)"
    )]
    NoPath {
        /// The URL as given.
        url: String,
    },
    /// The URL could not be parsed.
    #[error("invalid url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Concurrency was 0.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,
    /// Neither a request count nor a duration bounds the run.
    #[error("the run needs a limit: a number of requests or a duration")]
    NoLimit,
    /// A request count of 0.
    #[error("the number of requests must be at least 1")]
    ZeroRequests,
    /// A zero duration.
    #[error("the time limit must be greater than 0")]
    ZeroDuration,
    /// More connections than requests would leave connections idle.
    #[error(
        "concurrency ({concurrency}) cannot be greater than the number of requests ({requests})"
    )]
    ConcurrencyAboveRequests {
        /// Requested concurrency.
        concurrency: u32,
        /// Requested number of requests.
        requests: u64,
    },
    /// A zero per-request timeout.
    #[error("the request timeout must be greater than 0")]
    ZeroTimeout,
    /// The method is empty or contains characters not allowed in a token.
    #[error("invalid http method {method:?}: use a token such as GET, HEAD or POST")]
    InvalidMethod {
        /// The method as given.
        method: String,
    },
    /// A header name or value would break the request framing.
    #[error("invalid header {name:?}: names must be tokens and values must not contain CR or LF")]
    InvalidHeader {
        /// The header name as given.
        name: String,
    },
    /// A timeout or time limit so long that a clock cannot hold its end.
    #[error("the {what} of {secs} s is too long (at most {max} s)")]
    TooLong {
        /// "request timeout" or "time limit".
        what: &'static str,
        /// The value given, in whole seconds.
        secs: u64,
        /// The longest accepted, in seconds.
        max: u64,
    },
    /// The worker thread count was 0.
    #[error("the number of client threads must be at least 1")]
    ZeroThreads,
    /// A stage of zero length, or longer than [`MAX_TIME`].
    #[error("a rate stage must last more than 0 s and at most a day")]
    InvalidStage,
    /// A send batch without an open loop, or of zero length or above
    /// [`MAX_SEND_BATCH`].
    #[error("batching sends needs an open loop (a rate), and a period above 0 and at most 100 ms")]
    InvalidSendBatch,
    /// A rate that is not a positive, finite number of requests per second.
    #[error("the request rate must be a positive number of requests per second")]
    InvalidRate,
    /// A rate too low to give every worker thread at least one request per second.
    #[error("the request rate ({rate}/s) is below the number of client threads ({threads}): each thread needs at least 1 request per second")]
    RateBelowThreads {
        /// The rate asked for.
        rate: f64,
        /// The worker threads that share it.
        threads: usize,
    },
}

/// The HTTP version written in the request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpVersion {
    /// `HTTP/1.0`, what ab sends.
    Http10,
    /// `HTTP/1.1`.
    #[default]
    Http11,
}

impl HttpVersion {
    /// The version as written on the wire, e.g. `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }
}

/// An HTTP proxy: the engine connects here and sends the absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Proxy host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Proxy TCP port.
    pub port: u16,
}

/// The longest timeout or time limit a plan accepts (about 30 years): the
/// run computes `now + duration + timeout`, which must not overflow.
pub const MAX_TIME: Duration = Duration::from_secs(1_000_000_000);

/// A load test to run. Build with [`Plan::new`], set the fields, then
/// [`Plan::validate`] (which [`crate::run`] also calls).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where requests go.
    pub target: Target,
    /// The request method, e.g. `GET`, `HEAD`, `POST`.
    pub method: String,
    /// The version in the request line.
    pub version: HttpVersion,
    /// Headers written verbatim, in this order, after the request line.
    /// The front end decides Host, User-Agent, Accept and Connection.
    pub headers: Vec<(String, String)>,
    /// Body sent after the headers; the front end adds Content-Length.
    pub body: Option<Arc<[u8]>>,
    /// Stop after this many started requests; `None` = until the duration.
    pub requests: Option<u64>,
    /// Stop starting new requests after this; in-flight ones finish.
    pub duration: Option<Duration>,
    /// Number of connections, each with at most one request in flight.
    pub concurrency: u32,
    /// Reuse connections when the server allows it.
    pub keep_alive: bool,
    /// Limit on each request, from its start to its last byte.
    pub timeout: Duration,
    /// Client worker threads; `None` lets the engine choose.
    pub threads: Option<usize>,
    /// Send through this HTTP proxy.
    pub proxy: Option<Proxy>,
    /// Hand the first bytes read of every response to
    /// [`crate::Recorder::first_read`] (for `ab -v`-style tracing). Off, the
    /// engine makes no such call.
    pub trace_responses: bool,
    /// Open loop: send this many requests per second on a fixed schedule,
    /// whether or not earlier ones were answered, and hand each record to
    /// [`crate::Recorder::record_scheduled`] with its due time. `None`:
    /// closed loop, each connection sends as soon as its previous answer
    /// arrived.
    pub rate: Option<f64>,
    /// Open loop with a changing rate: stages that ramp it linearly, the
    /// first from `rate` (or 0). The run ends with the last stage.
    pub stages: Vec<Stage>,
    /// Open loop: wake for sends at most once per this period (sends due
    /// within one period go together at its end, as wrk2's 1 ms timer
    /// sends them), which costs fewer wake-ups per request. Their lateness
    /// is the client's, reported as send lateness and never charged to the
    /// server. `None`: each request is sent at its own due time.
    pub send_batch: Option<Duration>,
    /// For `https://`: accept any server certificate (self-signed, expired,
    /// another host's) instead of verifying it against Mozilla's roots.
    pub insecure: bool,
    /// For `https://`: resume TLS sessions on new connections (session
    /// tickets or IDs from earlier handshakes of the run). Off, every new
    /// connection does a full handshake, as real ab does and as every new
    /// client of a server would.
    pub tls_resume: bool,
    /// Requests started (due, in open loop) before this much time has
    /// passed are a warm-up: they do not count towards `requests`.
    pub warmup: Duration,
    /// Stop the run when, a second in, no connection was ever established
    /// and a connect failed (nothing listens there), instead of counting
    /// connect errors for the whole run; [`crate::RunOutput::unreachable`]
    /// says so. `speedup ab` keeps ab's own rules.
    pub give_up_unreachable: bool,
    /// Connect to this Unix socket instead of the URL's host and port (as
    /// curl's `--unix-socket`); the URL still gives the Host and the path.
    pub unix_socket: Option<PathBuf>,
    /// Several requests sent in turn (round robin, on each client thread):
    /// when not empty, these instead of the plan's own method, path,
    /// headers and body; [`crate::Record::target`] says which was sent.
    pub mix: Vec<RequestSpec>,
    /// Speak HTTP/2: on `https://` offer only `h2` by ALPN (a server that
    /// chooses another ends the run: [`crate::RunOutput::alpn`]); on
    /// `http://` with prior knowledge (h2c, RFC 9113 §3.3).
    pub http2: bool,
    /// With `http2`: requests in flight at once on each connection (its
    /// streams), never more than the server allows.
    pub streams: u32,
    /// Start at a moment on the wall clock (after waiting for it), the
    /// warm-up just before it: see [`crate::start`].
    pub start: Option<crate::start::Start>,
}

impl Plan {
    /// A plan for one GET over HTTP/1.1 without keep-alive, one
    /// connection, a 30 s timeout (ab's `-s` default).
    pub fn new(target: Target) -> Plan {
        Plan {
            target,
            method: "GET".to_string(),
            version: HttpVersion::Http11,
            headers: Vec::new(),
            body: None,
            requests: Some(1),
            duration: None,
            concurrency: 1,
            keep_alive: false,
            timeout: Duration::from_secs(30),
            threads: None,
            proxy: None,
            trace_responses: false,
            rate: None,
            stages: Vec::new(),
            send_batch: None,
            insecure: false,
            tls_resume: false,
            warmup: Duration::ZERO,
            give_up_unreachable: false,
            unix_socket: None,
            mix: Vec::new(),
            http2: false,
            streams: 1,
            start: None,
        }
    }

    /// The worker threads a run of this plan uses: [`Plan::threads`], or the
    /// default for its concurrency and this machine's cores, never more
    /// than one per connection.
    pub fn resolved_threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                default_threads(self.concurrency, cores)
            })
            .min(self.concurrency as usize)
    }

    /// Whether the run is open loop: a rate, or stages.
    pub fn open_loop(&self) -> bool {
        self.rate.is_some() || !self.stages.is_empty()
    }

    /// When the open loop's requests are due: stages, or a constant rate.
    pub fn rate_profile(&self) -> Option<RateProfile> {
        match (&self.stages[..], self.rate) {
            ([], rate) => rate.map(RateProfile::constant),
            (stages, start) => Some(RateProfile::stages(start.unwrap_or(0.0), stages)),
        }
    }

    /// Checks that the plan can run and cannot produce a malformed request.
    pub fn validate(&self) -> Result<(), PlanError> {
        self.validate_transport()?;
        self.validate_limits()?;
        self.validate_rate()?;
        self.validate_requests()
    }

    /// How it connects: TLS, a proxy, a Unix socket, HTTP/2 and streams
    /// that go together.
    fn validate_transport(&self) -> Result<(), PlanError> {
        if self.target.tls && self.proxy.is_some() {
            return Err(PlanError::HttpsThroughProxy {
                url: self.target.absolute_url(),
            });
        }
        if self.unix_socket.is_some() && (self.target.tls || self.proxy.is_some()) {
            return Err(PlanError::UnixSocketWith {
                what: if self.target.tls { "https" } else { "a proxy" },
            });
        }
        if self.http2 {
            if self.version == HttpVersion::Http10 {
                return Err(PlanError::Http2("and HTTP/1.0 at once: choose one"));
            }
            if self.proxy.is_some() {
                return Err(PlanError::Http2("through a proxy is not supported"));
            }
        }
        if self.streams == 0 || (self.streams > 1 && !self.http2) {
            return Err(PlanError::Http2(
                "streams: at least 1 per connection, more only with HTTP/2",
            ));
        }
        Ok(())
    }

    /// How much and how long: connections, requests, duration, timeout and
    /// threads within what can run and end.
    fn validate_limits(&self) -> Result<(), PlanError> {
        if self.concurrency == 0 {
            return Err(PlanError::ZeroConcurrency);
        }
        match (self.requests, self.duration) {
            // Stages end by themselves.
            (None, None) if self.stages.is_empty() => return Err(PlanError::NoLimit),
            (Some(0), _) => return Err(PlanError::ZeroRequests),
            (Some(n), _) if u64::from(self.concurrency) > n => {
                return Err(PlanError::ConcurrencyAboveRequests {
                    concurrency: self.concurrency,
                    requests: n,
                })
            }
            _ => {}
        }
        if self.duration == Some(Duration::ZERO) {
            return Err(PlanError::ZeroDuration);
        }
        if self.timeout.is_zero() {
            return Err(PlanError::ZeroTimeout);
        }
        for (what, time) in [
            ("request timeout", Some(self.timeout)),
            ("time limit", self.duration),
        ] {
            if let Some(t) = time.filter(|t| *t > MAX_TIME) {
                return Err(PlanError::TooLong {
                    what,
                    secs: t.as_secs(),
                    max: MAX_TIME.as_secs(),
                });
            }
        }
        if self.threads == Some(0) {
            return Err(PlanError::ZeroThreads);
        }
        Ok(())
    }

    /// The open loop's rate or stages: rates a schedule can keep.
    fn validate_rate(&self) -> Result<(), PlanError> {
        for stage in &self.stages {
            if !(stage.rate.is_finite() && stage.rate >= 0.0) {
                return Err(PlanError::InvalidRate);
            }
            if stage.duration.is_zero() || stage.duration > MAX_TIME {
                return Err(PlanError::InvalidStage);
            }
        }
        if let Some(batch) = self.send_batch {
            if !self.open_loop() || batch.is_zero() || batch > MAX_SEND_BATCH {
                return Err(PlanError::InvalidSendBatch);
            }
        }
        if let Some(rate) = self.rate.filter(|_| self.stages.is_empty()) {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(PlanError::InvalidRate);
            }
            let threads = self.resolved_threads();
            // One thread may send less than once a second; more threads
            // than requests a second would sit idle.
            if threads > 1 && rate < threads as f64 {
                return Err(PlanError::RateBelowThreads { rate, threads });
            }
        }
        Ok(())
    }

    /// Every request it sends (its own and the mix's): methods and header
    /// names that are tokens, header values without a line break.
    fn validate_requests(&self) -> Result<(), PlanError> {
        let own = (&self.method, &self.headers);
        for (method, headers) in
            std::iter::once(own).chain(self.mix.iter().map(|r| (&r.method, &r.headers)))
        {
            if !is_token(method) {
                return Err(PlanError::InvalidMethod {
                    method: method.clone(),
                });
            }
            for (name, value) in headers {
                if !is_token(name) || value.bytes().any(|b| b == b'\r' || b == b'\n') {
                    return Err(PlanError::InvalidHeader { name: name.clone() });
                }
            }
        }
        Ok(())
    }
}

/// The longest [`Plan::send_batch`]: beyond it, batches would be bursts
/// the schedule no longer describes.
pub const MAX_SEND_BATCH: Duration = Duration::from_millis(100);

/// RFC 9110 token: what methods and header names may contain.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let t = Target::parse("http://h/").expect("url");
        assert_eq!(Plan::new(t.clone()).validate(), Ok(()));
        let check = |f: &dyn Fn(&mut Plan)| {
            let mut p = Plan::new(t.clone());
            f(&mut p);
            p.validate()
        };
        assert_eq!(
            check(&|p| p.concurrency = 0),
            Err(PlanError::ZeroConcurrency)
        );
        assert_eq!(check(&|p| p.requests = None), Err(PlanError::NoLimit));
        assert_eq!(
            check(&|p| p.requests = Some(0)),
            Err(PlanError::ZeroRequests)
        );
        assert!(matches!(
            check(&|p| p.concurrency = 2),
            Err(PlanError::ConcurrencyAboveRequests { .. })
        ));
        assert_eq!(
            check(&|p| {
                p.requests = None;
                p.duration = Some(Duration::from_secs(1));
                p.concurrency = 5;
            }),
            Ok(())
        );
        assert_eq!(
            check(&|p| p.timeout = Duration::ZERO),
            Err(PlanError::ZeroTimeout)
        );
        assert_eq!(check(&|p| p.threads = Some(0)), Err(PlanError::ZeroThreads));
        assert!(matches!(
            check(&|p| p.timeout = Duration::from_secs(9_300_000_000_000_000_000)),
            Err(PlanError::TooLong {
                what: "request timeout",
                ..
            })
        ));
        assert!(matches!(
            check(&|p| p.duration = Some(Duration::MAX)),
            Err(PlanError::TooLong {
                what: "time limit",
                ..
            })
        ));
        assert!(matches!(
            check(&|p| p.method = "GE T".into()),
            Err(PlanError::InvalidMethod { .. })
        ));
        assert!(matches!(
            check(&|p| p.headers = vec![("X".into(), "a\r\nb".into())]),
            Err(PlanError::InvalidHeader { .. })
        ));
    }
}
