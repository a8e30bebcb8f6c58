//! The workspace's resolved dependency graph, as `cargo metadata --locked`
//! gives it for this host (no network, no build), for the tests that hold
//! the dependencies to account (`msrv`, `dependencies`).

use std::process::Command;

/// `cargo metadata --format-version 1 --locked --filter-platform HOST`,
/// parsed.
pub fn cargo_metadata() -> serde_json::Value {
    // The host's dependencies only: the ones a build here has fetched.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let info = String::from_utf8_lossy(&rustc.stdout).into_owned();
    let host = info
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", host])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}
