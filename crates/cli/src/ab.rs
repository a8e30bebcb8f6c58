//! `speedup ab`: a drop-in Apache Bench 2.3. Same flags, same request, same
//! report, `-e` CSV and `-g` TSV, on the speedup load engine.
//!
//! This module turns ab's flags into a validated [`Plan`], runs the engine
//! with one [`AbTally`] per worker thread (plus a watcher thread for ab's
//! progress lines and abort rules), then hands the merged tally to the ab
//! renderers of `speedup-report`.

mod request;
mod verbose;
mod watch;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use speedup_load::{HttpVersion, Plan, PlanError, Proxy, Target};
use speedup_report::ab::{self as render, AbOptions, AbReport, AbTally, HtmlAttrs, LiveErrors};

use watch::Abort;

/// ab's request count for a time-limited run (`-t` implies `-n 50000`).
const TIMED_REQUESTS: u64 = 50_000;

/// Flags of `speedup ab`: Apache Bench's letters and meanings.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct AbArgs {
    /// Number of requests to perform (default 1; 50000 with -t)
    #[arg(short = 'n', value_name = "requests")]
    requests: Option<u64>,
    /// Number of multiple requests to make at a time
    #[arg(short = 'c', value_name = "concurrency", default_value_t = 1)]
    concurrency: u32,
    /// Seconds to max. to spend on benchmarking; implies -n 50000
    #[arg(short = 't', value_name = "timelimit")]
    timelimit: Option<u64>,
    /// Seconds to max. wait for each response
    #[arg(short = 's', value_name = "timeout", default_value_t = 30)]
    timeout: u64,
    /// Size of TCP send/receive buffer, in bytes (accepted, ignored)
    #[arg(short = 'b', value_name = "windowsize")]
    windowsize: Option<u32>,
    /// Address to bind to for outgoing connections (accepted, ignored)
    #[arg(short = 'B', value_name = "address")]
    bind: Option<String>,
    /// File containing data to POST. Remember also to set -T
    #[arg(short = 'p', value_name = "postfile")]
    postfile: Option<PathBuf>,
    /// File containing data to PUT. Remember also to set -T
    #[arg(short = 'u', value_name = "putfile")]
    putfile: Option<PathBuf>,
    /// Content-type header for POST/PUT data (default text/plain)
    #[arg(short = 'T', value_name = "content-type")]
    content_type: Option<String>,
    /// How much troubleshooting info to print (2: the request)
    #[arg(short = 'v', value_name = "verbosity", default_value_t = 0)]
    verbosity: u32,
    /// Print out results in HTML tables
    #[arg(short = 'w')]
    html: bool,
    /// Use HEAD instead of GET
    #[arg(short = 'i')]
    head: bool,
    /// String to insert as table attributes
    #[arg(short = 'x', value_name = "attributes")]
    table_attrs: Option<String>,
    /// String to insert as tr attributes
    #[arg(short = 'y', value_name = "attributes")]
    tr_attrs: Option<String>,
    /// String to insert as td or th attributes
    #[arg(short = 'z', value_name = "attributes")]
    td_attrs: Option<String>,
    /// Add cookie, eg. 'Apache=1234' (repeatable)
    #[arg(short = 'C', value_name = "attribute")]
    cookies: Vec<String>,
    /// Add arbitrary header line, eg. 'Accept-Encoding: gzip' (repeatable)
    #[arg(short = 'H', value_name = "attribute")]
    headers: Vec<String>,
    /// Add Basic WWW Authentication: user:password
    #[arg(short = 'A', value_name = "attribute")]
    auth: Option<String>,
    /// Add Basic Proxy Authentication: user:password
    #[arg(short = 'P', value_name = "attribute")]
    proxy_auth: Option<String>,
    /// Proxy server and port number to use
    #[arg(short = 'X', value_name = "proxy:port")]
    proxy: Option<String>,
    /// Print version number and exit
    #[arg(short = 'V', long = "version")]
    version: bool,
    /// Use HTTP KeepAlive feature
    #[arg(short = 'k')]
    keep_alive: bool,
    /// Do not show percentiles served table
    #[arg(short = 'd')]
    no_percentiles: bool,
    /// Do not show confidence estimators and warnings
    #[arg(short = 'S')]
    no_confidence: bool,
    /// Do not show progress when doing more than 150 requests
    #[arg(short = 'q')]
    quiet: bool,
    /// Accept variable document length (use this for dynamic pages)
    #[arg(short = 'l')]
    variable_length: bool,
    /// Output collected data to gnuplot format file
    #[arg(short = 'g', value_name = "filename")]
    gnuplot: Option<PathBuf>,
    /// Output CSV file with percentages served
    #[arg(short = 'e', value_name = "filename")]
    csv: Option<PathBuf>,
    /// Don't exit on socket receive errors
    #[arg(short = 'r')]
    keep_going: bool,
    /// Method name
    #[arg(short = 'm', value_name = "method")]
    method: Option<String>,
    /// Display usage information (this message)
    #[arg(short = 'h', long = "help")]
    help: bool,
    /// http://hostname[:port]/path
    #[arg(value_name = "URL")]
    url: Option<String>,
}

/// Runs `speedup ab`.
pub fn run(args: AbArgs) -> anyhow::Result<ExitCode> {
    if args.help {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    }
    if args.version {
        print!("{}", banner());
        return Ok(ExitCode::SUCCESS);
    }
    let plan = plan(&args)?;
    if args.windowsize.is_some() || args.bind.is_some() {
        eprintln!("speedup ab: note: -b and -B are accepted for compatibility and ignored");
    }
    let mut stdout = std::io::stdout().lock();
    if args.html {
        let b = banner().replace('<', "&lt;").replace('>', "&gt;");
        let mut lines = b.lines();
        let first = lines.next().unwrap_or_default();
        let (name, rev) = first.split_once(" &lt;").unwrap_or((first, ""));
        write!(stdout, "<p>\n {name} <i>&lt;{rev}</i><br>\n")?;
        for l in lines.filter(|l| !l.is_empty()) {
            writeln!(stdout, " {l}<br>")?;
        }
        write!(stdout, "</p>\n<p>\n")?;
    } else {
        writeln!(stdout, "{}", banner())?;
    }
    let request = speedup_load::request::build_request(&plan);
    let every = watch::heartbeat_every(plan.requests.unwrap_or(0), args.quiet);
    if !args.html {
        write!(stdout, "Benchmarking {} ", plan.target.host)?;
        if let Some(p) = &plan.proxy {
            write!(stdout, "[through {}:{}] ", p.host, p.port)?;
        }
        write!(
            stdout,
            "(be patient){}",
            if every > 0 { "\n" } else { "..." }
        )?;
    }
    // ab prints the request after the "Benchmarking" line.
    if args.verbosity >= 2 {
        let text = String::from_utf8_lossy(&request);
        write!(
            stdout,
            "INFO: {} header == \n---\n{text}\n---\n",
            plan.method
        )?;
    }
    stdout.flush()?;
    drop(stdout);

    let live = Arc::new(LiveErrors::default());
    let control = speedup_load::Control::new();
    let finished = AtomicBool::new(false);
    let start_epoch_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let (output, abort) = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch::watch(&control, &live, args.keep_going, every, &finished));
        let output = speedup_load::run(
            &plan,
            || verbose::Traced::new(AbTally::new(Some(live.clone())), args.verbosity),
            &control,
        );
        finished.store(true, Ordering::Release);
        let abort = watcher.join().unwrap_or(None);
        (output, abort)
    });
    let output = output.context("the run could not start")?;
    let tally = AbTally::merge_all(output.recorders.into_iter().map(|t| t.tally));
    let (counts, samples) = tally.finish(args.variable_length);
    let never_connected =
        (counts.complete == 0 && counts.err_connect > 0).then_some(Abort::NeverConnected);
    let abort = abort
        .or_else(|| watch::abort_reason(&live, args.keep_going))
        .or(never_connected);
    if let Some(abort) = abort {
        eprintln!("{}", abort_message(abort, &plan, &args));
        if counts.complete > 0 {
            println!("Total of {} requests completed", counts.complete);
        }
        return Ok(ExitCode::FAILURE);
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    if every > 0 {
        eprintln!("Finished {} requests", counts.complete);
    } else {
        writeln!(out, "..done")?;
    }
    let body_sent = plan
        .body
        .as_ref()
        .map(|_| counts.complete * request.len() as u64);
    let report = AbReport {
        server_software: output.server_header.unwrap_or_default(),
        host: plan.target.host.clone(),
        port: plan.target.port,
        path: plan.target.path.clone(),
        concurrency: plan.concurrency,
        elapsed: output.elapsed,
        counts,
        samples,
        body_sent,
        start_epoch_us,
        utc_offset_secs: utc_offset_secs(start_epoch_us),
        options: AbOptions {
            keep_alive: args.keep_alive,
            variable_length: args.variable_length,
            confidence: !args.no_confidence,
            percentiles: !args.no_percentiles,
        },
    };
    if args.html {
        let defaults = HtmlAttrs::default();
        let attrs = HtmlAttrs {
            table: args.table_attrs.clone().unwrap_or(defaults.table),
            tr: args.tr_attrs.clone().unwrap_or(defaults.tr),
            td: args.td_attrs.clone().unwrap_or(defaults.td),
        };
        render::write_html(&report, &attrs, &mut out)?;
    } else {
        render::write_text(&report, &mut out)?;
    }
    out.flush()?;
    // ab writes its data files only when something completed.
    if !report.samples.is_empty() {
        if let Some(path) = &args.csv {
            write_file(path, "-e", |w| render::write_csv(&report.samples, w))?;
        }
        if let Some(path) = &args.gnuplot {
            write_file(path, "-g", |w| render::write_tsv(&report, w))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates the flags into a plan, before any work.
fn plan(args: &AbArgs) -> anyhow::Result<Plan> {
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

fn abort_message(abort: Abort, plan: &Plan, args: &AbArgs) -> String {
    let at = format!("{}:{}", plan.target.url_host(), plan.target.port);
    match abort {
        Abort::Connect => format!(
            "\nTest aborted after 10 failures\n\nspeedup ab: cannot connect to {at}: is the server running and listening there?"
        ),
        Abort::NeverConnected => format!(
            "\nspeedup ab: cannot connect to {at}: is the server running and listening there?"
        ),
        Abort::Receive => format!(
            "speedup ab: receive error: {at} closed or reset a connection before a full response (use -r to count such errors and go on)"
        ),
        Abort::Timeout => format!(
            "speedup ab: a response from {at} took longer than the {} s timeout (raise -s, or use -r to count timeouts and go on)",
            args.timeout
        ),
    }
}

fn write_file(
    path: &Path,
    flag: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let ctx = || format!("cannot write the {flag} file {}", path.display());
    let mut w = BufWriter::new(File::create(path).with_context(ctx)?);
    write(&mut w).with_context(ctx)?;
    w.flush().with_context(ctx)
}

/// Local time minus UTC at `epoch_us`, for the `-g` dates (ab prints local time).
fn utc_offset_secs(epoch_us: u64) -> i64 {
    let t = (epoch_us / 1_000_000) as libc::time_t;
    // SAFETY: `localtime_r` only writes into the `tm` we own and reads `t`.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff as i64
        }
    }
}

/// Our banner, in the shape of ab's three lines.
fn banner() -> String {
    format!(
        "This is speedup ab, Version {} <ApacheBench 2.3 compatible>\n\
         Report format of ApacheBench by Adam Twiss, Zeus Technology Ltd and The Apache Software Foundation\n\
         speedup is licensed MIT OR Apache-2.0\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn usage() -> &'static str {
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
