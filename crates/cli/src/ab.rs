//! `speedup ab`: a drop-in Apache Bench 2.3. Same flags, same request, same
//! report, `-e` CSV and `-g` TSV, on the speedup load engine.
//!
//! This module turns ab's flags into a validated [`Plan`], runs the engine
//! with one [`AbTally`] per worker thread (plus a watcher thread for ab's
//! progress lines and abort rules), then hands the merged tally to the ab
//! renderers of `speedup-report`.

mod flags;
mod request;
mod verbose;
mod watch;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use speedup_load::{Plan, RunOutput};
use speedup_report::ab::{self as render, AbOptions, AbReport, AbTally, HtmlAttrs, LiveErrors};

pub use flags::AbArgs;
use flags::{plan, usage};
use watch::Abort;

/// Runs `speedup ab`: flags to plan, ab's preamble, the run, then ab's
/// report and data files.
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
    let request = speedup_load::request::build_request(&plan);
    let every = watch::heartbeat_every(plan.requests.unwrap_or(0), args.quiet);
    preamble(&args, &plan, &request, every)?;

    let live = Arc::new(LiveErrors::default());
    let start_epoch_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let (output, abort) = measure(&args, &plan, &live, every);
    let output = output.context("the run could not start")?;
    let mut report = AbReport::from_run(
        &plan,
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
    let counts = &report.counts;
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
    report.body_sent = plan
        .body
        .as_ref()
        .map(|_| counts.complete * request.len() as u64);
    report.start_epoch_us = start_epoch_us;
    report.utc_offset_secs = utc_offset_secs(start_epoch_us);
    print_report(&args, &report, every)?;
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

/// What ab prints before the run: its banner (as HTML with `-w`), the
/// "Benchmarking" line, and with `-v 2` the request.
fn preamble(args: &AbArgs, plan: &Plan, request: &[u8], every: u64) -> std::io::Result<()> {
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
        write!(stdout, "Benchmarking {} ", plan.target.host)?;
        if let Some(p) = &plan.proxy {
            write!(stdout, "[through {}:{}] ", p.host, p.port)?;
        }
        let tail = if every > 0 { "\n" } else { "..." };
        write!(stdout, "(be patient){tail}")?;
    }
    // ab prints the request after the "Benchmarking" line.
    if args.verbosity >= 2 {
        let text = String::from_utf8_lossy(request);
        write!(
            stdout,
            "INFO: {} header == \n---\n{text}\n---\n",
            plan.method
        )?;
    }
    stdout.flush()
}

/// Runs the engine with a tally per worker thread, beside a watcher thread
/// that prints ab's heartbeat and applies its abort rules.
fn measure(
    args: &AbArgs,
    plan: &Plan,
    live: &Arc<LiveErrors>,
    every: u64,
) -> (
    Result<RunOutput<verbose::Traced>, speedup_load::RunError>,
    Option<Abort>,
) {
    let control = speedup_load::Control::new();
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let watcher = s.spawn(|| watch::watch(&control, live, args.keep_going, every, &finished));
        let output = speedup_load::run(
            plan,
            || verbose::Traced::new(AbTally::new(Some(Arc::clone(live))), args.verbosity),
            &control,
        );
        finished.store(true, Ordering::Release);
        let abort = watcher.join().unwrap_or(None);
        (output, abort)
    })
}

/// ab's closing progress line and its report, as text or (`-w`) HTML.
fn print_report(args: &AbArgs, report: &AbReport, every: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    if every > 0 {
        eprintln!("Finished {} requests", report.counts.complete);
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
        render::write_html(report, &attrs, &mut out)?;
    } else {
        render::write_text(report, &mut out)?;
    }
    out.flush()?;
    Ok(())
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
