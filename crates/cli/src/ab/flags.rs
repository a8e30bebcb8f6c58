//! ab's flags: their letters, meanings and help text, and their
//! validation into an engine [`Plan`] before any work.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use speedup_load::{HttpVersion, Plan, PlanError, Proxy, Target};

use super::request;

/// ab's request count for a time-limited run (`-t` implies `-n 50000`).
const TIMED_REQUESTS: u64 = 50_000;

/// Flags of `speedup ab`: Apache Bench's letters and meanings.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct AbArgs {
    /// Number of requests to perform (default 1; 50000 with -t)
    #[arg(short = 'n', value_name = "requests")]
    pub(crate) requests: Option<u64>,
    /// Number of multiple requests to make at a time
    #[arg(short = 'c', value_name = "concurrency", default_value_t = 1)]
    pub(crate) concurrency: u32,
    /// Seconds to max. to spend on benchmarking; implies -n 50000
    #[arg(short = 't', value_name = "timelimit")]
    pub(crate) timelimit: Option<u64>,
    /// Seconds to max. wait for each response
    #[arg(short = 's', value_name = "timeout", default_value_t = 30)]
    pub(crate) timeout: u64,
    /// Size of TCP send/receive buffer, in bytes (accepted, ignored)
    #[arg(short = 'b', value_name = "windowsize")]
    pub(crate) windowsize: Option<u32>,
    /// Address to bind to for outgoing connections (accepted, ignored)
    #[arg(short = 'B', value_name = "address")]
    pub(crate) bind: Option<String>,
    /// File containing data to POST. Remember also to set -T
    #[arg(short = 'p', value_name = "postfile")]
    pub(crate) postfile: Option<PathBuf>,
    /// File containing data to PUT. Remember also to set -T
    #[arg(short = 'u', value_name = "putfile")]
    pub(crate) putfile: Option<PathBuf>,
    /// Content-type header for POST/PUT data (default text/plain)
    #[arg(short = 'T', value_name = "content-type")]
    pub(crate) content_type: Option<String>,
    /// How much troubleshooting info to print (2: the request)
    #[arg(short = 'v', value_name = "verbosity", default_value_t = 0)]
    pub(crate) verbosity: u32,
    /// Print out results in HTML tables
    #[arg(short = 'w')]
    pub(crate) html: bool,
    /// Use HEAD instead of GET
    #[arg(short = 'i')]
    pub(crate) head: bool,
    /// String to insert as table attributes
    #[arg(short = 'x', value_name = "attributes")]
    pub(crate) table_attrs: Option<String>,
    /// String to insert as tr attributes
    #[arg(short = 'y', value_name = "attributes")]
    pub(crate) tr_attrs: Option<String>,
    /// String to insert as td or th attributes
    #[arg(short = 'z', value_name = "attributes")]
    pub(crate) td_attrs: Option<String>,
    /// Add cookie, eg. 'Apache=1234' (repeatable)
    #[arg(short = 'C', value_name = "attribute")]
    pub(crate) cookies: Vec<String>,
    /// Add arbitrary header line, eg. 'Accept-Encoding: gzip' (repeatable)
    #[arg(short = 'H', value_name = "attribute")]
    pub(crate) headers: Vec<String>,
    /// Add Basic WWW Authentication: user:password
    #[arg(short = 'A', value_name = "attribute")]
    pub(crate) auth: Option<String>,
    /// Add Basic Proxy Authentication: user:password
    #[arg(short = 'P', value_name = "attribute")]
    pub(crate) proxy_auth: Option<String>,
    /// Proxy server and port number to use
    #[arg(short = 'X', value_name = "proxy:port")]
    pub(crate) proxy: Option<String>,
    /// Print version number and exit
    #[arg(short = 'V', long = "version")]
    pub(crate) version: bool,
    /// Use HTTP KeepAlive feature
    #[arg(short = 'k')]
    pub(crate) keep_alive: bool,
    /// Do not show percentiles served table
    #[arg(short = 'd')]
    pub(crate) no_percentiles: bool,
    /// Do not show confidence estimators and warnings
    #[arg(short = 'S')]
    pub(crate) no_confidence: bool,
    /// Do not show progress when doing more than 150 requests
    #[arg(short = 'q')]
    pub(crate) quiet: bool,
    /// Accept variable document length (use this for dynamic pages)
    #[arg(short = 'l')]
    pub(crate) variable_length: bool,
    /// Output collected data to gnuplot format file
    #[arg(short = 'g', value_name = "filename")]
    pub(crate) gnuplot: Option<PathBuf>,
    /// Output CSV file with percentages served
    #[arg(short = 'e', value_name = "filename")]
    pub(crate) csv: Option<PathBuf>,
    /// Don't exit on socket receive errors
    #[arg(short = 'r')]
    pub(crate) keep_going: bool,
    /// Method name
    #[arg(short = 'm', value_name = "method")]
    pub(crate) method: Option<String>,
    /// Display usage information (this message)
    #[arg(short = 'h', long = "help")]
    pub(crate) help: bool,
    /// http://hostname[:port]/path
    #[arg(value_name = "URL")]
    pub(crate) url: Option<String>,
}

/// Validates the flags into a plan, before any work.
pub(crate) fn plan(args: &AbArgs) -> anyhow::Result<Plan> {
    let Some(url) = args.url.as_deref() else {
        bail!("missing URL: usage is `speedup ab [options] http://hostname[:port]/path` (see `speedup ab -h`)");
    };
    let target = Target::parse(url)?;
    let bodies = [args.head, args.postfile.is_some(), args.putfile.is_some()];
    if bodies.iter().filter(|&&b| b).count() > 1 {
        bail!("-i, -p and -u each choose the method: use only one of them");
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
    let headers = request::headers(&target, &flags).map_err(anyhow::Error::msg)?;
    let mut plan = Plan::new(target);
    plan.method = method;
    plan.version = HttpVersion::Http10;
    plan.headers = headers;
    plan.body = body.map(Arc::from);
    plan.keep_alive = args.keep_alive;
    plan.trace_responses = args.verbosity >= 2;
    plan.concurrency = args.concurrency;
    if args.timeout == 0 {
        bail!("-s 0: the timeout must be at least 1 second (ab's default is -s 30)");
    }
    plan.timeout = Duration::from_secs(args.timeout);
    match args.timelimit {
        Some(0) => bail!("-t 0: the time limit must be at least 1 second"),
        Some(t) => {
            plan.duration = Some(Duration::from_secs(t));
            plan.requests = Some(args.requests.unwrap_or(TIMED_REQUESTS));
        }
        None => plan.requests = Some(args.requests.unwrap_or(1)),
    }
    if args.requests == Some(0) {
        bail!("-n 0: the number of requests must be at least 1");
    }
    if args.concurrency == 0 {
        bail!("-c 0: the concurrency must be at least 1");
    }
    if let Some(proxy) = &args.proxy {
        plan.proxy = Some(parse_proxy(proxy)?);
    }
    plan.validate().map_err(|e| match e {
        PlanError::ConcurrencyAboveRequests {
            concurrency,
            requests,
        } => anyhow::anyhow!(
            "-c {concurrency} is greater than -n {requests}: cannot use more connections than requests; lower -c or raise -n"
        ),
        other => anyhow::Error::new(other),
    })?;
    Ok(plan)
}

fn read_body(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read the {flag} file {}: check the path and its permissions",
            path.display()
        )
    })
}

fn parse_proxy(spec: &str) -> anyhow::Result<Proxy> {
    let (host, port) = match spec.rsplit_once(':') {
        Some((h, p)) => {
            let port = p.parse::<u16>().ok().filter(|&p| p > 0).with_context(|| {
                format!("invalid -X {spec:?}: the port must be a number from 1 to 65535")
            })?;
            (h, port)
        }
        None => (spec, 80),
    };
    if host.is_empty() {
        bail!("invalid -X {spec:?}: expected proxy:port, e.g. -X 127.0.0.1:3128");
    }
    Ok(Proxy {
        host: host.trim_matches(['[', ']']).into(),
        port,
    })
}

pub(crate) fn usage() -> &'static str {
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
