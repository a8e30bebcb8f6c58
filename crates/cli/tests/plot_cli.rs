//! `speedup plot` end to end: the binary reads ab CSVs and writes SVG or
//! PNG, and bad input fails with the file and line named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    assert!(stderr(&out).contains("NAME=FILE.csv"), "{}", stderr(&out));

    let out = plot(&dir, &["-o", "no/such/dir/chart.svg", "a.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("-o no/such/dir/chart.svg"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}
