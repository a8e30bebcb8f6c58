//! The article's server: FastAPI's endpoints on tokio, each concurrency
//! model made visible.
//!
//! * `GET /baseline/sleep/{n}`: the `def` handler. A blocking
//!   `std::thread::sleep` on a pool of [`Config::threads`] threads (FastAPI's
//!   40), queueing first come, first served beyond that.
//! * `GET /async/sleep/{n}`: the `async def` handler, a timer.
//! * The rest of the series: `/stall/sleep/{n}` (a blocking sleep inside an
//!   async handler), `/baseline/fibo/{n}`, `/async/fibo/{n}` and
//!   `/pool/fibo/{n}` (CPU-bound work on the blocking pool, inline on a
//!   runtime worker, on a CPU pool), `/baseline/fibo_sleep/{n}` and
//!   `/async/fibo_sleep/{n}` (part 3: compute, then sleep), and `/metrics`.
//!   [`Config::gil`] adds a global lock held while computing;
//!   [`Config::mistakes`] off leaves out the endpoints that hold a serving
//!   thread (`/stall`, `/async/fibo`, `/async/fibo_sleep`).
//!
//! Responses match FastAPI byte for byte (Python float formatting, pydantic
//! 422 bodies, 404/405/307), except that sleeps which are negative, not
//! finite or above [`Config::max_sleep`] are refused with a 422 instead of a
//! 500 or a hang.
//!
//! [`Server::builder`] starts it, the one way every caller does (tests,
//! the lab, `speedup serve`): one listening socket, a current-thread
//! runtime per serving thread, until a shutdown future resolves. [`app`]
//! drives the router directly.
//!
//! Modules: `pyfloat` (Python float text), `pyint` (pydantic's int
//! parsing), `url` (decoding and quoting as uvicorn/Starlette do), `errors`
//! (FastAPI's error bodies), `sleep` (the two models and the bounded pool),
//! `cpu` (fibo, the CPU pool, the GIL), `metrics` (`/metrics`), `handlers`
//! (what each endpoint does), `routes` (routing and counting) (the async
//! sleep's timer is the `speedup-timer` crate); `context` (what the transport hands each request:
//! the shutdown signal and the local address; below both app and
//! transport); `watchdog` (a connection's timeouts), `idle` (the idle
//! registry, a shard per serving thread), `watched` (the socket as hyper
//! sees it), `frames` (HTTP/2's header blocks as the bytes go by, for the
//! watchdog), `http` (HTTP/1.x or HTTP/2, told apart by the first bytes),
//! `service` (what hyper calls for each of a connection's requests), `conn`
//! (one connection), `listener` (the listening socket and
//! its backlog), `accept` (one thread's accept loop and its drain),
//! `throttle` (its warnings), `threads` (one runtime per serving thread),
//! `socket` (TCP or Unix domain sockets behind one type each), `unix`
//! (binding a Unix socket path without destroying what is there),
//! `server` (the builder, serving and shutdown across the threads),
//! `relay` (shutdown relayed to the threads while they serve),
//! `summary` (the line a stopped server logs).

#![forbid(unsafe_code)]

mod accept;
mod conn;
mod context;
mod cpu;
mod errors;
mod frames;
mod handlers;
mod http;
mod idle;
mod listener;
mod metrics;
pub mod pyfloat;
pub mod pyint;
mod relay;
mod routes;
mod server;
mod service;
mod sleep;
mod socket;
mod summary;
mod threads;
mod throttle;
#[cfg(unix)]
mod unix;
mod url;
mod watchdog;
mod watched;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use cpu::{fibo, MAX_FIBO_LIMIT};
pub use routes::app;
pub use server::{
    default_workers, App, Listening, Server, ServerBuilder, Stats, Stopped, CLOSE_MARGIN,
};

/// Async sleeps (`/async/sleep`) waiting on the timer right now, across all
/// servers in this process: a diagnostic, and how tests check that a client
/// going away leaves nothing behind.
pub fn pending_async_sleeps() -> usize {
    speedup_timer::pending()
}

/// The longest any duration setting may be (a day): far from overflowing
/// `Instant` arithmetic, and longer than any timeout a server needs.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// The largest [`Config::cpu_threads`].
pub const MAX_CPU_THREADS: usize = 1024;

/// The largest [`Config::max_connections`] and [`Config::threads`]: what a
/// semaphore can count (the open-files limit lowers the first in practice).
pub const MAX_PERMITS: usize = Semaphore::MAX_PERMITS;

/// The allowed range of [`Config::max_header_bytes`].
pub const HEADER_BYTES: std::ops::RangeInclusive<usize> = 1024..=1024 * 1024;

/// The allowed range of [`Config::max_streams`].
pub const MAX_STREAMS: std::ops::RangeInclusive<u32> = 1..=65_535;

/// How the server behaves; [`Config::default`] matches `speedup serve`'s
/// defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Threads in the blocking pool for `/baseline/sleep` (FastAPI: 40).
    pub threads: usize,
    /// Longest accepted sleep in seconds; longer asks get a 422.
    pub max_sleep: f64,
    /// Close a keep-alive connection after this long without a request
    /// (uvicorn: 5 s). Zero turns keep-alive off.
    pub keep_alive: Duration,
    /// Close a new connection that sends no byte for this long (nginx and
    /// hyper users pick 1–2 s), so idle sockets cannot hold slots.
    pub first_byte_timeout: Duration,
    /// Close a connection whose request head takes longer than this to
    /// arrive, counted from the head's first byte (independent of
    /// `keep_alive`, which counts the idle time before it).
    pub header_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger
    /// ones get a 431. It also bounds the connection's read buffer, and
    /// HTTP/2's header list (SETTINGS_MAX_HEADER_LIST_SIZE).
    pub max_header_bytes: usize,
    /// Most HTTP/2 streams (requests) in flight on one connection
    /// (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused (REFUSED_STREAM),
    /// so one connection cannot queue unbounded work.
    pub max_streams: u32,
    /// Most connections open at once; more wait in the listen backlog. At the
    /// cap, the connection idle the longest is closed to make room.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take before their
    /// connections are closed anyway.
    pub grace: Duration,
    /// Log one line per request (`tracing` target `speedup_server::access`).
    pub access_log: bool,
    /// Threads of the CPU pool behind `/pool/fibo` (default: the cores).
    pub cpu_threads: usize,
    /// Largest `n` the fibo endpoints accept; larger gets a 422.
    pub max_fibo: u32,
    /// Hold one global lock while computing, as CPython's GIL does.
    pub gil: bool,
    /// Serve the deliberate mistakes, `/stall/sleep/{n}`, `/async/fibo/{n}`
    /// and `/async/fibo_sleep/{n}`, whose requests hold a serving thread
    /// (any client can freeze the server with them). When false they
    /// answer 404, as unknown paths do, and `gil` must be false too.
    pub mistakes: bool,
}

/// The number of cores, the CPU pool's default size.
pub fn default_cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threads: 40,
            max_sleep: 60.0,
            keep_alive: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_streams: 100,
            max_connections: 25_000,
            grace: Duration::from_secs(10),
            access_log: false,
            cpu_threads: default_cpu_threads(),
            max_fibo: 40,
            gil: false,
            mistakes: true,
        }
    }
}

impl Config {
    /// Checks the settings the server relies on; the error names the
    /// setting ([`ServerBuilder::bind`] checks them too).
    pub fn validate(&self) -> Result<(), ServerError> {
        let invalid = |setting, reason: &str| {
            Err(ServerError::InvalidConfig {
                setting,
                reason: reason.to_owned(),
            })
        };
        if !(1..=MAX_PERMITS).contains(&self.threads) {
            return invalid("threads", &format!("must be 1 to {MAX_PERMITS}"));
        }
        if self.cpu_threads == 0 || self.cpu_threads > MAX_CPU_THREADS {
            return invalid("cpu_threads", "must be 1 to 1024");
        }
        if self.max_fibo > MAX_FIBO_LIMIT {
            return invalid(
                "max_fibo",
                "must be at most 50 (naive fibo(50) takes minutes)",
            );
        }
        if self.gil && !self.mistakes {
            return invalid("gil", "must be off when the mistakes are left out");
        }
        if !(1..=MAX_PERMITS).contains(&self.max_connections) {
            return invalid("max_connections", &format!("must be 1 to {MAX_PERMITS}"));
        }
        let max_secs = MAX_DURATION.as_secs_f64();
        if !(0.0..=max_secs).contains(&self.max_sleep) {
            return invalid("max_sleep", "must be between 0 and 86400 seconds");
        }
        for (setting, value, zero_ok) in [
            ("keep_alive", self.keep_alive, true),
            ("first_byte_timeout", self.first_byte_timeout, false),
            ("header_timeout", self.header_timeout, false),
            ("grace", self.grace, true),
        ] {
            if value > MAX_DURATION || (!zero_ok && value.is_zero()) {
                let range = if zero_ok { "0" } else { "more than 0" };
                return invalid(setting, &format!("must be {range} to 86400 seconds"));
            }
        }
        if !HEADER_BYTES.contains(&self.max_header_bytes) {
            return invalid("max_header_bytes", "must be 1024 to 1048576 bytes");
        }
        if !MAX_STREAMS.contains(&self.max_streams) {
            return invalid("max_streams", "must be 1 to 65535");
        }
        Ok(())
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A [`Config`] value is out of range.
    #[error("invalid server setting `{setting}`: {reason}")]
    InvalidConfig {
        /// The [`Config`] field at fault.
        setting: &'static str,
        /// What values are allowed.
        reason: String,
    },
    /// The listening socket could not be set up.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The Unix socket could not be set up at its path: the path exists
    /// and is not a socket (`AlreadyExists`, left as it is), a server
    /// listens on it (`AddrInUse`), or the system's reason.
    #[error("cannot listen on unix:{}: {source}", path.display())]
    BindUnix {
        /// The path asked for.
        path: std::path::PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The listener's own address could not be read.
    #[error("cannot read the listening socket's address: {0}")]
    LocalAddr(io::Error),
    /// A serving thread or its runtime could not start.
    #[error("cannot start a serving thread: {0}")]
    Thread(io::Error),
    /// The async endpoint's timer (its thread, or a serving thread's
    /// timerfd) could not start.
    #[error("cannot start the async sleep timer: {0}")]
    Timer(io::Error),
}

#[cfg(test)]
mod tests {
    use super::{Config, ServerError};

    #[test]
    fn the_gil_is_left_out_with_the_mistakes() {
        let config = Config {
            gil: true,
            mistakes: false,
            ..Config::default()
        };
        match config.validate() {
            Err(ServerError::InvalidConfig { setting, .. }) => assert_eq!(setting, "gil"),
            other => panic!("{other:?}"),
        }
        let without = Config {
            mistakes: false,
            ..Config::default()
        };
        assert!(without.validate().is_ok());
    }
}
