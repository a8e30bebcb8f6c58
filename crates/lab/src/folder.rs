//! The report folder: per scenario ab's CSV (`NAME.csv`) and text report
//! (`NAME.txt`); `summary.json`; `cdf.svg`; and `index.html`, one
//! self-contained page with the chart inline.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use speedup_ab as ab;
use speedup_report::cdf_csv::Cdf;
use speedup_report::html::{self, LabPage, ScenarioRow};
use speedup_report::plot::{self, ChartSpec};
use speedup_report::stats;

use crate::{LabError, LabPlan, Measurement};

/// `summary.json`: the plan's numbers and one entry per scenario.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// Requests per scenario.
    pub requests: u64,
    /// Concurrency of every run.
    pub concurrency: u32,
    /// The sleep asked of the server, in ms: the ideal response time.
    pub ideal_ms: f64,
    /// The embedded server's blocking pool size.
    pub threads: usize,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<&'a ScenarioRow>,
}

/// Writes the whole folder; returns the path of `index.html`.
pub fn write(plan: &LabPlan, results: &[Measurement]) -> Result<PathBuf, LabError> {
    let dir = &plan.out_dir;
    fs::create_dir_all(dir).map_err(|source| LabError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut series = Vec::new();
    for m in results {
        let slug = slug(&m.row.name);
        let samples = &m.report.samples;
        write_file(&dir.join(format!("{slug}.csv")), |w| {
            ab::write_csv(samples, w)
        })?;
        write_file(&dir.join(format!("{slug}.txt")), |w| {
            ab::write_text(&m.report, w)
        })?;
        series.push(cdf(&m.row.name, samples));
    }
    let summary = Summary {
        requests: plan.requests,
        concurrency: plan.concurrency,
        ideal_ms: plan.ideal_ms(),
        threads: plan.threads,
        scenarios: results.iter().map(|m| &m.row).collect(),
    };
    write_file(&dir.join("summary.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &summary).map_err(std::io::Error::other)?;
        writeln!(w)
    })?;

    let mut spec = ChartSpec::new(
        format!(
            "ab -n{} -c{}: response time CDF",
            plan.requests, plan.concurrency
        ),
        series,
    );
    spec.ideal_ms = Some(plan.ideal_ms());
    let svg = plot::render_svg(&spec)?;
    write_file(&dir.join("cdf.svg"), |w| w.write_all(svg.as_bytes()))?;

    let page = LabPage {
        title: "Speed up your server: blocking pool vs async timers".into(),
        intro: html::article_intro(
            plan.requests,
            u64::from(plan.concurrency),
            plan.ideal_ms(),
            plan.threads as u64,
        ),
        chart_svg: svg,
        ideal_ms: plan.ideal_ms(),
        rows: results.iter().map(|m| m.row.clone()).collect(),
        notes: notes(plan),
    };
    let index = dir.join("index.html");
    write_file(&index, |w| html::render_lab_page(&page, w))?;
    Ok(index)
}

/// The chart series of one run: the same 101 rows as its `-e` CSV.
fn cdf(name: &str, sorted: &[speedup_load::Sample]) -> Cdf {
    Cdf {
        name: name.to_string(),
        points: stats::cdf_rows(sorted)
            .into_iter()
            .map(|(pct, s)| (f64::from(pct), stats::ms_f64(u64::from(s.total_us))))
            .collect(),
    }
}

fn notes(plan: &LabPlan) -> Vec<String> {
    let mut notes = vec![format!(
        "Each scenario: {} requests, {} at a time, HTTP/1.0 without keep-alive, as `ab -n{} -c{}` sends them; \
         percentiles by ab's rule; files NAME.csv (ab -e format) and NAME.txt (ab's report) beside this page.",
        plan.requests, plan.concurrency, plan.requests, plan.concurrency
    )];
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

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), LabError> {
    let fail = |source| LabError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(fail)?);
    write(&mut w).map_err(fail)?;
    w.flush().map_err(fail)
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
