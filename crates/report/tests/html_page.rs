//! The lab page: one self-contained, well-formed page with the chart and the
//! table under stable ids, every outside string escaped.

mod plot_support;

use plot_support::{render, rows_in, sample_page};

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
fn a_page_without_an_ideal_has_no_ideal_row_ratio_or_article_column() {
    let mut page = sample_page();
    page.ideal_ms = None;
    for row in &mut page.rows {
        row.article = None;
    }
    let html = render(&page);
    for gone in [
        "ideal (the sleep)",
        "p95 ÷ ideal",
        "×</td>",
        "<th>article</th>",
        "The dashed line is the ideal",
    ] {
        assert!(!html.contains(gone), "{gone} on a page without an ideal");
    }
    assert!(html.contains("<caption>Times in ms.</caption>"));
}
