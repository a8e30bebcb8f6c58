//! `speedup ab`: a drop-in Apache Bench 2.3, on the speedup load engine.
//!
//! Everything ab knows lives in `speedup-ab`; this module owns only the
//! terminal: it parses the flags into a plan, runs the session's steps with
//! stdout and stderr, turns Ctrl-C into ab's behaviour (stop, report what
//! finished, write the files, exit 1; a second Ctrl-C exits at once), and
//! maps the outcome to an exit code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use speedup_ab::session::{self, build_report, write_data_files, write_preamble, write_report};
use speedup_ab::{flags, watch, LiveErrors};
use speedup_load::Control;

use crate::interrupt;

pub use speedup_ab::AbArgs;

/// Runs `speedup ab`: flags to plan, ab's preamble, the run, then ab's
/// report and data files.
pub fn run(args: AbArgs) -> anyhow::Result<ExitCode> {
    if args.help {
        print!("{}", flags::usage());
        return Ok(ExitCode::SUCCESS);
    }
    if args.version {
        print!("{}", session::banner());
        return Ok(ExitCode::SUCCESS);
    }
    let plan = flags::plan(&args)?;
    // Room for the connections (ab's -c can be 20,000); a limit still too
    // low is the engine's error, with both numbers.
    crate::limits::raise_open_files(speedup_load::descriptors_needed(&plan));
    if args.windowsize.is_some() || args.bind.is_some() {
        eprintln!("speedup ab: note: -b and -B are accepted for compatibility and ignored");
    }
    let control = Arc::new(Control::new());
    let interrupted = on_ctrl_c(Arc::clone(&control))?;
    let request = speedup_load::request::build_request(&plan);
    let every = watch::heartbeat_every(plan.requests.unwrap_or(0), args.quiet);
    write_preamble(&args, &plan, &request, every, &mut std::io::stdout().lock())?;

    let live = Arc::new(LiveErrors::default());
    let start_epoch_us = speedup_ab::epoch_us_now();
    let (output, abort) = session::measure(
        &args,
        &plan,
        &control,
        &live,
        every,
        || Box::new(std::io::stdout()),
        &mut std::io::stderr(),
    );
    let report = build_report(&args, &plan, output?, request.len(), start_epoch_us);
    let interrupted = interrupted.is_set();
    let abort = if interrupted {
        None
    } else {
        session::final_abort(&args, &report, &live, abort)
    };
    if let Some(abort) = abort {
        let _ = std::io::stdout().flush();
        eprintln!("{}", session::abort_message(abort, &plan, &args));
        if let Some(line) = session::completed_before_abort(&report) {
            println!("{line}");
        }
        return Ok(ExitCode::FAILURE);
    }
    write_report(
        &args,
        &report,
        every,
        interrupted,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )?;
    write_data_files(&args, &report)?;
    // ab exits 1 after a Ctrl-C, report and files written.
    Ok(if interrupted {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Exit status of a process killed by SIGINT, for the second Ctrl-C.
const EXIT_SIGINT: i32 = 130;

/// Ctrl-C as ab handles it: the first SIGINT stops the run (nothing new is
/// sent, nothing in flight counts) so the report of what finished is
/// printed and the files written; a second SIGINT exits at once.
fn on_ctrl_c(control: Arc<Control>) -> std::io::Result<interrupt::Interrupted> {
    interrupt::watch(&[libc::SIGINT], move |n, _| match n {
        1 => control.abort(),
        _ => std::process::exit(EXIT_SIGINT),
    })
}
