//! ab's flags: their letters, meanings and help text, and their
//! validation into an engine [`Plan`] before any work.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use speedup_load::{Plan, PlanError, Proxy};

use crate::request;

/// Flags that cannot make a plan. Every message names the flag and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// A flag's value is out of range or contradicts another flag.
    #[error("{0}")]
    Invalid(String),
    /// The URL or the resulting plan failed the engine's validation.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The `-p`/`-u` file could not be read.
    #[error("cannot read the {flag} file {}: {source} (check the path and its permissions)", path.display())]
    Body {
        /// `-p` or `-u`.
        flag: &'static str,
        /// The file as given.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The `-p`/`-u` path is a device, pipe or folder: its size is not
    /// known before reading it (ab 2.3 sends such a file as 0 bytes).
    #[error("the {flag} file {} is not a regular file: the body is sent with its size, so {flag} needs a regular file (save the data to one first)", path.display())]
    BodyNotAFile {
        /// `-p` or `-u`.
        flag: &'static str,
        /// The file as given.
        path: PathBuf,
    },
    /// The `-p`/`-u` file is larger than [`MAX_BODY`].
    #[error("the {flag} file {} is {size} bytes, more than the 1 GiB a request body may be: use a smaller {flag} file", path.display())]
    BodyTooLarge {
        /// `-p` or `-u`.
        flag: &'static str,
        /// The file as given.
        path: PathBuf,
        /// Its size, or at least how much of it was read.
        size: u64,
    },
}

/// The largest `-p`/`-u` body: the whole request is held in memory (ab does
/// the same), once as read and once with its head, so 1 GiB costs 2.
pub const MAX_BODY: u64 = 1 << 30;

/// Returns early with [`FlagError::Invalid`] and a formatted message.
macro_rules! invalid {
    ($($arg:tt)*) => {
        return Err(FlagError::Invalid(format!($($arg)*)))
    };
}

/// ab's request count for a time-limited run (`-t` implies `-n 50000`).
const TIMED_REQUESTS: u64 = 50_000;

/// Flags of `speedup ab`: Apache Bench's letters and meanings.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct AbArgs {
    /// Number of requests to perform (default 1; 50000 with -t)
    #[arg(short = 'n', value_name = "requests", allow_hyphen_values = true, value_parser = positive("-n"))]
    pub requests: Option<u64>,
    /// Number of multiple requests to make at a time
    #[arg(short = 'c', value_name = "concurrency", default_value_t = 1, allow_hyphen_values = true, value_parser = positive_u32("-c"))]
    pub concurrency: u32,
    /// Seconds to max. to spend on benchmarking; implies -n 50000
    #[arg(short = 't', value_name = "timelimit", allow_hyphen_values = true, value_parser = seconds("-t"))]
    pub timelimit: Option<u64>,
    /// Seconds to max. wait for each response
    #[arg(short = 's', value_name = "timeout", default_value_t = 30, allow_hyphen_values = true, value_parser = seconds("-s"))]
    pub timeout: u64,
    /// Size of TCP send/receive buffer, in bytes (accepted, ignored)
    #[arg(short = 'b', value_name = "windowsize")]
    pub windowsize: Option<u32>,
    /// Address to bind to for outgoing connections (accepted, ignored)
    #[arg(short = 'B', value_name = "address")]
    pub bind: Option<String>,
    /// File containing data to POST. Remember also to set -T
    #[arg(short = 'p', value_name = "postfile")]
    pub postfile: Option<PathBuf>,
    /// File containing data to PUT. Remember also to set -T
    #[arg(short = 'u', value_name = "putfile")]
    pub putfile: Option<PathBuf>,
    /// Content-type header for POST/PUT data (default text/plain)
    #[arg(short = 'T', value_name = "content-type")]
    pub content_type: Option<String>,
    /// How much troubleshooting info to print (2: the request)
    #[arg(short = 'v', value_name = "verbosity", default_value_t = 0)]
    pub verbosity: u32,
    /// Print out results in HTML tables
    #[arg(short = 'w')]
    pub html: bool,
    /// Use HEAD instead of GET
    #[arg(short = 'i')]
    pub head: bool,
    /// String to insert as table attributes
    #[arg(short = 'x', value_name = "attributes")]
    pub table_attrs: Option<String>,
    /// String to insert as tr attributes
    #[arg(short = 'y', value_name = "attributes")]
    pub tr_attrs: Option<String>,
    /// String to insert as td or th attributes
    #[arg(short = 'z', value_name = "attributes")]
    pub td_attrs: Option<String>,
    /// Add cookie, eg. 'Apache=1234' (repeatable)
    #[arg(short = 'C', value_name = "attribute")]
    pub cookies: Vec<String>,
    /// Add arbitrary header line, eg. 'Accept-Encoding: gzip' (repeatable)
    #[arg(short = 'H', value_name = "attribute")]
    pub headers: Vec<String>,
    /// Add Basic WWW Authentication: user:password
    #[arg(short = 'A', value_name = "attribute")]
    pub auth: Option<String>,
    /// Add Basic Proxy Authentication: user:password
    #[arg(short = 'P', value_name = "attribute")]
    pub proxy_auth: Option<String>,
    /// Proxy server and port number to use
    #[arg(short = 'X', value_name = "proxy:port")]
    pub proxy: Option<String>,
    /// Print version number and exit
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Use HTTP KeepAlive feature
    #[arg(short = 'k')]
    pub keep_alive: bool,
    /// Do not show percentiles served table
    #[arg(short = 'd')]
    pub no_percentiles: bool,
    /// Do not show confidence estimators and warnings
    #[arg(short = 'S')]
    pub no_confidence: bool,
    /// Do not show progress when doing more than 150 requests
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Accept variable document length (use this for dynamic pages)
    #[arg(short = 'l')]
    pub variable_length: bool,
    /// Output collected data to gnuplot format file
    #[arg(short = 'g', value_name = "filename")]
    pub gnuplot: Option<PathBuf>,
    /// Output CSV file with percentages served
    #[arg(short = 'e', value_name = "filename")]
    pub csv: Option<PathBuf>,
    /// Don't exit on socket receive errors
    #[arg(short = 'r')]
    pub keep_going: bool,
    /// Method name
    #[arg(short = 'm', value_name = "method")]
    pub method: Option<String>,
    /// Display usage information (this message)
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// http://hostname[:port]/path
    #[arg(value_name = "URL")]
    pub url: Option<String>,
}

/// A parser for a count flag: a whole number of at least 1, with a message
/// naming the flag otherwise (clap's own would call `-1` a flag).
fn positive(flag: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    move |text: &str| match text.trim().parse::<i128>() {
        Ok(n) if n >= 1 => u64::try_from(n).map_err(|_| format!("{flag} is too large")),
        Ok(_) => Err(format!("{flag} must be a positive number (1 or more)")),
        Err(_) => Err(format!("{flag} must be a positive whole number")),
    }
}

/// [`positive`], for flags held in a `u32`.
fn positive_u32(flag: &'static str) -> impl Fn(&str) -> Result<u32, String> + Clone {
    let parse = positive(flag);
    move |text: &str| {
        let n = parse(text)?;
        u32::try_from(n).map_err(|_| format!("{flag} must be at most {}", u32::MAX))
    }
}

/// A parser for a seconds flag: positive, and no longer than a clock can
/// hold (`-s 9300000000000000000` once panicked and hung the run).
fn seconds(flag: &'static str) -> impl Fn(&str) -> Result<u64, String> + Clone {
    let parse = positive(flag);
    move |text: &str| {
        let secs = parse(text)?;
        let max = speedup_load::MAX_TIME.as_secs();
        if secs > max {
            return Err(format!("{flag} must be at most {max} seconds"));
        }
        Ok(secs)
    }
}

/// Validates the flags into a plan, before any work.
pub fn plan(args: &AbArgs) -> Result<Plan, FlagError> {
    let Some(url) = args.url.as_deref() else {
        invalid!("missing URL: usage is `speedup ab [options] http://hostname[:port]/path` (see `speedup ab -h`)");
    };
    let requests = match args.timelimit {
        Some(_) => args.requests.unwrap_or(TIMED_REQUESTS),
        None => args.requests.unwrap_or(1),
    };
    let mut plan = request::plain_plan(url, requests, args.concurrency)?;
    let bodies = [args.head, args.postfile.is_some(), args.putfile.is_some()];
    if bodies.iter().filter(|&&b| b).count() > 1 {
        invalid!("-i, -p and -u each choose the method: use only one of them");
    }
    let body_file = args.postfile.as_deref().or(args.putfile.as_deref());
    let body = match body_file {
        Some(path) => Some(read_body(
            path,
            if args.postfile.is_some() { "-p" } else { "-u" },
        )?),
        None => None,
    };
    let method = match (&args.method, args.head, &args.postfile, &args.putfile) {
        (Some(m), ..) => m.clone(),
        (None, true, ..) => "HEAD".into(),
        (None, _, Some(_), _) => "POST".into(),
        (None, _, _, Some(_)) => "PUT".into(),
        _ => "GET".into(),
    };
    let flags = request::HeaderFlags {
        keep_alive: args.keep_alive,
        cookies: &args.cookies,
        auth: args.auth.as_deref(),
        proxy_auth: args.proxy_auth.as_deref(),
        body: body.as_ref().map(|b| {
            (
                b.len(),
                args.content_type.as_deref().unwrap_or("text/plain"),
            )
        }),
        extra: &args.headers,
    };
    // The flags' headers, then the plain plan's defaults unless a -H line set them.
    plan.headers = request::headers(&plan.target, &flags).map_err(FlagError::Invalid)?;
    plan.method = method;
    plan.body = body.map(Arc::from);
    plan.keep_alive = args.keep_alive;
    plan.trace_responses = args.verbosity >= 2;
    // -n, -c, -s and -t are at least 1: their value parsers refuse 0.
    plan.timeout = Duration::from_secs(args.timeout);
    plan.duration = args.timelimit.map(Duration::from_secs);
    if let Some(proxy) = &args.proxy {
        plan.proxy = Some(parse_proxy(proxy)?);
    }
    plan.validate().map_err(|e| match e {
        PlanError::ConcurrencyAboveRequests {
            concurrency,
            requests,
        } => FlagError::Invalid(format!(
            "-c {concurrency} is greater than -n {requests}: cannot use more connections than requests; lower -c or raise -n"
        )),
        other => FlagError::Plan(other),
    })?;
    Ok(plan)
}

/// Reads the `-p`/`-u` file: a regular file of at most [`MAX_BODY`] bytes.
fn read_body(path: &Path, flag: &'static str) -> Result<Vec<u8>, FlagError> {
    read_body_within(path, flag, MAX_BODY)
}

/// Reads a regular file of at most `limit` bytes, checking the size before
/// reading and reading no more than `limit + 1` bytes (a file may grow).
fn read_body_within(path: &Path, flag: &'static str, limit: u64) -> Result<Vec<u8>, FlagError> {
    let io_error = |source| FlagError::Body {
        flag,
        path: path.to_path_buf(),
        source,
    };
    let too_large = |size| FlagError::BodyTooLarge {
        flag,
        path: path.to_path_buf(),
        size,
    };
    let not_a_file = || FlagError::BodyNotAFile {
        flag,
        path: path.to_path_buf(),
    };
    // Looked at before opening, since opening a pipe waits for a writer;
    // and again on the open file, in case the path changed meanwhile.
    if !std::fs::metadata(path).map_err(io_error)?.is_file() {
        return Err(not_a_file());
    }
    let file = std::fs::File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(not_a_file());
    }
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut body = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut body)
        .map_err(io_error)?;
    if body.len() as u64 > limit {
        return Err(too_large(body.len() as u64));
    }
    Ok(body)
}

fn parse_proxy(spec: &str) -> Result<Proxy, FlagError> {
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => {
            let Some(port) = p.parse::<u16>().ok().filter(|&p| p > 0) else {
                invalid!("invalid -X {spec:?}: the port must be a number from 1 to 65535");
            };
            (h, port)
        }
        None => (spec, 80),
    };
    if host.is_empty() {
        invalid!("invalid -X {spec:?}: expected proxy:port, e.g. -X 127.0.0.1:3128");
    }
    Ok(Proxy {
        host: host.trim_matches(['[', ']']).into(),
        port,
    })
}

/// ab's usage text, with our name.
pub fn usage() -> &'static str {
    "Usage: speedup ab [options] http://hostname[:port]/path
Options are:
    -n requests     Number of requests to perform
    -c concurrency  Number of multiple requests to make at a time
    -t timelimit    Seconds to max. to spend on benchmarking
                    This implies -n 50000
    -s timeout      Seconds to max. wait for each response
                    Default is 30 seconds
    -b windowsize   Size of TCP send/receive buffer, in bytes (ignored)
    -B address      Address to bind to when making outgoing connections (ignored)
    -p postfile     File containing data to POST. Remember also to set -T
    -u putfile      File containing data to PUT. Remember also to set -T
    -T content-type Content-type header to use for POST/PUT data, eg.
                    'application/x-www-form-urlencoded'
                    Default is 'text/plain'
    -v verbosity    How much troubleshooting info to print
    -w              Print out results in HTML tables
    -i              Use HEAD instead of GET
    -x attributes   String to insert as table attributes
    -y attributes   String to insert as tr attributes
    -z attributes   String to insert as td or th attributes
    -C attribute    Add cookie, eg. 'Apache=1234'. (repeatable)
    -H attribute    Add Arbitrary header line, eg. 'Accept-Encoding: gzip'
                    Inserted after all normal header lines. (repeatable)
    -A attribute    Add Basic WWW Authentication, the attributes
                    are a colon separated username and password.
    -P attribute    Add Basic Proxy Authentication, the attributes
                    are a colon separated username and password.
    -X proxy:port   Proxyserver and port number to use
    -V              Print version number and exit
    -k              Use HTTP KeepAlive feature
    -d              Do not show percentiles served table.
    -S              Do not show confidence estimators and warnings.
    -q              Do not show progress when doing more than 150 requests
    -l              Accept variable document length (use this for dynamic pages)
    -g filename     Output collected data to gnuplot format file.
    -e filename     Output CSV file with percentages served
    -r              Don't exit on socket receive errors.
    -m method       Method name
    -h              Display usage information (this message)
"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_file_must_be_regular_and_within_the_limit() {
        let dir = std::env::temp_dir().join(format!("speedup-ab-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("body");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_body_within(&file, "-p", 10).unwrap(), b"0123456789");
        let err = read_body_within(&file, "-u", 9).unwrap_err();
        assert!(
            matches!(err, FlagError::BodyTooLarge { size: 10, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("use a smaller -u file"), "{err}");
        for not_a_file in [Path::new("/dev/null"), &dir] {
            let err = read_body_within(not_a_file, "-p", 10).unwrap_err();
            assert!(matches!(err, FlagError::BodyNotAFile { .. }), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
