//! The article's server: FastAPI's two sleep endpoints on tokio, each
//! concurrency model made visible.
//!
//! * `GET /baseline/sleep/{n}`: the `def` handler. A blocking
//!   `std::thread::sleep` on a pool of [`Config::threads`] threads (FastAPI's
//!   40), queueing first come, first served beyond that.
//! * `GET /async/sleep/{n}`: the `async def` handler, a timer.
//!
//! Responses match FastAPI byte for byte (Python float formatting, pydantic
//! 422 bodies, 404/405/307), except that sleeps which are negative, not
//! finite or above [`Config::max_sleep`] are refused with a 422 instead of a
//! 500 or a hang.
//!
//! Use [`bind`] and [`serve`] to run it (tests pass a `127.0.0.1:0` listener
//! and a shutdown future), or [`app`] to drive the router directly.
//!
//! Modules: `pyfloat` (Python float text), `url` (decoding and quoting as
//! uvicorn/Starlette do), `errors` (FastAPI's error bodies), `sleep` (the two
//! models and the bounded pool), `routes` (routing), `conn` (one connection
//! with its timeouts), `server` (accept loop and shutdown).

mod conn;
mod errors;
pub mod pyfloat;
mod routes;
mod server;
mod sleep;
mod timer;
mod url;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::Semaphore;

pub use routes::app;

/// Async sleeps (`/async/sleep`) waiting on the timer right now, across all
/// servers in this process: a diagnostic, and how tests check that a client
/// going away leaves nothing behind.
pub fn pending_async_sleeps() -> usize {
    timer::pending()
}
pub use server::{bind, serve, serve_router};

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
    /// Close a connection whose request head takes longer than this to
    /// arrive (hyper counts from when the connection is ready for it).
    pub header_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take before their
    /// connections are closed anyway.
    pub grace: Duration,
    /// Log one line per request (`tracing` target `speedup_server::access`).
    pub access_log: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threads: 40,
            max_sleep: 60.0,
            keep_alive: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            max_connections: 25_000,
            grace: Duration::from_secs(10),
            access_log: false,
        }
    }
}

impl Config {
    /// Checks the settings [`serve`] relies on; the error names the setting.
    pub fn validate(&self) -> Result<(), ServerError> {
        let invalid = |setting, reason: &str| {
            Err(ServerError::InvalidConfig {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.threads == 0 || self.threads > Semaphore::MAX_PERMITS {
            return invalid("threads", "must be at least 1 (and a sane thread count)");
        }
        if self.max_connections == 0 || self.max_connections > Semaphore::MAX_PERMITS {
            return invalid("max_connections", "must be at least 1");
        }
        if !self.max_sleep.is_finite()
            || self.max_sleep < 0.0
            || Duration::try_from_secs_f64(self.max_sleep).is_err()
        {
            return invalid("max_sleep", "must be a finite number of seconds >= 0");
        }
        if self.header_timeout.is_zero() {
            return invalid("header_timeout", "must be longer than zero");
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
    /// The listener's own address could not be read.
    #[error("cannot read the listening socket's address: {0}")]
    LocalAddr(io::Error),
    /// The async endpoint's timer thread could not start.
    #[error("cannot start the async sleep timer: {0}")]
    Timer(io::Error),
}
