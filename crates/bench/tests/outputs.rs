//! What a run writes: the JSON schema, ab's CSV read back by `speedup
//! plot`'s reader, the timeline rows, the interval log decoded by
//! HdrHistogram's reader, and `merge` adding logs exactly.

mod support;

use std::time::Duration;

use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use speedup_bench::{json, SeriesWriters};
use support::{bench, file, one_at_a_time, scratch, stalling_server};

/// Every interval of an interval log, decoded by the crate's own reader.
/// The log's intervals: tag, start and histogram.
fn read_log(path: &std::path::Path) -> Vec<(Option<String>, Duration, Histogram<u64>)> {
    let bytes = std::fs::read(path).expect("read log");
    let mut de = Deserializer::new();
    IntervalLogIterator::new(&bytes)
        .filter_map(|e| match e.expect("parsable log") {
            LogEntry::Interval(i) => {
                use base64::Engine;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(i.encoded_histogram())
                    .expect("base64");
                let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).expect("histogram");
                Some((i.tag().map(|t| t.to_string()), i.start_timestamp(), h))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn json_csv_timeline_and_interval_log_of_an_open_loop_run() {
    let base = stalling_server(Some((
        Duration::from_millis(1000),
        Duration::from_millis(300),
    )));
    let dir = scratch("outputs");
    let (timeline, hlog) = (dir.join("t.csv"), dir.join("run.hlog"));
    let _turn = one_at_a_time();
    let r = bench(
        &["--rate", "500", "-c", "20", "-d", "3s", &format!("{base}/")],
        SeriesWriters {
            timeline: file(&timeline),
            hdr_log: file(&hlog),
            ..SeriesWriters::default()
        },
    );

    // JSON: the documented keys and types.
    let v = json::to_json(&r);
    assert_eq!(v["schema"], "speedup-bench/1");
    assert_eq!(v["requests"]["total"], 1500);
    assert_eq!(v["requests"]["ok"], 1500);
    assert_eq!(v["requests"]["errors"], 0);
    assert_eq!(v["rate"]["target"], 500.0);
    assert!(v["rate"]["achieved"].as_f64().unwrap() > 450.0);
    assert!(v["late_sends"]["count"].as_u64().unwrap() > 0);
    assert!(v["late_sends"]["max_ms"].as_f64().unwrap() > 100.0);
    assert_eq!(v["status"]["200"], 1500);
    assert!(v["errors"].as_object().unwrap().is_empty());
    for kind in ["corrected", "uncorrected"] {
        let p = &v["latency_ms"][kind];
        for key in [
            "min", "mean", "stdev", "max", "p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99",
        ] {
            assert!(p[key].as_f64().is_some(), "latency_ms.{kind}.{key} in {p}");
        }
        assert!(p["p50"].as_f64() <= p["p99"].as_f64());
    }
    let closed = json::to_json(&bench(
        &["-n", "20", "-c", "2", &format!("{base}/")],
        SeriesWriters::default(),
    ));
    assert!(closed["latency_ms"]["corrected"].is_null());
    assert!(closed["rate"]["target"].is_null());

    // CSV: ab's -e format, corrected, read back by `speedup plot`'s reader.
    let csv = dir.join("run.csv");
    let mut out = Vec::new();
    json::write_ab_csv(&r.tally.corrected, &mut out).unwrap();
    std::fs::write(&csv, &out).unwrap();
    let cdf = speedup_report::cdf_csv::Cdf::from_path(&csv).expect("plot reads it");
    assert_eq!(cdf.points.len(), 101);
    let p99 = r.tally.corrected.value_at_percentile(99.0) as f64 / 1000.0;
    assert!((cdf.ms_at(99).unwrap() - p99).abs() < 0.001);

    // Timeline: a header and one row per second, the stall second's max large.
    let text = std::fs::read_to_string(&timeline).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("second,requests,errors,p50_ms,p99_ms,max_ms")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!((3..=5).contains(&rows.len()), "{text}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 6, "{text}");
        assert_eq!(row[0], i.to_string());
    }
    let total: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    assert_eq!(total, 1500);
    let worst = rows
        .iter()
        .filter_map(|r| r[5].parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(worst > 200.0, "{text}");

    // Interval log: decoded, its intervals add up to the run's corrected histogram.
    // The uncorrected series follows each second, tagged.
    let all = read_log(&hlog);
    let (intervals, tagged): (Vec<_>, Vec<_>) = all.iter().partition(|(tag, ..)| tag.is_none());
    assert_eq!(intervals.len(), rows.len());
    assert_eq!(tagged.len(), rows.len());
    let mut sum = Histogram::<u64>::new_with_max(3_600_000_000, 3).unwrap();
    let mut uncorrected = sum.clone();
    for (i, ((_, start, h), (tag, tagged_start, u))) in intervals.iter().zip(&tagged).enumerate() {
        assert_eq!(*start, Duration::from_secs(i as u64));
        assert_eq!((tag.as_deref(), tagged_start), (Some("uncorrected"), start));
        sum.add(h).unwrap();
        uncorrected.add(u).unwrap();
    }
    assert_eq!(sum.len(), r.tally.corrected.len());
    assert_eq!(uncorrected.len(), r.tally.uncorrected.len());
    assert_eq!(uncorrected.max(), r.tally.uncorrected.max());
    for p in [50.0, 90.0, 99.0, 99.9, 100.0] {
        assert_eq!(
            sum.value_at_percentile(p),
            r.tally.corrected.value_at_percentile(p),
            "p{p}"
        );
    }
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(
        log.contains("#[StartTime: ") && log.contains("#[BaseTime: "),
        "{log}"
    );
    assert!(log.lines().any(|l| l.starts_with("0.000,1.000,")), "{log}");
    assert!(log.contains("\n#[Latency: corrected;"), "{log}");
    let merged = speedup_bench::merge::merge(&[hlog]).expect("merge reads it");
    assert_eq!(merged.latency, speedup_bench::merge::Latency::Corrected);
    assert_eq!(merged.hist.len(), r.tally.corrected.len());
    assert_eq!(
        merged.uncorrected.map(|u| u.len()),
        Some(r.tally.uncorrected.len())
    );
}

#[test]
fn merge_equals_one_histogram_of_both_runs() {
    let base = stalling_server(None);
    let dir = scratch("merge");
    let (a, b) = (dir.join("a.hlog"), dir.join("b.hlog"));
    let _turn = one_at_a_time();
    let url = format!("{base}/");
    let ra = bench(
        &["-n", "300", "-c", "4", &url],
        SeriesWriters {
            timeline: None,
            hdr_log: file(&a),
            ..SeriesWriters::default()
        },
    );
    let rb = bench(
        &["-n", "500", "-c", "8", &url],
        SeriesWriters {
            timeline: None,
            hdr_log: file(&b),
            ..SeriesWriters::default()
        },
    );
    let merged = speedup_bench::merge::merge(&[a, b]).expect("merge");
    let mut both = ra.tally.uncorrected.clone();
    both.add(&rb.tally.uncorrected).unwrap();
    assert_eq!(merged.hist.len(), 800);
    assert_eq!(merged.hist, both);
    let v = speedup_bench::merge::to_json(&merged);
    assert_eq!(v["requests"]["total"], 800);
    // Closed-loop runs: uncorrected latencies, under bench's own key.
    assert_eq!(v["latency"], "uncorrected");
    assert!(v["latency_ms"]["corrected"].is_null(), "{v}");
    assert_eq!(
        v["latency_ms"]["uncorrected"]["p99"],
        json::latency_json(&both)["p99"]
    );
}

#[test]
fn merge_names_a_file_that_is_not_a_log() {
    let dir = scratch("merge-bad");
    let bad = dir.join("not.hlog");
    std::fs::write(&bad, "hello\n").unwrap();
    let err = speedup_bench::merge::merge(&[bad]).unwrap_err().to_string();
    assert!(
        err.contains("not.hlog") && err.contains("--hdr-log"),
        "{err}"
    );
    let err = speedup_bench::merge::merge(&[dir.join("missing")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn accuracy_against_speedup_serve() {
    let server =
        speedup_lab::EmbeddedServer::start(speedup_server::Config::default()).expect("serve");
    let base = server.base_url();
    let p50_ms = |path: &str| {
        let r = bench(
            &["-n", "30", "-c", "2", &format!("{base}{path}")],
            SeriesWriters::default(),
        );
        assert_eq!(r.ok(), 30);
        r.tally.uncorrected.value_at_percentile(50.0) as f64 / 1000.0
    };
    // Noise from other processes on a shared 2-core machine only ever adds
    // time, so: never below 100 ms in any attempt, and within 1.5 ms of it
    // in the best of a few, either outright or above the round trip of a
    // zero sleep measured just before (what the machine's load adds).
    let mut best = f64::MAX;
    for _ in 0..8 {
        let _turn = one_at_a_time();
        let floor = p50_ms("/async/sleep/0");
        let p50 = p50_ms("/async/sleep/0.1");
        eprintln!("p50 {p50} ms, zero-sleep p50 {floor} ms");
        assert!(p50 >= 100.0, "p50 {p50} ms is below the server's sleep");
        best = best.min(p50).min(p50 - floor);
        if best <= 101.5 {
            break;
        }
    }
    assert!(best <= 101.5, "best p50 {best} ms");
}
