//! `speedup lab --chapter` and `--sweep` end to end: the series' facts, read
//! back from `summary.json` as models (who waits for whom), never as speeds.

mod lab_support;

use std::process::Command;

use serde_json::Value;

use lab_support::{lab, num, scratch};

/// The chapter `id` of a summary.
fn chapter<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["chapters"]
        .as_array()
        .and_then(|chapters| chapters.iter().find(|c| c["chapter"] == id))
        .unwrap_or_else(|| panic!("no chapter {id} in {summary}"))
}

/// The scenario `name` of a chapter.
fn scenario<'a>(chapter: &'a Value, name: &str) -> &'a Value {
    chapter["scenarios"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no scenario {name} in {chapter}"))
}

#[test]
fn cpu_chapter_shows_who_holds_the_loop_and_the_gil() {
    let dir = scratch("cpu");
    let summary = lab(&dir, &["--chapter", "cpu"]);
    let cpu = chapter(&summary, "cpu");
    let compute = num(&cpu["ideal_ms"]);
    assert!(cpu["fibo_n"]
        .as_u64()
        .is_some_and(|n| (20..=40).contains(&n)));
    assert!(
        compute >= 50.0 || cpu["fibo_n"] == 40,
        "calibrated {compute} ms"
    );
    for name in [
        "cpu baseline",
        "cpu async",
        "cpu pool",
        "cpu baseline --gil",
    ] {
        let s = scenario(cpu, name);
        assert_eq!(s["requests"], 100, "{name}");
        assert_eq!(s["non_2xx"], 0, "{name}");
        assert_eq!(s["failures"], 0, "{name}");
    }
    let probe = |name| num(&scenario(cpu, name)["probe_ms"]);
    // Inline computations hold the serving threads (every one has some
    // queued at c=10): the probe waits behind at least part of one; on the
    // CPU pool it does not.
    assert!(
        probe("cpu async") >= 100.0 + compute / 2.0,
        "probe during /async/fibo: {} ms (one computation {compute} ms)",
        probe("cpu async")
    );
    assert!(
        probe("cpu pool") < probe("cpu async"),
        "pool probe {} ms vs async probe {} ms",
        probe("cpu pool"),
        probe("cpu async")
    );
    // With --gil the baseline's threads take turns: the server counted waits.
    assert!(cpu["gil_waits"].as_u64().is_some_and(|w| w >= 1), "{cpu}");
    for file in [
        "cpu.svg",
        "cpu-baseline.csv",
        "cpu-baseline-gil.txt",
        "index.html",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for id in [
        "id=\"cpu\"",
        "id=\"cpu-chart\"",
        "id=\"cpu-table\"",
        "id=\"cpu-why\"",
    ] {
        assert!(page.contains(id), "{id} missing from the page");
    }
    // Without the io chapter there is no article chart.
    assert!(!page.contains("id=\"cdf-chart\"") && !dir.join("cdf.svg").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn mixed_and_stall_chapters_answer_and_the_stall_caps_throughput() {
    let dir = scratch("mixed");
    let summary = lab(&dir, &["--chapter", "mixed", "--chapter", "stall"]);
    let mixed = chapter(&summary, "mixed");
    assert_eq!(mixed["fibo_n"], 20);
    assert!((num(&mixed["ideal_ms"]) - 6.765).abs() < 1e-9);
    for name in ["mixed baseline", "mixed async"] {
        let s = scenario(mixed, name);
        assert_eq!(
            (s["requests"].as_u64(), s["non_2xx"].as_u64()),
            (Some(1000), Some(0))
        );
        assert!(num(&s["p50_ms"]) >= 6.765, "{s}");
    }
    let stall = chapter(&summary, "stall");
    let blocking = scenario(stall, "stall blocking");
    let timers = scenario(stall, "stall async");
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    // Each of the `cores` serving threads serves at most 10 sleeps of 100 ms
    // a second.
    assert!(
        num(&blocking["rps"]) <= cores * 10.0 * 1.2,
        "stall served {} req/s on {cores} serving threads",
        num(&blocking["rps"])
    );
    assert!(num(&timers["rps"]) > num(&blocking["rps"]) * 3.0);
    assert_eq!(blocking["failures"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plot_sweep_says_what_is_missing() {
    let dir = scratch("nosweep");
    let json = dir.join("summary.json");
    std::fs::write(&json, r#"{"requests": 1, "scenarios": []}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["plot", "--sweep", "-o"])
        .arg(dir.join("x.svg"))
        .arg(&json)
        .output()
        .expect("speedup plot runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has no sweep: run `speedup lab --sweep`"),
        "{stderr}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_speedup"))
        .args(["lab", "--chapter", "gpu"])
        .output()
        .expect("speedup lab runs");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--chapter") && stderr.contains("io, cpu, mixed, stall, capacity or all"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
