//! The interval log read by an independent implementation: Python's
//! `hdrhistogram` package (`pip install hdrhistogram`) decodes the log a run
//! wrote and finds the same count and percentiles as the run itself, the
//! uncorrected series (`Tag=uncorrected`) read apart.

mod support;

use std::collections::HashMap;
use std::process::Command;

use speedup_bench::SeriesWriters;
use support::{bench, file, one_at_a_time, scratch, stalling_server};

#[test]
#[ignore = "needs python3 with hdrhistogram (pip install hdrhistogram)"]
fn python_hdrhistogram_reads_the_interval_log() {
    let base = stalling_server(None);
    let dir = scratch("python");
    let log = dir.join("run.hlog");
    let r = {
        let _turn = one_at_a_time();
        bench(
            &["--rate", "500", "-c", "10", "-d", "2s", &format!("{base}/")],
            SeriesWriters {
                timeline: None,
                hdr_log: file(&log),
                ..SeriesWriters::default()
            },
        )
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/read_hlog.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&log)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 {script} failed (is `hdrhistogram` installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let got: HashMap<&str, u64> = text
        .lines()
        .filter(|l| !l.starts_with("value "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k, v.parse().expect("a number")))
        .collect();
    let h = &r.tally.corrected;
    assert!(got["intervals"] >= 2, "{text}");
    assert_eq!(got["count"], h.len(), "{text}");
    assert_eq!(got["count"], 1000, "{text}");
    // The uncorrected series rides along, tagged, one per second.
    assert_eq!(got["tagged"], got["intervals"], "{text}");
    assert_eq!(got["tagged_count"], r.tally.uncorrected.len(), "{text}");
    // Where both libraries' rank rules agree (exact ranks), the same values.
    assert_eq!(got["p50"], h.value_at_percentile(50.0), "{text}");
    assert_eq!(got["p99"], h.value_at_percentile(99.0), "{text}");
    assert_eq!(got["max"], h.max(), "{text}");
    // And the same distribution, bucket by bucket.
    let theirs: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("value "))
        .map(|l| {
            let (v, n) = l.split_once(' ').expect("value N");
            (v.parse().expect("value"), n.parse().expect("count"))
        })
        .collect();
    let ours: Vec<(u64, u64)> = h
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect();
    assert_eq!(theirs, ours);
}
