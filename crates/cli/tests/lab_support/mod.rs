//! What the lab's tests share: a scratch folder, a run of `speedup lab`
//! that hands back its `summary.json`, and reading numbers.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

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
