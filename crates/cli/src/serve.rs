//! `speedup serve`: run the article's server from the command line.
//!
//! Turns flags into a [`speedup_server::Config`], builds the tokio runtime
//! (`--workers` async threads, a blocking pool large enough for `--threads`),
//! sets up logging, binds, prints the bound address on stdout (so scripts can
//! use `--port 0`), and serves until SIGINT or SIGTERM.

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use tracing_subscriber::EnvFilter;

/// How long exit may wait for blocking sleeps still running after the
/// server stopped (past `--grace`): not at all, in effect.
const RUNTIME_EXIT_TIMEOUT: Duration = Duration::from_millis(500);

/// Blocking threads the runtime may use besides the sleep pool (DNS
/// lookups and other incidental blocking work).
const SPARE_BLOCKING_THREADS: usize = 16;

/// Flags of `speedup serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Threads for the blocking /baseline/sleep handler (FastAPI's pool: 40).
    #[arg(long, default_value_t = 40, value_parser = at_least_one)]
    threads: usize,
    /// Async worker threads [default: number of cores].
    #[arg(long, value_parser = at_least_one)]
    workers: Option<usize>,
    /// Longest sleep in seconds a request may ask for; longer gets a 422.
    #[arg(long, default_value_t = 60.0, value_parser = seconds)]
    max_sleep: f64,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    grace: f64,
    /// Seconds an idle keep-alive connection stays open; 0 turns keep-alive off.
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    keep_alive: f64,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    header_timeout: f64,
    /// Most connections open at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 25_000, value_parser = at_least_one)]
    max_connections: usize,
    /// Log one line per request.
    #[arg(long)]
    access_log: bool,
}

/// A count of at least one.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) => Ok(count),
        Err(_) => Err("expected a whole number such as 40".to_owned()),
    }
}

/// A finite, non-negative number of seconds that fits a `Duration`.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| "expected a number of seconds such as 5 or 0.5".to_owned())?;
    if !value.is_finite() || value < 0.0 || Duration::try_from_secs_f64(value).is_err() {
        return Err("expected a finite number of seconds >= 0".to_owned());
    }
    Ok(value)
}

/// Like [`seconds`], but zero is not allowed.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match seconds(text)? {
        0.0 => Err("must be more than 0 seconds".to_owned()),
        value => Ok(value),
    }
}

impl ServeArgs {
    fn config(&self) -> speedup_server::Config {
        speedup_server::Config {
            threads: self.threads,
            max_sleep: self.max_sleep,
            keep_alive: Duration::from_secs_f64(self.keep_alive),
            header_timeout: Duration::from_secs_f64(self.header_timeout),
            max_connections: self.max_connections,
            grace: Duration::from_secs_f64(self.grace),
            access_log: self.access_log,
        }
    }

    /// The first address `--host`/`--port` resolve to.
    fn address(&self) -> anyhow::Result<SocketAddr> {
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve --host {}", self.host))?
            .next()
            .ok_or_else(|| anyhow!("--host {} resolves to no address", self.host))
    }
}

/// Runs `speedup serve` until SIGINT or SIGTERM, then exits 0.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging()?;
    let config = args.config();
    config.validate()?;
    let addr = args.address()?;
    let workers = match args.workers {
        Some(workers) => workers,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(config.threads.saturating_add(SPARE_BLOCKING_THREADS))
        .thread_name("speedup-serve")
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let result = runtime.block_on(async {
        // Handlers are installed before the address is printed, so a script
        // that signals right after reading it gets a graceful shutdown.
        let shutdown = shutdown_signal()?;
        let listener = speedup_server::bind(addr).await.map_err(|error| {
            anyhow!("{error}; check --host and --port (--port 0 picks any free port)")
        })?;
        let local = listener
            .local_addr()
            .context("cannot read the bound address")?;
        println!("listening on http://{local}");
        speedup_server::serve(listener, config, shutdown).await?;
        anyhow::Ok(())
    });
    // A blocking sleep past the grace period must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_EXIT_TIMEOUT);
    result.map(|()| ExitCode::SUCCESS)
}

/// Logs to stderr; `RUST_LOG` wins, else `info` for speedup's own crates.
fn init_logging() -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .with_context(|| format!("invalid RUST_LOG {directives:?}"))?,
        Err(_) => EnvFilter::new("warn,speedup=info,speedup_server=info"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|error| anyhow!("cannot set up logging: {error}"))
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that
/// resolves on the first of them. Must run inside the runtime.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("received SIGINT"),
            _ = terminate.recv() => tracing::info!("received SIGTERM"),
        }
    })
}

/// Ctrl-C only where there are no Unix signals.
#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("received Ctrl-C");
        }
    })
}
