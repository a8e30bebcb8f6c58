//! `speedup serve`: run the article's server from the command line.
//!
//! Turns flags into a [`speedup_server::Config`], sets up logging, makes room
//! for `--max-connections` in the open-files limit, binds (TCP, or a Unix
//! socket with `--unix-socket`), prints where it listens on stdout
//! (`listening on http://ADDR`, so scripts can use `--port 0`, or
//! `listening on unix:PATH`), and serves on
//! `--workers` threads, each a current-thread runtime accepting on the one
//! listening socket ([`speedup_server::Server`]), until SIGINT,
//! SIGTERM or SIGHUP (a second one stops at once; see `signals`). The main
//! thread only waits for the signals, and ends the process itself when a
//! serving thread is still stuck in a handler once shutdown is over.

mod signals;

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tracing_subscriber::EnvFilter;

/// Flags of `speedup serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on: this machine only by default, as uvicorn;
    /// 0.0.0.0 exposes the server (consider --no-mistakes then).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (printed on start).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Listen on a Unix domain socket at PATH instead of TCP (not with
    /// --host or --port). A stale socket there (nothing listens on it) is
    /// replaced; any other file is refused and left as it is. The socket
    /// is removed at shutdown.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["host", "port"])]
    unix_socket: Option<PathBuf>,
    /// Threads for the blocking /baseline/sleep handler (FastAPI's pool: 40).
    #[arg(long, default_value_t = 40, value_parser = permits)]
    threads: usize,
    /// Serving threads, each a runtime accepting on the one listening
    /// socket [default: number of cores].
    #[arg(long, value_parser = at_least_one)]
    workers: Option<usize>,
    /// Longest sleep in seconds a request may ask for; longer gets a 422.
    #[arg(long, default_value_t = 60.0, value_parser = seconds)]
    max_sleep: f64,
    /// Seconds started requests get to finish after SIGINT/SIGTERM (queued
    /// ones get a 503 at once; a second signal stops at once).
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    grace: f64,
    /// Seconds an idle keep-alive connection waits for its next request;
    /// 0 turns keep-alive off. Independent of --header-timeout.
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    keep_alive: f64,
    /// Seconds a new connection may take to send its first byte.
    #[arg(long, default_value_t = 2.0, value_parser = positive_seconds)]
    first_byte_timeout: f64,
    /// Seconds a client may take to send a request's headers, counted from
    /// their first byte (idle time before it is --keep-alive's).
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    header_timeout: f64,
    /// Largest request head (request line and headers) in bytes; larger
    /// ones get a 431. Also HTTP/2's header-list size.
    #[arg(long, default_value_t = 16 * 1024, value_parser = header_bytes)]
    max_header_bytes: usize,
    /// Most HTTP/2 streams (requests) in flight on one connection, as
    /// advertised (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused.
    #[arg(long, default_value_t = 100, value_parser = max_streams)]
    max_streams: u32,
    /// Most connections open at once; more wait in the listen backlog, and
    /// at the cap the connection idle the longest makes room [default:
    /// 25000, or what the open-files limit fits].
    #[arg(long, value_parser = permits)]
    max_connections: Option<usize>,
    /// Log one line per request.
    #[arg(long)]
    access_log: bool,
    /// Threads of the CPU pool behind /pool/fibo [default: number of cores].
    #[arg(long, value_parser = cpu_threads)]
    cpu_threads: Option<usize>,
    /// Largest n the fibo endpoints accept; larger gets a 422.
    #[arg(long, default_value_t = 40, value_parser = max_fibo)]
    max_fibo: u32,
    /// Hold one global lock while computing (released while sleeping), as
    /// CPython's GIL does, to see why Python needs processes.
    #[arg(long)]
    gil: bool,
    /// Leave out the series' deliberate mistakes, whose requests hold a
    /// serving thread so that any client can freeze the server: /stall/*,
    /// /async/fibo* (they answer 404) and --gil. For an exposed server.
    #[arg(long, conflicts_with = "gil")]
    no_mistakes: bool,
}

/// A CPU pool size from 1 to [`speedup_server::MAX_CPU_THREADS`].
fn cpu_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(count) if (1..=speedup_server::MAX_CPU_THREADS).contains(&count) => Ok(count),
        _ => Err(format!(
            "expected a thread count from 1 to {}, such as 2",
            speedup_server::MAX_CPU_THREADS
        )),
    }
}

/// A fibo bound up to [`speedup_server::MAX_FIBO_LIMIT`].
fn max_fibo(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if n <= speedup_server::MAX_FIBO_LIMIT => Ok(n),
        _ => Err(format!(
            "expected a whole number from 0 to {} (naive fibo(50) takes minutes), such as 40",
            speedup_server::MAX_FIBO_LIMIT
        )),
    }
}

/// A count of at least one.
fn at_least_one(text: &str) -> Result<usize, String> {
    count_up_to(text, usize::MAX)
}

/// A count the server keeps in a semaphore (`--threads`,
/// `--max-connections`), from 1 to [`speedup_server::MAX_PERMITS`].
fn permits(text: &str) -> Result<usize, String> {
    count_up_to(text, speedup_server::MAX_PERMITS)
}

/// A count from 1 to `max`; a larger one, however many digits, is "too
/// large" with the maximum, not a parse error.
fn count_up_to(text: &str, max: usize) -> Result<usize, String> {
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) if count <= max => Ok(count),
        Ok(_) => Err(format!("too large: at most {max}")),
        Err(_) if digits => Err(format!("too large: at most {max}")),
        Err(_) => Err("expected a whole number such as 40".to_owned()),
    }
}

/// A number of seconds from 0 to a day ([`speedup_server::MAX_DURATION`]),
/// so no deadline computed from it can overflow.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| "expected a number of seconds such as 5 or 0.5".to_owned())?;
    let max = speedup_server::MAX_DURATION.as_secs_f64();
    if !(0.0..=max).contains(&value) {
        return Err(format!("expected a number of seconds from 0 to {max}"));
    }
    Ok(value)
}

/// A request-head size within [`speedup_server::HEADER_BYTES`].
fn header_bytes(text: &str) -> Result<usize, String> {
    let range = speedup_server::HEADER_BYTES;
    match text.parse::<usize>() {
        Ok(bytes) if range.contains(&bytes) => Ok(bytes),
        _ => Err(format!(
            "expected a number of bytes from {} to {}, such as 16384",
            range.start(),
            range.end()
        )),
    }
}

/// A stream count within [`speedup_server::MAX_STREAMS`].
fn max_streams(text: &str) -> Result<u32, String> {
    let range = speedup_server::MAX_STREAMS;
    match text.parse::<u32>() {
        Ok(streams) if range.contains(&streams) => Ok(streams),
        _ => Err(format!(
            "expected a stream count from {} to {}, such as 100",
            range.start(),
            range.end()
        )),
    }
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
            first_byte_timeout: Duration::from_secs_f64(self.first_byte_timeout),
            header_timeout: Duration::from_secs_f64(self.header_timeout),
            max_header_bytes: self.max_header_bytes,
            max_streams: self.max_streams,
            max_connections: self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            grace: Duration::from_secs_f64(self.grace),
            access_log: self.access_log,
            cpu_threads: self
                .cpu_threads
                .unwrap_or_else(speedup_server::default_cpu_threads),
            max_fibo: self.max_fibo,
            gil: self.gil,
            mistakes: !self.no_mistakes,
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

/// `--max-connections`'s default, lowered to what the open-files limit fits.
const DEFAULT_MAX_CONNECTIONS: usize = 25_000;

/// Runs `speedup serve` until SIGINT, SIGTERM or SIGHUP, then exits 0.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging()?;
    let mut config = args.config();
    config.validate()?;
    config.max_connections = room_for(config.max_connections, args.max_connections.is_some())?;
    let addr = match &args.unix_socket {
        Some(path) => Where::Unix(path),
        None => Where::Tcp(args.address()?),
    };
    let workers = args.workers.unwrap_or_else(speedup_server::default_workers);
    // The main thread only relays signals; serving runs on `workers` threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let result = runtime.block_on(async {
        // Handlers are installed before the address is printed, so a script
        // that signals right after reading it gets a graceful shutdown.
        let (shutdown, cut) = signals::shutdown_signals()?;
        let builder = speedup_server::Server::builder(config).workers(workers);
        let server = match addr {
            Where::Tcp(addr) => builder.bind(addr),
            Where::Unix(path) => bind_unix(builder, path)?,
        };
        let server = server.map_err(bind_failed)?;
        // `http://HOST:PORT`, or `unix:PATH`.
        println!("listening on {}", server.listening());
        anyhow::Ok(server.serve(shutdown, cut).await?)
    });
    let stopped = result?;
    if stopped.stuck_threads > 0 {
        // Those threads are inside a handler that cannot be interrupted
        // (the server's summary said what they hold); only the end of the
        // process stops them, and closes their sockets.
        std::process::exit(0);
    }
    Ok(ExitCode::SUCCESS)
}

/// Descriptors besides the connections: stdio, the listener, each serving
/// thread's epoll, wake-up and timer descriptors, the one connection taken
/// beyond the cap to evict an idle one, logging, and headroom.
const RESERVED_FILES: u64 = 64;

/// Raises the open-files limit so `max_connections` connections fit, and
/// returns how many the server may really hold: all of them, or, when the
/// limit cannot go high enough, as many as fit. Said at info (raised) and
/// warn (fitted) level for an `explicit` `--max-connections`; a default that
/// does not fit the machine is fitted quietly (debug).
fn room_for(max_connections: usize, explicit: bool) -> anyhow::Result<usize> {
    let wanted = (max_connections as u64).saturating_add(RESERVED_FILES);
    let limits = crate::limits::raise_open_files(wanted);
    let (before, now) = (limits.before.soft, limits.after.soft.unwrap_or(u64::MAX));
    if limits.raised() {
        let message = format!(
            "raised the open-files limit from {} to {now} for --max-connections {max_connections}",
            before.unwrap_or(u64::MAX)
        );
        match explicit {
            true => tracing::info!("{message}"),
            false => tracing::debug!("{message}"),
        }
    }
    if limits.after.fits(wanted) {
        return Ok(max_connections);
    }
    let hard = limits
        .after
        .hard
        .map_or("unlimited".into(), |hard| hard.to_string());
    let fit = now.saturating_sub(RESERVED_FILES);
    if fit == 0 {
        bail!(
            "the open-files limit ({now}) leaves no room for connections; \
             raise it with `ulimit -n` (hard limit {hard})"
        );
    }
    let fit = usize::try_from(fit).unwrap_or(usize::MAX);
    let message = format!(
        "the open-files hard limit ({hard}) is too low for --max-connections {max_connections} \
         (needs {wanted}): serving at most {fit} connections at once"
    );
    match explicit {
        true => tracing::warn!(
            "{message}; raise the hard limit (`ulimit -Hn`, systemd's LimitNOFILE=) or lower \
             --max-connections"
        ),
        false => tracing::debug!("{message} (the default, fitted to this machine)"),
    }
    Ok(fit)
}

/// Where to listen: `--host`/`--port`, or `--unix-socket`.
enum Where<'a> {
    Tcp(SocketAddr),
    Unix(&'a Path),
}

/// Binds `--unix-socket`'s path (Unix systems only).
fn bind_unix<F, A>(
    builder: speedup_server::ServerBuilder<F>,
    path: &Path,
) -> anyhow::Result<Result<speedup_server::Server<A>, speedup_server::ServerError>>
where
    F: FnOnce(&speedup_server::Config) -> A,
    A: speedup_server::App,
{
    #[cfg(unix)]
    {
        Ok(builder.bind_unix(path))
    }
    #[cfg(not(unix))]
    {
        let _ = (builder, path);
        bail!("--unix-socket needs a Unix system; use --host and --port")
    }
}

/// Why the address could not be bound, and what to do about it.
fn bind_failed(error: speedup_server::ServerError) -> anyhow::Error {
    use speedup_server::ServerError::{Bind, BindUnix};
    use std::io::ErrorKind;
    match &error {
        Bind { source, .. } if source.kind() == ErrorKind::AddrInUse => anyhow!(
            "{error}: another server listens there; stop it, or pick another --port \
             (--port 0 picks any free port)"
        ),
        BindUnix { source, .. } if source.kind() == ErrorKind::AddrInUse => {
            anyhow!("{error}; stop that server, or pick another --unix-socket path")
        }
        BindUnix { source, .. } if source.kind() == ErrorKind::AlreadyExists => {
            anyhow!("{error}; pick another --unix-socket path")
        }
        BindUnix { .. } => {
            anyhow!("{error}; check --unix-socket (its folder must exist and be writable)")
        }
        _ => anyhow!("{error}; check --host and --port (--port 0 picks any free port)"),
    }
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
