//! What the lab's tests share: a scratch folder, runs of `speedup lab`
//! (one that hands back its `summary.json`, a quick one, one started as from
//! a terminal), a folder's names, and reading numbers.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A fresh, empty folder for one test's report.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-lab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `speedup lab ARGS --out DIR` and returns its summary.json.
pub fn lab(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .arg("lab")
        .args(args)
        .arg("--out")
        .arg(dir)
        .output()
        .expect("speedup lab runs");
    assert!(
        out.status.success(),
        "lab {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json parses")
}

/// A JSON number, or a failed test that says what was there instead.
pub fn num(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// `speedup lab` with small, quick numbers (20 requests, 5 at a time,
/// 10 ms sleeps) into `out`, plus `extra` flags, to the end.
pub fn lab_output(out: &Path, extra: &[&str]) -> Output {
    quick_lab(out, extra).output().expect("speedup lab runs")
}

/// The command [`lab_output`] runs.
pub fn quick_lab(out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_speedup"));
    cmd.args(["lab", "--requests", "20", "--concurrency", "5"])
        .args(["--sleep", "0.01", "--out"])
        .arg(out)
        .args(extra);
    cmd
}

/// The names in `dir`, sorted (none if it does not exist).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Starts `cmd` with piped output and SIGINT's default action restored, as
/// a terminal starts a program (a test harness run in the background may
/// have it ignored).
pub fn spawn_as_from_a_terminal(mut cmd: Command) -> Child {
    use std::os::unix::process::CommandExt;
    // SAFETY: only `signal`, which is async-signal-safe, runs in the child
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start speedup")
}
