//! The lab page: one self-contained, well-formed page with the chart and the
//! table under stable ids, every outside string escaped.

mod plot_support;

use plot_support::sample_page;
use speedup_report::html::{render_lab_page, LabPage};

fn render(page: &LabPage) -> String {
    let mut out = Vec::new();
    render_lab_page(page, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

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
    let xml = html
        .replacen("<!DOCTYPE html>", "", 1)
        .replace("<br>", "<br/>")
        .replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>")
        .replace(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta/>",
        );
    let doc = roxmltree::Document::parse(&xml).expect("page is balanced");
    let table = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("summary-table"))
        .unwrap();
    let rows = table.descendants().filter(|n| n.has_tag_name("tr")).count();
    assert_eq!(rows, 1 + 1 + 2, "header, ideal, two scenarios");
}

#[test]
fn failures_are_highlighted() {
    let mut page = sample_page();
    page.rows[1].non_2xx = 1000;
    let html = render(&page);
    assert!(html.contains("<td class=\"bad\">1000</td>"));
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
