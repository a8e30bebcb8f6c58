//! The report folder: per scenario ab's CSV (`NAME.csv`) and text report
//! (`NAME.txt`); `summary.json`; `cdf.svg`; and `index.html`, one
//! self-contained page with the chart inline.
//!
//! The files are written into a [`Staging`] folder, created before the
//! experiment (which also checks what `--out` holds), and moved into place
//! only when complete: never half a report, and never an old page beside new
//! CSVs or files of an earlier run; files the lab did not write are left
//! alone (see [`crate::staging`]). `summary.json` comes last: it lists every
//! file of the report, which is how the next run knows them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use speedup_ab as ab;
use speedup_report::cdf_csv::Cdf;
use speedup_report::html::{self, LabPage, Section};
use speedup_report::plot::{self, ChartSpec};
use speedup_stats as stats;

use speedup_report::sweep::Sweep;

use crate::prose::{self, RunSettings};
use crate::rows::ScenarioJson;
use crate::staging::{Staging, MARKER, SCHEMA};
use crate::{capacity, sections, LabError, LabPlan, LabResults, Measurement};

/// `summary.json`: the plan's numbers and one entry per scenario.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// [`SCHEMA`]: marks the folder as a lab report.
    pub schema: &'static str,
    /// Every file of the report, this one included: what the next run into
    /// the folder may replace or remove.
    pub files: Vec<String>,
    /// Requests per scenario.
    pub requests: u64,
    /// Concurrency of every run.
    pub concurrency: u32,
    /// The sleep asked of the server, in ms: the ideal response time.
    pub ideal_ms: f64,
    /// The embedded server's blocking pool size.
    pub threads: usize,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<ScenarioJson<'a>>,
    /// The chapters beyond the article (`--chapter`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<sections::ChapterSummary<'a>>,
    /// The concurrency sweep (`--sweep`; `speedup plot --sweep` draws it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<&'a Sweep>,
    /// The capacity chapter: each endpoint's highest rate within the SLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<capacity::page::CapacitySummary<'a>>,
}

/// Writes the whole report into `staging`, then moves it into place;
/// returns the path of `index.html`.
pub fn write(plan: &LabPlan, all: &LabResults, staging: Staging) -> Result<PathBuf, LabError> {
    let out = staging.finish(|dir| write_files(plan, all, dir))?;
    Ok(out.join("index.html"))
}

/// Writes every file of the report into `dir`, `summary.json` last;
/// returns their names in that order.
fn write_files(plan: &LabPlan, all: &LabResults, dir: &Path) -> Result<Vec<String>, LabError> {
    let mut files = Files {
        dir,
        names: Vec::new(),
    };
    for m in all.measurements() {
        let slug = slug(&m.row.name);
        let samples = &m.report.samples;
        files.write(&format!("{slug}.csv"), |w| ab::write_csv(samples, w))?;
        files.write(&format!("{slug}.txt"), |w| ab::write_text(&m.report, w))?;
    }
    let svg = article_chart(plan, &all.io, &mut files)?;
    let sections = section_charts(all, &mut files)?;
    let ab_chapters = !all.chapters.is_empty() || all.sweep.is_some();
    let page = page(plan, &all.io, svg, sections, ab_chapters);
    files.write("index.html", |w| html::render_lab_page(&page, w))?;
    write_summary(plan, all, &mut files)?;
    Ok(files.names)
}

/// The io chapter's chart, `cdf.svg` (its SVG text for the page); without
/// that chapter there is none.
fn article_chart(
    plan: &LabPlan,
    io: &[Measurement],
    files: &mut Files,
) -> Result<String, LabError> {
    if io.is_empty() {
        return Ok(String::new());
    }
    let series = io
        .iter()
        .map(|m| cdf(&m.row.name, &m.report.samples))
        .collect();
    let title = format!(
        "ab -n{} -c{}: response time CDF",
        plan.requests, plan.concurrency
    );
    let mut spec = ChartSpec::new(title, series);
    spec.ideal_ms = plan.scenarios_ideal_ms();
    let svg = plot::render_svg(&spec)?;
    files.write("cdf.svg", |w| w.write_all(svg.as_bytes()))?;
    Ok(svg)
}

/// Each chapter's section and chart (`CHAPTER.svg`), then the sweep's
/// (`sweep.svg`), then the capacity chapter's (`capacity.svg`).
fn section_charts(all: &LabResults, files: &mut Files) -> Result<Vec<Section>, LabError> {
    let mut sections = Vec::new();
    for run in &all.chapters {
        let section = sections::chapter(run)?;
        files.write(&format!("{}.svg", run.chapter.id()), |w| {
            w.write_all(section.chart_svg.as_bytes())
        })?;
        sections.push(section);
    }
    if let Some(sweep) = &all.sweep {
        let section = sections::sweep(sweep)?;
        files.write("sweep.svg", |w| w.write_all(section.chart_svg.as_bytes()))?;
        sections.push(section);
    }
    if let Some(run) = &all.capacity {
        let section = capacity::page::section(run)?;
        files.write("capacity.svg", |w| {
            w.write_all(section.chart_svg.as_bytes())
        })?;
        sections.push(section);
    }
    Ok(sections)
}

/// The page: the article's part (`io`, its chart `svg`), then `sections`
/// (`ab_chapters`: some of them ran as ab runs).
fn page(
    plan: &LabPlan,
    io: &[Measurement],
    svg: String,
    sections: Vec<Section>,
    ab_chapters: bool,
) -> LabPage {
    let ideal_ms = plan.scenarios_ideal_ms();
    let intro = if io.is_empty() {
        "The article's series, chapter by chapter: each section below runs the same embedded \
         `speedup serve` under one part's load and says why each curve came out as it did."
            .to_string()
    } else if ideal_ms.is_none() {
        let paths: Vec<(&str, &str)> = (plan.scenarios.iter())
            .map(|s| (s.name.as_str(), s.path.as_str()))
            .collect();
        prose::custom_intro(plan.requests, u64::from(plan.concurrency), &paths)
    } else {
        prose::article_intro(&RunSettings {
            requests: plan.requests,
            concurrency: u64::from(plan.concurrency),
            sleep_ms: plan.ideal_ms(),
            // An external --target has its own pool, which we do not know.
            threads: plan.target.is_none().then_some(plan.threads as u64),
        })
    };
    LabPage {
        title: if sections.is_empty() {
            "Speed up your server: blocking pool vs async timers".into()
        } else {
            "Speed up your server: the series in the lab".into()
        },
        intro,
        chart_svg: svg,
        ideal_ms,
        rows: io.iter().map(|m| m.row.clone()).collect(),
        notes: notes(plan, !io.is_empty(), !sections.is_empty(), ab_chapters),
        sections,
    }
}

/// `summary.json`, listing every file written so far and itself.
fn write_summary(plan: &LabPlan, all: &LabResults, files: &mut Files) -> Result<(), LabError> {
    let mut listed = files.names.clone();
    listed.push(MARKER.to_string());
    let summary = Summary {
        schema: SCHEMA,
        files: listed,
        requests: plan.requests,
        concurrency: plan.concurrency,
        ideal_ms: plan.ideal_ms(),
        threads: plan.threads,
        scenarios: all.io.iter().map(|m| (&m.row).into()).collect(),
        chapters: all.chapters.iter().map(sections::summary).collect(),
        sweep: all.sweep.as_ref(),
        capacity: all.capacity.as_ref().map(capacity::page::summary),
    };
    files.write(MARKER, |w| {
        serde_json::to_writer_pretty(&mut *w, &summary).map_err(std::io::Error::other)?;
        writeln!(w)
    })
}

/// The chart series of one run: the same 101 rows as its `-e` CSV.
pub(crate) fn cdf(name: &str, sorted: &[speedup_load::Sample]) -> Cdf {
    Cdf {
        name: name.to_string(),
        points: stats::cdf_rows(sorted)
            .into_iter()
            .map(|(pct, s)| (f64::from(pct), stats::ms_f64(u64::from(s.total_us))))
            .collect(),
    }
}

fn notes(plan: &LabPlan, io_ran: bool, chapters: bool, ab_chapters: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if io_ran {
        let whose = if chapters {
            "In the first section, each"
        } else {
            "Each"
        };
        notes.push(format!(
            "{whose} scenario: {} requests, {} at a time, HTTP/1.0 without keep-alive, as `ab -n{} -c{}` sends them; \
             percentiles by ab's rule; files NAME.csv (ab -e format) and NAME.txt (ab's report) beside this page.",
            plan.requests, plan.concurrency, plan.requests, plan.concurrency
        ));
    }
    if ab_chapters {
        notes.push(
            "Every chapter's scenarios are sent as ab sends them (HTTP/1.0, a connection per request), with the \
             requests and concurrency its section names; files CHAPTER-SCENARIO.csv and .txt, CHAPTER.svg and \
             sweep.svg beside this page, every figure in summary.json."
                .to_string(),
        );
    }
    if plan.chapters.contains(&crate::Chapter::Capacity) {
        notes.push(
            "The capacity chapter's steps are sent as `speedup bench --find-max` sends them (HTTP/1.1 \
             keep-alive, open loop, latencies from each request's due time); its chart is capacity.svg, \
             every step in summary.json (`capacity`)."
                .to_string(),
        );
    }
    match &plan.target {
        Some(url) => notes.push(format!("Server under test: {url}.")),
        None => notes.push(format!(
            "Server under test: the embedded `speedup serve` on 127.0.0.1 with a {}-thread blocking pool, \
             load generator and server sharing this machine.",
            plan.threads
        )),
    }
    for (label, url) in &plan.compare {
        notes.push(format!(
            "Compared with: {label} at {url}, run with the same requests and concurrency."
        ));
    }
    notes
}

/// A file-name-safe version of a scenario name: `FastAPI baseline` →
/// `fastapi-baseline`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "scenario".into()
    } else {
        out
    }
}

/// The report's files as they are written into the temporary folder.
struct Files<'a> {
    dir: &'a Path,
    names: Vec<String>,
}

impl Files<'_> {
    /// Writes file `name` with `write` and remembers its name.
    fn write(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    ) -> Result<(), LabError> {
        let path = self.dir.join(name);
        let fail = |source| LabError::Write {
            path: path.clone(),
            source,
        };
        let mut w = BufWriter::new(File::create(&path).map_err(fail)?);
        write(&mut w).map_err(fail)?;
        w.flush().map_err(fail)?;
        self.names.push(name.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("FastAPI baseline"), "fastapi-baseline");
        assert_eq!(slug("a/b..c"), "a-b-c");
        assert_eq!(slug("///"), "scenario");
    }
}
