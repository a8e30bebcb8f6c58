//! The lab page's chapter sections (`speedup lab --chapter`, `--sweep`):
//! each under its own ids, well-formed, every outside string escaped; and
//! a page of chapters alone has no article chart.

mod plot_support;

use plot_support::{render, rows_in, sample_page};
use speedup_report::html::{Grid, LabPage, Section};

/// The sample page with a chapter section and a grid-only section.
fn page_with_sections() -> LabPage {
    let mut page = sample_page();
    let rows = page.rows.clone();
    page.sections = vec![
        Section {
            id: "cpu".into(),
            title: "Part 2: <CPU> & co".into(),
            intro: "`n` = 32.\n\nSecond paragraph.".into(),
            chart_svg: page.chart_svg.clone(),
            caption: "one computation, 60 ms".into(),
            ideal_ms: Some(50.0),
            ideal_label: "ideal (one computation)".into(),
            rows: rows.clone(),
            grids: Vec::new(),
            why: rows
                .iter()
                .map(|r| (r.name.clone(), r.why.clone()))
                .collect(),
        },
        Section {
            id: "sweep".into(),
            title: "Concurrency sweep".into(),
            intro: "Steps.".into(),
            chart_svg: page.chart_svg.clone(),
            caption: "p50 and p95".into(),
            ideal_ms: None,
            ideal_label: String::new(),
            rows: Vec::new(),
            grids: vec![Grid {
                id: "grid".into(),
                columns: vec!["ms at concurrency".into(), "1".into(), "200".into()],
                rows: vec![vec!["baseline p95".into(), "101.0".into(), "<500>".into()]],
                caption: "p95 in ms".into(),
            }],
            why: vec![("baseline".into(), "the knee is the pool size".into())],
        },
    ];
    page
}

#[test]
fn sections_have_their_own_ids_and_escape_outside_strings() {
    let html = render(&page_with_sections());
    for id in [
        "cdf-chart",
        "summary-table",
        "cpu",
        "cpu-chart",
        "cpu-table",
        "cpu-why",
        "sweep",
        "sweep-chart",
        "sweep-grid",
        "sweep-why",
    ] {
        assert_eq!(
            html.matches(&format!("id=\"{id}\"")).count(),
            1,
            "id {id} should appear once"
        );
    }
    assert!(html.contains("Part 2: &lt;CPU&gt; &amp; co"));
    assert!(html.contains("<td>&lt;500&gt;</td>"));
    assert!(html.contains("<code>n</code> = 32."));
    assert!(html.contains("ideal (one computation)"));
    // 305 ms against a 50 ms ideal.
    assert!(html.contains("6.1×"));
    assert!(
        !html.contains("sweep-table"),
        "no scenario table without rows"
    );
    // Sections come before the notes.
    assert!(html.find("id=\"sweep\"").unwrap() < html.find("id=\"notes\"").unwrap());
}

#[test]
fn sections_are_well_formed() {
    let html = render(&page_with_sections());
    let rows = rows_in(&html, "sweep-grid");
    assert_eq!(rows, 2, "header and one row");
}

#[test]
fn a_page_of_chapters_alone_has_no_article_chart() {
    let mut page = page_with_sections();
    page.rows.clear();
    page.chart_svg.clear();
    let html = render(&page);
    assert!(!html.contains("id=\"cdf-chart\""));
    assert!(!html.contains("id=\"summary-table\""));
    assert!(html.contains("id=\"cpu-chart\""));
}
