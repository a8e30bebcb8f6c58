//! What `speedup lab --out DIR` may touch: a new or empty folder, or one
//! holding an earlier lab report (whose own files it replaces, leaving any
//! other file alone); anything else only with `--force`, and a regular file
//! never. Ctrl-C and SIGTERM leave no temporary folder behind.

mod ab_support;
mod lab_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ab_support::finish_within;
use lab_support::{entries, lab_output, scratch, spawn_as_from_a_terminal};

/// What the default scenarios write.
const REPORT: [&str; 7] = [
    "async.csv",
    "async.txt",
    "baseline.csv",
    "baseline.txt",
    "cdf.svg",
    "index.html",
    "summary.json",
];

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `names` with `extra` added, sorted as [`entries`] lists them.
fn with(names: &[&str], extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = names.iter().chain(extra).map(|s| s.to_string()).collect();
    all.sort();
    all
}

#[test]
fn a_folder_of_other_files_is_refused_and_left_alone() {
    let dir = scratch("foreign");
    let out_dir = dir.join("work");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("thesis.txt"), "years of work").unwrap();
    let out = lab_output(&out_dir, &[]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("--out {}", out_dir.display())) && err.contains("thesis.txt"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert!(!err.contains("requests to"), "ran before refusing: {err}");
    assert_eq!(entries(&out_dir), ["thesis.txt"]);
    assert_eq!(entries(&dir), ["work"]);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("thesis.txt")).unwrap(),
        "years of work"
    );
}

#[test]
fn force_writes_the_report_beside_other_files() {
    let dir = scratch("force");
    std::fs::write(dir.join("thesis.txt"), "years of work").unwrap();
    let out = lab_output(&dir, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(entries(&dir), with(&REPORT, &["thesis.txt"]));
    assert_eq!(
        std::fs::read_to_string(dir.join("thesis.txt")).unwrap(),
        "years of work"
    );
    // Now a lab report: the next run needs no --force, and still keeps it.
    let again = lab_output(&dir, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(entries(&dir), with(&REPORT, &["thesis.txt"]));
}

#[test]
fn a_regular_file_at_out_is_refused_even_with_force() {
    let dir = scratch("file");
    let file = dir.join("notes");
    std::fs::write(&file, "keep me").unwrap();
    for extra in [&[][..], &["--force"]] {
        let out = lab_output(&file, extra);
        let err = stderr(&out);
        assert!(!out.status.success(), "{extra:?}: {err}");
        assert!(
            err.contains(&format!("--out {}", file.display())) && err.contains("not a folder"),
            "{err}"
        );
        assert!(!err.contains("requests to"), "ran before refusing: {err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
        assert_eq!(entries(&dir), ["notes"]);
    }
}

#[test]
fn a_second_run_replaces_only_the_labs_own_files() {
    let dir = scratch("replace");
    let out_dir = dir.join("report");
    let first = lab_output(
        &out_dir,
        &["--scenario", "first=/async/sleep/0.01", "--no-warmup"],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::write(out_dir.join("notes.txt"), "mine").unwrap();
    let second = lab_output(
        &out_dir,
        &["--scenario", "second=/async/sleep/0.01", "--no-warmup"],
    );
    assert!(second.status.success(), "{}", stderr(&second));
    // The first run's files are gone (they were the lab's), the user's stays.
    assert_eq!(
        entries(&out_dir),
        [
            "cdf.svg",
            "index.html",
            "notes.txt",
            "second.csv",
            "second.txt",
            "summary.json"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "mine"
    );
    // No temporary folder is left beside it or in it.
    assert_eq!(entries(&dir), ["report"]);
    // The progress line shows the run's real duration, to the millisecond.
    let err = stderr(&second);
    let line = err
        .lines()
        .find(|l| l.starts_with("second: 20 requests in "))
        .unwrap();
    let secs = line.rsplit(' ').nth(1).unwrap();
    assert_eq!(secs.split('.').nth(1).map(str::len), Some(3), "{line}");

    // A user's file that a scenario would overwrite is refused by name,
    // and the folder stays as it was.
    let before = entries(&out_dir);
    let third = lab_output(
        &out_dir,
        &["--scenario", "notes=/async/sleep/0.01", "--no-warmup"],
    );
    let err = stderr(&third);
    assert!(!third.status.success(), "{err}");
    assert!(
        err.contains("notes.txt") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(entries(&out_dir), before);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

/// Starts a lab slow enough to interrupt (2 × 2 requests of 2 s) into
/// `out`, and waits (bounded) for its temporary folder, in `out` or beside
/// it.
fn slow_lab_started(out: &Path) -> std::process::Child {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_speedup"));
    cmd.args([
        "lab",
        "--requests",
        "2",
        "--concurrency",
        "2",
        "--sleep",
        "2",
    ])
    .args(["--no-warmup", "--out"])
    .arg(out);
    let child = spawn_as_from_a_terminal(cmd);
    let begun = Instant::now();
    let prefix = format!(".{name}.tmp-");
    let places = [out, out.parent().unwrap()];
    while !places
        .iter()
        .any(|p| entries(p).iter().any(|e| e.starts_with(&prefix)))
    {
        assert!(
            begun.elapsed() < Duration::from_secs(30),
            "no {prefix}* folder in or beside {}",
            out.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

fn send(child: &std::process::Child, signal: libc::c_int) {
    // SAFETY: sends a signal to our own child process.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill");
}

#[test]
fn ctrl_c_leaves_no_temporary_folder() {
    let dir = scratch("sigint");
    let out_dir = dir.join("report");
    let child = slow_lab_started(&out_dir);
    send(&child, libc::SIGINT);
    let out = finish_within(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert_eq!(entries(&dir), Vec::<String>::new());
}

#[test]
fn sigterm_leaves_an_earlier_report_as_it_was() {
    let dir = scratch("sigterm");
    let first = lab_output(&dir, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let summary = std::fs::read(dir.join("summary.json")).unwrap();
    let child = slow_lab_started(&dir);
    send(&child, libc::SIGTERM);
    let out = finish_within(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert_eq!(entries(&dir), REPORT);
    assert_eq!(std::fs::read(dir.join("summary.json")).unwrap(), summary);
    let parent = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        !entries(parent)
            .iter()
            .any(|e| e.starts_with(&format!(".{name}.tmp-"))),
        "a temporary folder is left in {}",
        parent.display()
    );
}
