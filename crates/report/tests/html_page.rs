//! The lab page: one self-contained, well-formed page with the chart and the
//! table under stable ids, every outside string escaped.

mod plot_support;

use plot_support::{render, rows_in, sample_page};
use speedup_report::html::{article_intro, RunSettings};

#[test]
fn page_has_chart_table_and_no_external_resources() {
    let html = render(&sample_page());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<figure id=\"cdf-chart\">\n<svg"));
    assert!(html.contains("<table id=\"summary-table\">"));
    for forbidden in [
        "<script",
        "http://fonts",
        "https://",
        "<link",
        "@import",
        "src=",
    ] {
        assert!(!html.contains(forbidden), "page contains {forbidden:?}");
    }
    assert!(html.contains("40 threads"));
    assert!(html.contains("p95 &gt; 300 ms"));
    assert!(html.contains("ideal (the sleep)"));
    assert!(html.contains("3.0×"), "p95 ÷ ideal for the baseline");
}

#[test]
fn page_escapes_outside_strings() {
    let html = render(&sample_page());
    assert!(html.contains("baseline &lt;b&gt;&amp;"));
    assert!(!html.contains("baseline <b>"));
    assert!(html.contains("?a=1&amp;b=2"));
    assert!(html.contains("&lt;debug&gt; build"));
}

#[test]
fn page_is_well_formed_markup() {
    // The page is written as XHTML-compatible markup apart from the doctype
    // and void `<meta>`/`<br>` tags; close those and it must parse as XML,
    // which catches unbalanced tags and unescaped text.
    let html = render(&sample_page());
    let rows = rows_in(&html, "summary-table");
    assert_eq!(rows, 1 + 1 + 2, "header, ideal, two scenarios");
}

#[test]
fn failures_are_highlighted() {
    let mut page = sample_page();
    page.rows[1].non_2xx = 1000;
    let html = render(&page);
    assert!(html.contains("<td class=\"bad\">1000</td>"));
    // And said above the chart, not left to a table cell.
    let warning = html.find("id=\"warnings\"").expect("a warning block");
    assert!(warning < html.find("id=\"cdf-chart\"").unwrap());
    assert!(html.contains("0 failed and 1000 non-2xx of"), "{html}");
    assert!(!render(&sample_page()).contains("id=\"warnings\""));
}

fn intro(requests: u64, concurrency: u64, sleep_ms: f64, threads: Option<u64>) -> String {
    article_intro(&RunSettings {
        requests,
        concurrency,
        sleep_ms,
        threads,
    })
}

#[test]
fn the_intro_is_true_for_any_flags() {
    // The article's own settings stay the article's, whatever this run's.
    for text in [
        intro(1000, 100, 100.0, Some(40)),
        intro(200, 20, 50.0, Some(100)),
        intro(1, 1, 1000.0, Some(1)),
    ] {
        let article = text.split("\n\n").next().unwrap();
        assert!(
            article.contains("sends 1000 requests, 100 at a time"),
            "{text}"
        );
        assert!(article.contains("pool of 40 threads"), "{text}");
    }
    let default = intro(1000, 100, 100.0, Some(40));
    assert!(default
        .contains("This run sends 1000 requests, 100 at a time, each asking for a 100 ms sleep"));
    assert!(default.contains("pool of 40 threads, fewer than the 100 requests in flight"));
    assert!(default.contains("up to 3 rounds"));

    let big_pool = intro(200, 20, 50.0, Some(100));
    assert!(
        big_pool.contains("This run sends 200 requests, 20 at a time"),
        "{big_pool}"
    );
    assert!(big_pool.contains("pool of 100 threads, enough for all 20 requests"));
    assert!(big_pool.contains("one round"));
    assert!(!big_pool.contains("1 rounds"), "{big_pool}");

    let tiny = intro(1, 1, 1000.0, Some(1));
    assert!(tiny.contains("sends 1 request, 1 at a time"), "{tiny}");
    assert!(tiny.contains("pool of 1 thread, enough"), "{tiny}");

    let two = intro(100, 41, 100.0, Some(40));
    assert!(two.contains("up to 2 rounds"), "{two}");

    let external = intro(1000, 100, 100.0, None);
    assert!(external.contains("external"), "{external}");
    assert!(!external.split("\n\n").nth(1).unwrap().contains("rounds:"));
}

#[test]
fn backticks_become_code_and_urls_wrap_at_slashes() {
    let mut page = sample_page();
    page.notes = vec![
        "as `ab -n1000 -c100` sends them; a lone ` stays".into(),
        "run `x` and `y`".into(),
    ];
    page.rows[0].url = "http://127.0.0.1:8000/baseline/sleep/0.1".into();
    let html = render(&page);
    assert!(
        html.contains("<li>run <code>x</code> and <code>y</code></li>"),
        "{html}"
    );
    assert!(html.contains("a lone ` stays"));
    assert!(html.contains("http:/<wbr>/<wbr>127.0.0.1:8000/<wbr>baseline/<wbr>sleep/<wbr>0.1"));
    assert!(!html.contains("break-all"));
}

#[test]
fn summary_rows_serialize_for_summary_json() {
    let page = sample_page();
    let json = serde_json::to_value(&page.rows[1]).unwrap();
    for key in [
        "name",
        "url",
        "requests",
        "concurrency",
        "rps",
        "p50_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "failures",
        "non_2xx",
        "article",
        "why",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
}
