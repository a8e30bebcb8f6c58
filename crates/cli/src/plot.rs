//! `speedup plot`: draws the article's figure, the response-time CDF of one
//! or more ab `-e` CSVs, as SVG or (for a `.png` output) PNG.
//!
//! This module only turns flags into a [`ChartSpec`]; reading the CSVs and
//! drawing live in `speedup-report`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use speedup_report::cdf_csv::Cdf;
use speedup_report::escape::escaped;
use speedup_report::plot::{render_svg, write_png, ChartSpec, PlotError};
use speedup_report::sweep::{render_sweep_svg, write_sweep_png, Sweep};

/// Flags of `speedup plot`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  speedup ab -n 1000 -c 100 -e baseline.csv http://127.0.0.1:8000/baseline/sleep/0.1\n  \
                  speedup ab -n 1000 -c 100 -e async.csv http://127.0.0.1:8000/async/sleep/0.1\n  \
                  speedup plot --ideal 100 -o chart.svg baseline.csv async.csv"
)]
pub struct PlotArgs {
    /// Output file: PNG if it ends in `.png`, SVG otherwise.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// ab CSVs written with `ab -e FILE`; the legend shows each file's stem,
    /// or NAME when given as NAME=FILE. With --sweep: the lab's summary.json.
    #[arg(value_name = "[NAME=]CSV", required = true)]
    pub inputs: Vec<String>,

    /// Draw the concurrency sweep (p50/p95 against clients) from the
    /// summary.json of `speedup lab --sweep`.
    #[arg(long)]
    pub sweep: bool,

    /// Draw a dashed vertical line at this response time in ms (e.g. the
    /// endpoint's sleep).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub ideal: Option<f64>,

    /// Use a logarithmic time axis.
    #[arg(long = "log-x")]
    pub log_x: bool,

    /// Chart title.
    #[arg(long, default_value = DEFAULT_TITLE)]
    pub title: String,

    /// Picture width in pixels.
    #[arg(long, default_value_t = 960, value_name = "PX")]
    pub width: u32,

    /// Picture height in pixels.
    #[arg(long, default_value_t = 600, value_name = "PX")]
    pub height: u32,
}

/// Runs `speedup plot`.
pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    if args.sweep {
        return sweep(&args);
    }
    if let Some(ideal) = args.ideal {
        if !(ideal.is_finite() && ideal > 0.0) {
            bail!("--ideal must be a positive number of ms (e.g. --ideal 100), got {ideal}");
        }
    }
    let series = args
        .inputs
        .iter()
        .map(|input| read_series(input))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = ChartSpec {
        title: args.title,
        series,
        ideal_ms: args.ideal,
        log_x: args.log_x,
        width: args.width,
        height: args.height,
    };
    let out = &args.output;
    write_chart(out, |png| write_png(&spec, png), || render_svg(&spec))?;
    eprintln!(
        "wrote {} ({} series)",
        escaped(out.display()),
        spec.series.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `speedup plot --sweep summary.json -o sweep.svg`.
fn sweep(args: &PlotArgs) -> anyhow::Result<ExitCode> {
    let [input] = args.inputs.as_slice() else {
        bail!("--sweep draws one file: give the summary.json of `speedup lab --sweep`");
    };
    let sweep = Sweep::from_summary(Path::new(input))?;
    let title = if args.title == DEFAULT_TITLE {
        "p50 and p95 against concurrency"
    } else {
        &args.title
    };
    let out = &args.output;
    write_chart(
        out,
        |png| write_sweep_png(&sweep, title, png),
        || render_sweep_svg(&sweep, title),
    )?;
    eprintln!(
        "wrote {} ({} sweep points)",
        escaped(out.display()),
        sweep.points.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The default `--title`.
const DEFAULT_TITLE: &str = "Response time distribution";

/// Reads one `[NAME=]CSV` argument. An argument that names an existing file
/// is a path even if it contains `=`, so odd file names still work.
fn read_series(input: &str) -> anyhow::Result<Cdf> {
    let (name, path) = match input.split_once('=') {
        Some((name, path)) if !Path::new(input).exists() => {
            if name.is_empty() || path.is_empty() {
                bail!(
                    "bad input `{}`: write NAME=FILE.csv or just FILE.csv",
                    escaped(input)
                );
            }
            (Some(name), Path::new(path))
        }
        _ => (None, Path::new(input)),
    };
    let mut cdf = Cdf::from_path(path)?;
    if let Some(name) = name {
        cdf.name = name.to_owned();
    }
    Ok(cdf)
}

/// Writes the chart to `out`: drawn by `png` if `out` ends in `.png`,
/// else rendered by `svg` and written as is.
fn write_chart(
    out: &Path,
    png: impl FnOnce(&Path) -> Result<(), PlotError>,
    svg: impl FnOnce() -> Result<String, PlotError>,
) -> anyhow::Result<()> {
    if is_png(out) {
        png(out)?;
    } else {
        std::fs::write(out, svg()?).with_context(|| {
            format!(
                "cannot write -o {}: check the directory exists",
                escaped(out.display())
            )
        })?;
    }
    Ok(())
}

/// Whether the output should be PNG: a `.png` extension in any case.
fn is_png(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("png"))
}
