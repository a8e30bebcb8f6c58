//! Shared fixtures for the chart and page tests: article-shaped CDFs built
//! in ab's CSV format, so tests exercise the same parser users do.

#![allow(dead_code)] // each test binary uses a different subset

use speedup_report::cdf_csv::Cdf;
use speedup_report::html::{render_lab_page, LabPage, ScenarioRow};
use speedup_report::plot::{render_svg, ChartSpec};

/// ab's `-e` text for a CDF whose row `p` is `ms(p)`, formatted like ab
/// (`%d,%.3f`).
pub fn ab_csv(ms: impl Fn(u32) -> f64) -> String {
    let mut text = String::from("Percentage served,Time in ms\n");
    for p in 0..=100 {
        text.push_str(&format!("{p},{:.3}\n", ms(p)));
    }
    text
}

/// The blocking baseline as the article saw it: 100 clients on 40 threads
/// wait one to three 100 ms rounds.
pub fn baseline() -> Cdf {
    let text = ab_csv(|p| match p {
        0..=39 => 101.0 + f64::from(p) * 0.05,
        40..=79 => 201.0 + f64::from(p - 40) * 0.05,
        _ => 301.0 + f64::from(p - 80) * 0.1,
    });
    Cdf::from_reader("baseline", text.as_bytes()).expect("fixture parses")
}

/// The async endpoint: everyone served in one round, just above the ideal.
pub fn async_timers() -> Cdf {
    let text = ab_csv(|p| 100.5 + f64::from(p) * 0.04);
    Cdf::from_reader("async", text.as_bytes()).expect("fixture parses")
}

/// A page like `speedup lab` writes, with a hostile scenario name.
pub fn sample_page() -> LabPage {
    let mut spec = ChartSpec::new("ab -n1000 -c100", vec![baseline(), async_timers()]);
    spec.ideal_ms = Some(100.0);
    spec.width = 720;
    spec.height = 450;
    let row = |name: &str, url: &str, p95: f64, article: &str, why: &str| ScenarioRow {
        name: name.into(),
        url: url.into(),
        requests: 1000,
        concurrency: 100,
        rps: 400.0,
        p50_ms: 200.0,
        p90_ms: 300.0,
        p95_ms: p95,
        p99_ms: p95 + 5.0,
        max_ms: p95 + 10.0,
        failures: 0,
        non_2xx: 0,
        article: Some(article.into()),
        why: why.into(),
    };
    LabPage {
        title: "speedup lab: blocking vs async".into(),
        intro: "The article compares two endpoints.\n\nThis run sends 1000 requests, \
                100 at a time, with `ab`."
            .into(),
        chart_svg: render_svg(&spec).expect("chart renders"),
        ideal_ms: Some(100.0),
        rows: vec![
            row(
                "baseline <b>&",
                "http://127.0.0.1:1/baseline/sleep/0.1?a=1&b=2",
                305.0,
                "p95 > 300 ms",
                "40 threads serve 100 clients in up to 3 rounds.",
            ),
            row(
                "async",
                "http://127.0.0.1:1/async/sleep/0.1",
                104.0,
                "p95 ~ 150 ms",
                "Timers: one round.",
            ),
        ],
        notes: vec!["2-core machine; <debug> build".into()],
        sections: Vec::new(),
    }
}

/// The page as XML: it is written as XHTML-compatible markup apart from the
/// doctype and void `<meta>`/`<br>`/`<wbr>` tags; with those closed it must
/// parse as XML, which catches unbalanced tags and unescaped text.
pub fn as_xml(html: &str) -> String {
    html.replacen("<!DOCTYPE html>", "", 1)
        .replace("<br>", "<br/>")
        .replace("<wbr>", "<wbr/>")
        .replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>")
        .replace(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta/>",
        )
}

/// The page as `render_lab_page` writes it.
pub fn render(page: &LabPage) -> String {
    let mut out = Vec::new();
    render_lab_page(page, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// How many `<tr>` the element with `id` holds, the page read as XML
/// ([`as_xml`]; it must be balanced).
pub fn rows_in(html: &str, id: &str) -> usize {
    let xml = as_xml(html);
    let doc = roxmltree::Document::parse(&xml).expect("page is balanced");
    let table = doc
        .descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap();
    table.descendants().filter(|n| n.has_tag_name("tr")).count()
}
