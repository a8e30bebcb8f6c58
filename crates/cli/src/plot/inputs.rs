//! What `speedup plot` reads besides a sweep: ab `-e` CSVs, interval logs
//! (`speedup bench --hdr-log`) and bench's or merge's `--json`, told apart
//! by their first bytes (a pipe or device is read as a CSV, within the CSV
//! reader's bounds). A CSV becomes a CDF, or a spectrum line; a log or a
//! JSON result one spectrum line, or two when it holds the uncorrected
//! latencies too (dashed, in the same colour).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use speedup_bench::merge::{self, Latency};
use speedup_report::bench_json;
use speedup_report::cdf_csv::Cdf;
use speedup_report::spectrum::{line_of_hist, SpectrumLine};

use super::split_name;

/// One input, read.
pub enum Input {
    /// An ab CSV: a CDF, or a spectrum line with `--spectrum`.
    Csv(Cdf),
    /// An interval log or a bench result: spectrum lines.
    Lines(Vec<SpectrumLine>),
}

/// What a file holds, from its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Csv,
    Log,
    Json,
}

/// Reads one `[NAME=]FILE` argument; its lines take `colour`.
pub fn read_input(input: &str, colour: usize) -> anyhow::Result<Input> {
    let (name, path) = split_name(input)?;
    let stem = || {
        path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let name = name.map_or_else(stem, str::to_owned);
    Ok(match kind_of(path) {
        Kind::Csv => {
            let mut cdf = Cdf::from_path(path)?;
            cdf.name = name;
            Input::Csv(cdf)
        }
        Kind::Json => Input::Lines(bench_json::spectrum_lines(path, &name, colour)?),
        Kind::Log => {
            let merged = merge::merge(&[path.to_path_buf()])?;
            crate::merge::warn_unterminated("speedup plot", &merged);
            let primary = match merged.latency {
                Latency::Unknown => name.clone(),
                kind => format!("{name} ({})", kind.name()),
            };
            if merged.hist.is_empty() {
                anyhow::bail!(
                    "{}: the log holds no latency (no response was recorded)",
                    path.display()
                );
            }
            let mut lines = vec![line_of_hist(primary, &merged.hist, colour, false)];
            if let Some(u) = merged.uncorrected.as_ref().filter(|u| !u.is_empty()) {
                lines.push(line_of_hist(
                    format!("{name} (uncorrected)"),
                    u,
                    colour,
                    true,
                ));
            }
            Input::Lines(lines)
        }
    })
}

/// A CSV's rows as a spectrum line.
pub fn csv_line(cdf: &Cdf, colour: usize) -> SpectrumLine {
    SpectrumLine {
        name: cdf.name.clone(),
        points: cdf.points.clone(),
        colour,
        dashed: false,
    }
}

/// A regular file's kind by its first bytes; anything else is a CSV.
fn kind_of(path: &Path) -> Kind {
    let Ok(file) = File::open(path) else {
        return Kind::Csv;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Kind::Csv;
    }
    let mut head = Vec::with_capacity(64);
    if file.take(64).read_to_end(&mut head).is_err() {
        return Kind::Csv;
    }
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start();
    if text.starts_with('{') {
        Kind::Json
    } else if text.starts_with('#')
        || text.starts_with("\"StartTimestamp\"")
        || text.starts_with("Tag=")
    {
        Kind::Log
    } else {
        Kind::Csv
    }
}
