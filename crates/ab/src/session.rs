//! One `speedup ab` run from flags to report, in the steps the CLI calls:
//! [`write_preamble`] (banner, "Benchmarking"), [`measure`] (the engine
//! with a tally per worker thread, beside a watcher thread for ab's
//! heartbeat and abort rules), [`build_report`], [`write_report`] and
//! [`write_data_files`]. Every step writes to the `impl Write` it is given;
//! the CLI owns the terminal, signals and exit codes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use speedup_load::{Control, Plan, RunError, RunOutput};

use crate::flags::AbArgs;
use crate::verbose::Traced;
use crate::watch::{self, Abort};
use crate::{write_csv, write_html, write_text, write_tsv};
use crate::{AbOptions, AbReport, AbTally, HtmlAttrs, LiveErrors};

/// Our banner, in the shape of ab's three lines.
pub fn banner() -> String {
    format!(
        "This is speedup ab, Version {} <ApacheBench 2.3 compatible>\n\
         Report format of ApacheBench by Adam Twiss, Zeus Technology Ltd and The Apache Software Foundation\n\
         speedup is licensed MIT OR Apache-2.0\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// What ab prints before the run: its banner (as HTML with `-w`), the
/// "Benchmarking" line, and with `-v 2` the request.
pub fn write_preamble(
    args: &AbArgs,
    plan: &Plan,
    request: &[u8],
    every: u64,
    out: &mut impl Write,
) -> std::io::Result<()> {
    if args.html {
        let b = banner().replace('<', "&lt;").replace('>', "&gt;");
        let mut lines = b.lines();
        let first = lines.next().unwrap_or_default();
        let (name, rev) = first.split_once(" &lt;").unwrap_or((first, ""));
        write!(out, "<p>\n {name} <i>&lt;{rev}</i><br>\n")?;
        for l in lines.filter(|l| !l.is_empty()) {
            writeln!(out, " {l}<br>")?;
        }
        write!(out, "</p>\n<p>\n")?;
    } else {
        writeln!(out, "{}", banner())?;
        write!(out, "Benchmarking {} ", plan.target.host)?;
        if let Some(p) = &plan.proxy {
            write!(out, "[through {}:{}] ", p.host, p.port)?;
        }
        let tail = if every > 0 { "\n" } else { "..." };
        write!(out, "(be patient){tail}")?;
    }
    // ab prints the request after the "Benchmarking" line.
    if args.verbosity >= 2 {
        let text = String::from_utf8_lossy(request);
        write!(out, "INFO: {} header == \n---\n{text}\n---\n", plan.method)?;
    }
    out.flush()
}

/// Sets a flag when dropped, even by a panic: the watcher never outlives
/// the run it watches.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Runs the engine with a tally per worker thread (tracing to what
/// `trace_out` makes, at `-v 2` and above), beside a watcher thread that
/// writes ab's heartbeat to `progress` and applies its abort rules through
/// `control` (which the caller may also abort, on Ctrl-C).
pub fn measure(
    args: &AbArgs,
    plan: &Plan,
    control: &Control,
    live: &Arc<LiveErrors>,
    every: u64,
    trace_out: impl Fn() -> Box<dyn Write + Send> + Sync,
    progress: &mut (dyn Write + Send),
) -> (Result<RunOutput<Traced>, RunError>, Option<Abort>) {
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher =
            s.spawn(|| watch::watch(control, live, args.keep_going, every, &finished, progress));
        let output = {
            let _done = SetOnDrop(&finished);
            speedup_load::run(
                plan,
                || {
                    Traced::new(
                        AbTally::new(Some(Arc::clone(live))),
                        args.verbosity,
                        trace_out(),
                    )
                },
                control,
            )
        };
        let abort = watcher.join().unwrap_or(None);
        (output, abort)
    })
}

/// ab's report of a finished run: the tallies merged, the body total, the
/// `-g` clock fields.
pub fn build_report(
    args: &AbArgs,
    plan: &Plan,
    output: RunOutput<Traced>,
    request_len: usize,
    start_epoch_us: u64,
) -> AbReport {
    let mut report = AbReport::from_run(
        plan,
        output.elapsed,
        output.server_header,
        output.recorders.into_iter().map(|t| t.tally),
        AbOptions {
            keep_alive: args.keep_alive,
            variable_length: args.variable_length,
            confidence: !args.no_confidence,
            percentiles: !args.no_percentiles,
        },
    );
    report.body_sent = plan
        .body
        .as_ref()
        .map(|_| report.counts.complete * request_len as u64);
    if let Some(tls) = output.tls {
        report.tls_protocol = Some(crate::tls::protocol_line(&tls));
        report.tls_temp_key = crate::tls::temp_key(&tls);
        // SNI carries host names only, never addresses.
        if plan.target.host.parse::<std::net::IpAddr>().is_err() {
            report.tls_server_name = Some(plan.target.host.clone());
        }
    }
    report.start_epoch_us = start_epoch_us;
    report.utc_offset_secs = utc_offset_secs(start_epoch_us);
    report
}

/// The abort that ends this run, if any: the watcher's, one the final
/// counts show, or no connection at all.
pub fn final_abort(
    args: &AbArgs,
    report: &AbReport,
    live: &LiveErrors,
    watched: Option<Abort>,
) -> Option<Abort> {
    let counts = &report.counts;
    let never_connected =
        (counts.complete == 0 && counts.err_connect > 0).then_some(Abort::NeverConnected);
    watched
        .or_else(|| watch::abort_reason(live, args.keep_going))
        .or(never_connected)
}

/// What ab says on stderr when it gives up.
pub fn abort_message(abort: Abort, plan: &Plan, args: &AbArgs) -> String {
    let at = format!("{}:{}", plan.target.url_host(), plan.target.port);
    let (what, via) = match &plan.proxy {
        Some(p) => (
            format!("the proxy {} (-X)", host_port(&p.host, p.port)),
            format!(" through the proxy {}", host_port(&p.host, p.port)),
        ),
        None => (at.clone(), String::new()),
    };
    match abort {
        Abort::Connect => format!(
            "\nTest aborted after 10 failures\n\nspeedup ab: cannot connect to {what}: is it running and listening there?"
        ),
        Abort::NeverConnected => {
            format!("\nspeedup ab: cannot connect to {what}: is it running and listening there?")
        }
        Abort::Receive => format!(
            "speedup ab: receive error: {at}{via} closed or reset a connection before a full response, or sent bytes that are not a valid response (use -r to count such errors and go on)"
        ),
        Abort::Timeout => format!(
            "speedup ab: a response from {at}{via} took longer than the {} s timeout (raise -s, or use -r to count timeouts and go on)",
            args.timeout
        ),
    }
}

/// ab's "Total of N requests completed" (on stdout) after an abort, counting
/// only requests that were answered; `None` when none was.
pub fn completed_before_abort(report: &AbReport) -> Option<String> {
    let answered = report.counts.responses;
    (answered > 0).then(|| format!("Total of {answered} requests completed"))
}

/// ab's closing progress line and its report, as text or (`-w`) HTML.
/// `interrupted`: ab's Ctrl-C report, which has no closing line.
pub fn write_report(
    args: &AbArgs,
    report: &AbReport,
    every: u64,
    interrupted: bool,
    out: &mut impl Write,
    progress: &mut impl Write,
) -> std::io::Result<()> {
    if interrupted {
        // Cut short: ab's report follows whatever was on the line.
    } else if every > 0 {
        writeln!(progress, "Finished {} requests", report.counts.complete)?;
    } else {
        writeln!(out, "..done")?;
    }
    if args.html {
        let defaults = HtmlAttrs::default();
        let attrs = HtmlAttrs {
            table: args.table_attrs.clone().unwrap_or(defaults.table),
            tr: args.tr_attrs.clone().unwrap_or(defaults.tr),
            td: args.td_attrs.clone().unwrap_or(defaults.td),
        };
        write_html(report, &attrs, out)?;
    } else {
        write_text(report, out)?;
    }
    out.flush()
}

/// A `-e` or `-g` file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the {flag} file {}: {source}", path.display())]
pub struct FileError {
    /// `-e` or `-g`.
    pub flag: &'static str,
    /// The file as given.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// ab's `-e` CSV and `-g` TSV, written only when something completed (as ab).
pub fn write_data_files(args: &AbArgs, report: &AbReport) -> Result<(), FileError> {
    if report.samples.is_empty() {
        return Ok(());
    }
    if let Some(path) = &args.csv {
        write_file(path, "-e", |w| write_csv(&report.samples, w))?;
    }
    if let Some(path) = &args.gnuplot {
        write_file(path, "-g", |w| write_tsv(report, w))?;
    }
    Ok(())
}

fn write_file(
    path: &Path,
    flag: &'static str,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let error = |source| FileError {
        flag,
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(error)?);
    write(&mut w).map_err(error)?;
    w.flush().map_err(error)
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

/// `host:port`, IPv6 hosts in brackets.
fn host_port(host: &str, port: u16) -> String {
    format!("{}:{port}", speedup_load::url_host(host))
}
