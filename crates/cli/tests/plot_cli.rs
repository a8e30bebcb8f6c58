//! `speedup plot` end to end: the binary reads ab CSVs, interval logs and
//! bench results and writes SVG or PNG (nothing else), and bad input fails
//! with the file and line named, its control characters escaped, within
//! bounded memory; impossible sweeps are refused.

mod hlog_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-plot-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes an ab-format CSV whose row `p` is `ms(p)`.
fn write_csv(path: &Path, ms: impl Fn(u32) -> f64) {
    let mut text = String::from("Percentage served,Time in ms\n");
    for p in 0..=100 {
        text.push_str(&format!("{p},{:.3}\n", ms(p)));
    }
    std::fs::write(path, text).unwrap();
}

fn plot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_speedup"))
        .current_dir(dir)
        .arg("plot")
        .args(args)
        .output()
        .expect("speedup runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn svg_with_named_series_and_ideal() {
    let dir = scratch("svg");
    write_csv(&dir.join("baseline.csv"), |p| 100.0 + f64::from(p) * 2.0);
    write_csv(&dir.join("async.csv"), |p| 100.0 + f64::from(p) * 0.05);
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/data/real-ab-n200.csv");
    let real_arg = format!("real ab={}", real.display());
    let out = plot(
        &dir,
        &[
            "-o",
            "chart.svg",
            "--ideal",
            "100",
            "--title",
            "A & B",
            "baseline.csv",
            "async timers=async.csv",
            &real_arg,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("chart.svg")).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // plotters writes each label on its own line inside `<text>`.
    for text in ["baseline", "async timers", "real ab", "ideal", "A &amp; B"] {
        assert!(
            svg.contains(&format!(">\n{text}\n</text>")),
            "missing {text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn png_output_by_extension_with_log_axis() {
    let dir = scratch("png");
    write_csv(&dir.join("a.csv"), |p| 1.0 + f64::from(p) * 3.0);
    let out = plot(&dir, &["-o", "chart.PNG", "--log-x", "a.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let png = std::fs::read(dir.join("chart.PNG")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(png.len() > 10_000, "only {} bytes", png.len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_csv_names_file_and_line() {
    let dir = scratch("bad");
    std::fs::write(
        dir.join("bad.csv"),
        "Percentage served,Time in ms\n0,1.0\nnope\n",
    )
    .unwrap();
    let out = plot(&dir, &["-o", "chart.svg", "bad.csv"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv:3: expected `<percent>,<ms>`"),
        "{err}"
    );
    assert!(!dir.join("chart.svg").exists(), "no chart from bad input");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_file_and_bad_flags_are_explained() {
    let dir = scratch("flags");
    let out = plot(&dir, &["-o", "chart.svg", "missing.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read missing.csv"),
        "{}",
        stderr(&out)
    );

    write_csv(&dir.join("a.csv"), f64::from);
    let out = plot(&dir, &["-o", "chart.svg", "--ideal", "-5", "a.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--ideal must be a positive number"),
        "{}",
        stderr(&out)
    );

    let out = plot(&dir, &["-o", "chart.svg", "=a.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("NAME=FILE or just FILE"),
        "{}",
        stderr(&out)
    );

    let out = plot(&dir, &["-o", "no/such/dir/chart.svg", "a.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("-o no/such/dir/chart.svg"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `speedup plot ARGS` in `dir` with its address space capped at
/// 512 MiB (as `prlimit --as` does), so a reader without a bound fails in
/// the child instead of taking the machine; waits at most 60 s.
fn plot_bounded(dir: &Path, args: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_speedup"));
    cmd.current_dir(dir)
        .arg("plot")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only setrlimit, a plain system call, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: 512 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("speedup runs");
    let begun = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if begun.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("speedup plot {args:?} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn endless_inputs_are_refused_within_bounded_memory() {
    let dir = scratch("endless");
    for args in [
        &["-o", "chart.svg", "a=/dev/zero"][..],
        &["-o", "chart.svg", "/dev/zero"],
        &["--sweep", "-o", "chart.svg", "/dev/zero"],
    ] {
        let out = plot_bounded(&dir, args);
        let err = stderr(&out);
        // Exit 1 with a message, not killed by the allocator's abort.
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("/dev/zero"), "{err}");
        assert!(err.contains("longer than"), "{err}");
        assert!(!dir.join("chart.svg").exists());
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Fails unless `err` holds no control character but its final newline.
fn assert_no_controls(err: &str) {
    assert!(
        !err.trim_end_matches('\n').chars().any(char::is_control),
        "control characters reach the terminal: {err:?}"
    );
}

#[test]
fn control_characters_in_input_are_escaped_in_errors() {
    let dir = scratch("escape");
    std::fs::write(
        dir.join("bad.csv"),
        "Percentage served\u{1b}]0;owned\u{7}\u{1b}[2J\0,Time in ms\n",
    )
    .unwrap();
    let out = plot(&dir, &["-o", "chart.svg", "bad.csv"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert_no_controls(&err);
    assert!(err.contains(r"\u{1b}]0;owned\u{7}\u{1b}[2J\0"), "{err}");

    // File names and series names are input too.
    for arg in ["\u{1b}[2Jmissing.csv", "a\u{1b}[2J=missing.csv"] {
        let out = plot(&dir, &["-o", "chart.svg", arg]);
        let err = stderr(&out);
        assert!(!out.status.success());
        assert_no_controls(&err);
        assert!(err.contains("missing.csv"), "{err}");
    }
    // A sweep's endpoint, escaped in JSON, is an escape sequence once read.
    let json = sweep_json(&[(r"b\u001b[2J", 1, 105.0, 101.0)]);
    std::fs::write(dir.join("s.json"), json).unwrap();
    let out = plot(&dir, &["--sweep", "-o", "chart.svg", "s.json"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "drawn");
    assert_no_controls(&err);
    assert!(err.contains(r"s.json: point 1 (b\u{1b}[2J at"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A `summary.json` with the sweep points given as `(endpoint, c, p50, p95)`.
fn sweep_json(points: &[(&str, i64, f64, f64)]) -> String {
    let points: Vec<String> = points
        .iter()
        .map(|(e, c, p50, p95)| {
            format!(
                "{{\"endpoint\": \"{e}\", \"concurrency\": {c}, \"requests\": 20, \"rps\": 100.0, \
                 \"p50_ms\": {p50}, \"p95_ms\": {p95}, \"bad\": 0}}"
            )
        })
        .collect();
    format!(
        "{{\"schema\": \"speedup-lab/1\", \"sweep\": {{\"ideal_ms\": 100.0, \"pool_threads\": 40, \
         \"points\": [{}]}}}}",
        points.join(", ")
    )
}

#[test]
fn impossible_sweeps_are_refused_with_the_point_named() {
    let dir = scratch("sweep");
    let good = [
        ("baseline", 1, 101.0, 102.0),
        ("baseline", 10, 101.0, 105.0),
    ];
    std::fs::write(dir.join("good.json"), sweep_json(&good)).unwrap();
    let out = plot(&dir, &["--sweep", "-o", "good.svg", "good.json"]);
    assert!(out.status.success(), "{}", stderr(&out));

    for (points, expected) in [
        (
            [("baseline", 1, -5.0, 102.0), ("baseline", 10, 101.0, 105.0)],
            "bad.json: point 1 (baseline at concurrency 1): p50_ms must be a number of ms of at least 0, found -5",
        ),
        (
            [("baseline", 0, 101.0, 102.0), ("baseline", 10, 101.0, 105.0)],
            "bad.json: point 1 (baseline at concurrency 0): concurrency must be at least 1",
        ),
        (
            [("baseline", 1, 101.0, 102.0), ("baseline", 10, 105.0, 101.0)],
            "bad.json: point 2 (baseline at concurrency 10): p95_ms 101 is below p50_ms 105",
        ),
        (
            [("baseline", 10, 101.0, 102.0), ("baseline", 1, 101.0, 105.0)],
            "bad.json: point 2 (baseline at concurrency 1): concurrency must rise within an endpoint",
        ),
    ] {
        std::fs::write(dir.join("bad.json"), sweep_json(&points)).unwrap();
        let out = plot(&dir, &["--sweep", "-o", "bad.svg", "bad.json"]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{points:?} drawn");
        assert!(err.contains(expected), "{err}");
        assert!(!dir.join("bad.svg").exists());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_output_that_is_not_svg_or_png_is_refused_naming_the_flag() {
    let dir = scratch("extension");
    write_csv(&dir.join("a.csv"), f64::from);
    for name in ["chart.pdf", "chart", "chart.svg.bak"] {
        let out = plot(&dir, &["-o", name, "a.csv"]);
        assert!(!out.status.success(), "{name} written");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("-o {name}")) && err.contains("FILE.svg or FILE.png"),
            "{err}"
        );
        assert!(!dir.join(name).exists(), "{name} exists");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn logs_and_bench_results_are_drawn_as_the_whole_spectrum() {
    let dir = scratch("spectrum");
    // A second with a 1.9 ms stall among ~1 ms latencies, corrected, with
    // its uncorrected series.
    let lines = hlog_support::seconds(6, 500, |s, k| {
        if s == 2 && k < 10 {
            1_900
        } else {
            900 + k % 200
        }
    });
    let uncorrected = hlog_support::seconds(6, 500, |_, k| 900 + k % 200);
    hlog_support::marked_log(
        &dir,
        "run.hlog",
        "corrected",
        &hlog_support::tagged(&lines, &uncorrected),
    );
    let figures = r#"{"count": 10, "min": 0.5, "mean": 1.0, "stdev": 0.1, "max": 9.0, "p50": 1.0,
        "p75": 1.1, "p90": 1.2, "p95": 1.3, "p99": 2.0, "p99.9": 8.0, "p99.99": 9.0}"#;
    std::fs::write(
        dir.join("run.json"),
        format!(r#"{{"schema": "speedup-bench/1", "latency_ms": {{"corrected": null, "uncorrected": {figures}}}}}"#),
    )
    .unwrap();
    write_csv(&dir.join("ab.csv"), |p| 1.0 + f64::from(p) / 100.0);
    let out = plot(
        &dir,
        &[
            "-o",
            "s.svg",
            "--ideal",
            "1",
            "run.hlog",
            "json=run.json",
            "ab.csv",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("percentile spectrum, 4 lines"),
        "{}",
        stderr(&out)
    );
    let svg = std::fs::read_to_string(dir.join("s.svg")).unwrap();
    for text in [
        "run (corrected)",
        "run (uncorrected)",
        "json (uncorrected)",
        "ab",
        "99.9%",
        "max",
        "ideal (1 ms)",
    ] {
        assert!(
            svg.contains(&format!(">\n{text}\n</text>")),
            "missing {text}"
        );
    }
    // A CSV alone stays a CDF, unless --spectrum.
    let out = plot(&dir, &["-o", "cdf.svg", "ab.csv"]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(dir.join("cdf.svg"))
        .unwrap()
        .contains("Requests served (%)"));
    let out = plot(&dir, &["-o", "abs.png", "--spectrum", "ab.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(dir.join("abs.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    let out = plot(&dir, &["-o", "x.svg", "--log-x", "run.hlog"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--log-x is for the CDF"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}
