//! The bench runs' page: one self-contained document (nothing fetched, no
//! script), each run's charts and table, the overlay and the comparison
//! with two runs, a note instead when the runs cannot be compared, and
//! every name from outside escaped.

use hdrhistogram::Histogram;
use speedup_report::bench_page::{bench_page_html, BenchPage, PageRun};
use speedup_stats::bootstrap::{compare, Settings};
use speedup_stats::Series;

/// A run of `seconds` seconds of 200 latencies around `centre_us`, as the
/// page gets it: every value, the uncorrected ones (open loop) and the
/// seconds.
struct Fixture {
    hist: Histogram<u64>,
    uncorrected: Histogram<u64>,
    series: Series,
}

fn fixture(seconds: u64, centre_us: u64) -> Fixture {
    let mut hist = Histogram::<u64>::new(3).unwrap();
    let mut uncorrected = hist.clone();
    let mut series = Series::new(3);
    for s in 0..seconds {
        let counts: Vec<(u64, u64)> = (0..200)
            .map(|k| (centre_us + (k * 37 + s * 11) % 400, 1))
            .collect();
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        for &(v, n) in &sorted {
            hist.record_n(v, n).unwrap();
            uncorrected.record_n(v / 2, n).unwrap();
        }
        // A second with nothing: a gap in the latency lines.
        if s != 3 {
            series.add(1_700_000_000.0 + s as f64, 1.0, &sorted);
        } else {
            series.add(1_700_000_000.0 + s as f64, 1.0, &[]);
        }
    }
    Fixture {
        hist,
        uncorrected,
        series,
    }
}

fn run<'a>(name: &str, f: &'a Fixture) -> PageRun<'a> {
    PageRun {
        name: name.into(),
        files: vec![format!("{name}.hlog")],
        latency: "corrected",
        hist: &f.hist,
        uncorrected: Some(&f.uncorrected),
        seconds: f.series.seconds(),
        unit_s: f.series.block_s(),
        span_s: 10.0,
    }
}

/// What a page must never hold: anything a browser would fetch or run.
fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href=",
    ] {
        assert!(!lower.contains(banned), "the page holds {banned}");
    }
    assert!(lower.starts_with("<!doctype html>"));
}

#[test]
fn two_runs_overlaid_compared_and_one_by_one() {
    let (a, b) = (fixture(10, 1000), fixture(10, 1300));
    let c = compare(&a.series, &b.series, Settings::default()).unwrap();
    let page = BenchPage {
        title: "before & after".into(),
        runs: vec![run("before", &a), run("after", &b)],
        comparison: Some(Ok(&c)),
    };
    let html = bench_page_html(&page).unwrap();
    assert_self_contained(&html);
    for id in [
        "overlay-spectrum",
        "overlay-latency",
        "overlay-rps",
        "overlay-percentiles",
        "compare-table",
        "run-1-spectrum",
        "run-1-latency",
        "run-1-rps",
        "run-1-percentiles",
        "run-2-spectrum",
        "run-2-percentiles",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    // 3 charts overlaid + 3 per run, all inline.
    assert_eq!(html.matches("<svg").count(), 9);
    assert!(html.contains("<title>before &amp; after</title>"));
    assert!(html.contains("before (corrected)") && html.contains("after (uncorrected)"));
    assert!(
        html.contains("\n99.9%\n") && html.contains("\nmax\n"),
        "the spectrum's ticks"
    );
    assert!(
        html.contains("<td class=\"slower\">slower</td>"),
        "p50 got 0.3 ms slower"
    );
    assert!(html.contains("<td>p99.99</td>"));
}

#[test]
fn runs_that_cannot_be_compared_get_a_note_and_names_are_escaped() {
    let (a, b) = (fixture(6, 500), fixture(6, 500));
    let page = BenchPage {
        title: "t".into(),
        runs: vec![run("<b>x</b>", &a), run("y", &b)],
        comparison: Some(Err("the base logs hold corrected latencies but ...".into())),
    };
    let html = bench_page_html(&page).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("id=\"compare-refused\""));
    assert!(!html.contains("<b>x</b>") && html.contains("&lt;b&gt;x&lt;/b&gt;"));
    assert!(!html.contains("compare-table"));
}

#[test]
fn one_run_has_no_overlay_and_a_closed_loop_run_no_dashed_line() {
    let a = fixture(5, 2000);
    let mut only = run("only", &a);
    only.latency = "uncorrected";
    only.uncorrected = None;
    let page = BenchPage {
        title: "one".into(),
        runs: vec![only],
        comparison: None,
    };
    let html = bench_page_html(&page).unwrap();
    assert_self_contained(&html);
    assert!(!html.contains("id=\"overlay\"") && !html.contains("id=\"compare\""));
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(!html.contains("stroke-dasharray") || !html.contains("only (uncorrected)"));
    assert!(html.contains("(a closed-loop run)"));
}
