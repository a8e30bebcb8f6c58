//! The lab report page: one self-contained HTML file (inline CSS, inline SVG
//! chart, no scripts, nothing fetched) that explains the experiment, shows
//! the CDF chart and a table of figures beside the ideal and the article's.
//!
//! The page only lays out numbers and sentences it is given; the numbers
//! come from `speedup-stats`, the sentences (the article's story) and the
//! `summary.json` rows from `speedup-lab`, which builds the [`LabPage`].
//! Every string from outside is escaped except the chart, which must be an
//! SVG from [`crate::plot::render_svg`]. The HTML helpers here also serve
//! the bench runs' page ([`crate::bench_page`]).

use std::fmt::Write as _;
use std::io::{self, Write};

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LabPage {
    /// Page title and heading.
    pub title: String,
    /// A few sentences on the experiment; blank lines separate paragraphs.
    pub intro: String,
    /// The CDF chart as an SVG document, inlined as is (trusted markup).
    pub chart_svg: String,
    /// The ideal response time (the sleep), shown as the table's first row
    /// and against each scenario's p95; `None` when the scenarios have none
    /// (custom paths).
    pub ideal_ms: Option<f64>,
    /// One table row per scenario, in run order.
    pub rows: Vec<ScenarioRow>,
    /// Footnotes: machine, command line, caveats.
    pub notes: Vec<String>,
    /// More chapters after the main one (`speedup lab --chapter`, `--sweep`),
    /// each with its own chart, table and reasons.
    pub sections: Vec<Section>,
}

/// One chapter of the page: a heading, a few sentences, a chart, a table
/// of figures and one reason per scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// HTML id prefix (`cpu` gives `cpu`, `cpu-chart`, `cpu-table`, `cpu-why`).
    pub id: String,
    /// The section's heading.
    pub title: String,
    /// Paragraphs, separated by blank lines; `code` spans in backticks.
    pub intro: String,
    /// The chart (trusted SVG from [`crate::plot`]).
    pub chart_svg: String,
    /// What the chart shows, under it.
    pub caption: String,
    /// The ideal time for the table's first row and ratio column, if any.
    pub ideal_ms: Option<f64>,
    /// What the ideal is, e.g. `one computation`.
    pub ideal_label: String,
    /// One row per scenario (none: no figures table).
    pub rows: Vec<ScenarioRow>,
    /// More tables, for figures that are not scenarios (the sweep's, a
    /// capacity search's steps).
    pub grids: Vec<Grid>,
    /// One reason per curve: (name, sentence).
    pub why: Vec<(String, String)>,
}

/// A plain table of text cells; the first column is left-aligned.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Its HTML id after the section's: `grid` in section `sweep` is
    /// `sweep-grid`.
    pub id: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, as many as the columns.
    pub rows: Vec<Vec<String>>,
    /// A sentence under the table.
    pub caption: String,
}

/// One scenario's figures, as the tables show them (the lab writes them to
/// `summary.json` in a shape of its own).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRow {
    /// Scenario name, e.g. `baseline`.
    pub name: String,
    /// The URL that was loaded.
    pub url: String,
    /// Requests completed.
    pub requests: u64,
    /// Requests kept in flight.
    pub concurrency: u64,
    /// Mean requests per second over the run.
    pub rps: f64,
    /// Median response time, ms.
    pub p50_ms: f64,
    /// 90th percentile response time, ms.
    pub p90_ms: f64,
    /// 95th percentile response time, ms.
    pub p95_ms: f64,
    /// 99th percentile response time, ms.
    pub p99_ms: f64,
    /// Slowest response, ms.
    pub max_ms: f64,
    /// Requests that failed (connect, read, length errors).
    pub failures: u64,
    /// Responses with a status outside 2xx.
    pub non_2xx: u64,
    /// The article's own figure for this scenario, e.g. `p95 > 300 ms`.
    pub article: Option<String>,
    /// One sentence on why it came out this way.
    pub why: String,
}

/// Writes `page` as one self-contained HTML document.
pub fn render_lab_page(page: &LabPage, w: &mut impl Write) -> io::Result<()> {
    let mut out = String::with_capacity(page.chart_svg.len() + 8192);
    render(page, &mut out).map_err(|_| io::Error::other("formatting the lab page failed"))?;
    w.write_all(out.as_bytes())
}

/// Builds the document in memory so a write error cannot leave half a page
/// behind a successful-looking return.
fn render(page: &LabPage, out: &mut String) -> std::fmt::Result {
    open_document(&page.title, "", out)?;
    paragraphs(&page.intro, out)?;
    let troubled: Vec<&ScenarioRow> = page
        .rows
        .iter()
        .filter(|r| r.failures > 0 || r.non_2xx > 0)
        .collect();
    if !troubled.is_empty() {
        writeln!(out, "<div class=\"warning\" id=\"warnings\">")?;
        for r in troubled {
            writeln!(
                out,
                "<p>⚠ <strong>{}</strong> ({}): {} failed and {} non-2xx of {} requests. Its \
                 times are not those of a working endpoint: check the path and the server.</p>",
                escape(&r.name),
                url_html(&r.url),
                r.failures,
                r.non_2xx,
                r.requests
            )?;
        }
        writeln!(out, "</div>")?;
    }
    if !page.rows.is_empty() {
        let ideal = page.ideal_ms.map_or(String::new(), |ms| {
            format!(" The dashed line is the ideal, {} ms.", trim_ms(ms))
        });
        let caption = format!(
            "Cumulative distribution of response times: how many requests (y) were served \
             within a time (x).{ideal}"
        );
        figure("cdf-chart", &page.chart_svg, &caption, out)?;
        table(
            "summary-table",
            &page.rows,
            page.ideal_ms,
            "ideal (the sleep)",
            "p95 ÷ ideal is how many sleeps the 95th-percentile request waited.",
            out,
        )?;
        let reasons: Vec<(&str, &str)> = page
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.why.as_str()))
            .collect();
        why("<h2>Why</h2>", "why", &reasons, out)?;
    }
    for section in &page.sections {
        render_section(section, out)?;
    }
    if !page.notes.is_empty() {
        writeln!(out, "<h2>Notes</h2>\n<ul id=\"notes\">")?;
        for note in &page.notes {
            writeln!(out, "<li>{}</li>", inline(note))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

/// The document's head (title, inline style: [`STYLE`] then `extra_style`)
/// and its `<h1>`, up to the open `<main>`.
pub(crate) fn open_document(title: &str, extra_style: &str, out: &mut String) -> std::fmt::Result {
    let title = escape(title);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}{extra_style}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n"
    )
}

/// One chapter: heading, intro, chart, table, reasons.
fn render_section(section: &Section, out: &mut String) -> std::fmt::Result {
    let id = escape(&section.id);
    writeln!(
        out,
        "<section id=\"{id}\">\n<h2>{}</h2>",
        escape(&section.title)
    )?;
    paragraphs(&section.intro, out)?;
    figure(
        &format!("{id}-chart"),
        &section.chart_svg,
        &inline(&section.caption),
        out,
    )?;
    if !section.rows.is_empty() {
        table(
            &format!("{id}-table"),
            &section.rows,
            section.ideal_ms,
            &section.ideal_label,
            "p95 ÷ ideal is how many ideal times the 95th-percentile request took.",
            out,
        )?;
    }
    for grid in &section.grids {
        grid_table(&format!("{id}-{}", escape(&grid.id)), grid, out)?;
    }
    let reasons: Vec<(&str, &str)> = section
        .why
        .iter()
        .map(|(name, why)| (name.as_str(), why.as_str()))
        .collect();
    why("<h3>Why</h3>", &format!("{id}-why"), &reasons, out)?;
    writeln!(out, "</section>")
}

/// `text`'s paragraphs (separated by blank lines), each as a `<p>`.
pub(crate) fn paragraphs(text: &str, out: &mut String) -> std::fmt::Result {
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        writeln!(out, "<p>{}</p>", inline(paragraph.trim()))?;
    }
    Ok(())
}

/// A chart (trusted SVG) with id `id` and `caption` (HTML, already escaped)
/// under it.
pub(crate) fn figure(id: &str, svg: &str, caption: &str, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "<figure id=\"{id}\">\n{}\n<figcaption>{caption}</figcaption>\n</figure>",
        strip_prolog(svg)
    )
}

/// A [`Grid`] as a table with id `id`.
fn grid_table(id: &str, grid: &Grid, out: &mut String) -> std::fmt::Result {
    writeln!(
        out,
        "<div class=\"scroll\">\n<table id=\"{id}\">\n<caption>{}</caption>\n<thead><tr>",
        inline(&grid.caption)
    )?;
    for column in &grid.columns {
        write!(out, "<th>{}</th>", escape(column))?;
    }
    writeln!(out, "</tr></thead>\n<tbody>")?;
    for row in &grid.rows {
        write!(out, "<tr>")?;
        for cell in row {
            write!(out, "<td>{}</td>", escape(cell))?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>\n</table>\n</div>")
}

/// The one-sentence reasons, (name, sentence) per curve, under `heading`.
fn why(heading: &str, id: &str, reasons: &[(&str, &str)], out: &mut String) -> std::fmt::Result {
    if reasons.iter().all(|(_, why)| why.trim().is_empty()) {
        return Ok(());
    }
    writeln!(out, "{heading}\n<ul id=\"{id}\">")?;
    for (name, why) in reasons {
        writeln!(
            out,
            "<li><strong>{}</strong>: {}</li>",
            escape(name),
            inline(why)
        )?;
    }
    writeln!(out, "</ul>")
}

/// A figures table: an ideal row and a p95 ÷ ideal column (when there is
/// an ideal), then one row per scenario; the article's column only when
/// some scenario has an article figure.
fn table(
    id: &str,
    rows: &[ScenarioRow],
    ideal_ms: Option<f64>,
    ideal_label: &str,
    ratio_caption: &str,
    out: &mut String,
) -> std::fmt::Result {
    let ideal_ms = ideal_ms.filter(|&ms| ms > 0.0);
    let article = rows.iter().any(|r| r.article.is_some());
    let caption = match ideal_ms {
        Some(_) => format!("Times in ms; {}", escape(ratio_caption)),
        None => "Times in ms.".to_string(),
    };
    write!(
        out,
        "<div class=\"scroll\">\n<table id=\"{id}\">\n<caption>{caption}</caption>\n\
         <thead><tr><th>scenario</th><th>requests</th><th>concurrency</th><th>req/s</th>\
         <th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th>{}\
         <th>failures</th><th>non-2xx</th>{}</tr></thead>\n<tbody>\n",
        if ideal_ms.is_some() {
            "<th>p95 ÷ ideal</th>"
        } else {
            ""
        },
        if article { "<th>article</th>" } else { "" },
    )?;
    let article_cell = |text: &str| {
        if article {
            format!("<td>{}</td>", escape(text))
        } else {
            String::new()
        }
    };
    if let Some(ideal_ms) = ideal_ms {
        let ideal = fmt_ms(ideal_ms);
        writeln!(
            out,
            "<tr class=\"ideal\"><td>{}</td><td></td><td></td><td></td>\
             <td>{ideal}</td><td>{ideal}</td><td>{ideal}</td><td>{ideal}</td><td>{ideal}</td>\
             <td>1.0×</td><td></td><td></td>{}</tr>",
            escape(ideal_label),
            article_cell("")
        )?;
    }
    for row in rows {
        let ratio = ideal_ms.map_or(String::new(), |ideal| {
            format!("<td>{:.1}×</td>", row.p95_ms / ideal)
        });
        write!(
            out,
            "<tr><td>{}<br><span class=\"url\">{}</span></td><td>{}</td><td>{}</td>\
             <td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{ratio}",
            escape(&row.name),
            url_html(&row.url),
            row.requests,
            row.concurrency,
            row.rps,
            fmt_ms(row.p50_ms),
            fmt_ms(row.p90_ms),
            fmt_ms(row.p95_ms),
            fmt_ms(row.p99_ms),
            fmt_ms(row.max_ms),
        )?;
        for count in [row.failures, row.non_2xx] {
            let class = if count > 0 { " class=\"bad\"" } else { "" };
            write!(out, "<td{class}>{count}</td>")?;
        }
        writeln!(
            out,
            "{}</tr>",
            article_cell(row.article.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</div>")
}

/// Milliseconds to one decimal, the precision the comparison needs.
fn fmt_ms(ms: f64) -> String {
    format!("{ms:.1}")
}

/// Milliseconds for prose: `100`, `12.5`, no trailing zeros.
pub fn trim_ms(ms: f64) -> String {
    crate::plot::trim_zeros(format!("{ms:.3}"))
}

/// Drops an `<?xml …?>` prolog, which is not allowed inside HTML.
fn strip_prolog(svg: &str) -> &str {
    let trimmed = svg.trim_start();
    match trimmed
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
    {
        Some((_, body)) => body.trim_start(),
        None => trimmed,
    }
}

/// Escaped text in which `code` spans (Markdown backticks) become
/// `<code>` elements.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    // An unmatched backtick would have left a <code> open: keep it literal.
    if text.matches('`').count() % 2 == 1 {
        return escape(text);
    }
    out
}

/// A URL that may break after each `/`, never inside a word.
fn url_html(url: &str) -> String {
    escape(url).replace('/', "/<wbr>")
}

/// Escapes text for HTML element content and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Plain, print-friendly styling; system fonts only, so nothing is fetched.
pub(crate) const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif;
       color: #222; background: #fff; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; line-height: 1.5; }
h1 { font-size: 1.7rem; margin-bottom: 0.5rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
figure { margin: 1.5rem 0; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9rem; margin-top: 0.4rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35rem 0.5rem; text-align: right; }
th { white-space: nowrap; }
th:first-child, td:first-child, td:last-child, th:last-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
tr.ideal td { color: #555; font-style: italic; }
td.bad { color: #b00020; font-weight: bold; }
.url { color: #666; font-size: 0.8rem; }
.warning { border-left: 4px solid #b00020; background: #fff4f4; padding: 0.2rem 1rem; margin: 1rem 0; }
code { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 0.9em; }
.scroll { overflow-x: auto; }
caption { caption-side: bottom; text-align: left; color: #555; font-size: 0.85rem; padding-top: 0.4rem; }
td:last-child { min-width: 7rem; }
";
