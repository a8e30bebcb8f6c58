//! `speedup plot`: draws the article's figure, the response-time CDF of one
//! or more ab `-e` CSVs, or the percentile spectrum (a 1/(1−p) axis) of
//! CSVs, interval logs and bench results ([`inputs`]), as SVG or PNG (by
//! the output's extension, nothing else).
//!
//! This module only turns flags into a chart spec; reading the files and
//! drawing live in `speedup-report` (and the logs' reader in
//! `speedup-bench`).

mod inputs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use inputs::Input;
use speedup_report::escape::escaped;
use speedup_report::plot::{render_svg, write_png, ChartSpec, PlotError};
use speedup_report::spectrum::{render_spectrum_svg, write_spectrum_png, SpectrumSpec};
use speedup_report::sweep::{render_sweep_svg, write_sweep_png, Sweep};

/// Flags of `speedup plot`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  speedup ab -n 1000 -c 100 -e baseline.csv http://127.0.0.1:8000/baseline/sleep/0.1\n  \
                  speedup ab -n 1000 -c 100 -e async.csv http://127.0.0.1:8000/async/sleep/0.1\n  \
                  speedup plot --ideal 100 -o chart.svg baseline.csv async.csv"
)]
pub struct PlotArgs {
    /// Output file: `.svg` or `.png`
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,

    /// ab CSVs written with `ab -e FILE`, interval logs (`speedup bench
    /// --hdr-log`) or bench results (`speedup bench --json`); the legend shows
    /// each file's stem, or NAME when given as NAME=FILE. With --sweep: the
    /// lab's summary.json.
    #[arg(value_name = "[NAME=]FILE", required = true)]
    pub inputs: Vec<String>,

    /// Draw the concurrency sweep (p50/p95 against clients) from the
    /// summary.json of `speedup lab --sweep`.
    #[arg(long)]
    pub sweep: bool,

    /// Draw a dashed vertical line at this response time in ms (e.g. the
    /// endpoint's sleep).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub ideal: Option<f64>,

    /// Use a logarithmic time axis (the CDF's).
    #[arg(long = "log-x")]
    pub log_x: bool,

    /// Draw the percentile spectrum: latency against percentile on a
    /// 1/(1−p) axis, every nine as wide as the last. The default for
    /// interval logs and bench results; ab CSVs get the CDF without it.
    #[arg(long)]
    pub spectrum: bool,

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
    check_output(&args.output)?;
    if args.sweep {
        return sweep(&args);
    }
    if let Some(ideal) = args.ideal {
        if !(ideal.is_finite() && ideal > 0.0) {
            bail!("--ideal must be a positive number of ms (e.g. --ideal 100), got {ideal}");
        }
    }
    let read = args
        .inputs
        .iter()
        .enumerate()
        .map(|(colour, input)| inputs::read_input(input, colour))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let all_csv = read.iter().all(|i| matches!(i, Input::Csv(_)));
    if args.spectrum || !all_csv {
        return spectrum(&args, read);
    }
    let series = read
        .into_iter()
        .filter_map(|i| match i {
            Input::Csv(cdf) => Some(cdf),
            Input::Lines(_) => None,
        })
        .collect();
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

/// The percentile spectrum of every input.
fn spectrum(args: &PlotArgs, read: Vec<Input>) -> anyhow::Result<ExitCode> {
    if args.log_x {
        bail!("--log-x is for the CDF of ab CSVs: the spectrum's percentile axis is logarithmic already; drop --log-x");
    }
    let lines: Vec<_> = read
        .into_iter()
        .enumerate()
        .flat_map(|(colour, input)| match input {
            Input::Csv(cdf) => vec![inputs::csv_line(&cdf, colour)],
            Input::Lines(lines) => lines,
        })
        .collect();
    let spec = SpectrumSpec {
        title: args.title.clone(),
        lines,
        ideal_ms: args.ideal,
        width: args.width,
        height: args.height,
    };
    let out = &args.output;
    write_chart(
        out,
        |png| write_spectrum_png(&spec, png),
        || render_spectrum_svg(&spec),
    )?;
    eprintln!(
        "wrote {} (percentile spectrum, {} lines)",
        escaped(out.display()),
        spec.lines.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Refuses an output `plot` cannot write: `.svg` and `.png` only, so `-o
/// chart.pdf` is not an SVG under a PDF's name.
fn check_output(out: &Path) -> anyhow::Result<()> {
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase());
    match ext.as_deref() {
        Some("svg" | "png") => Ok(()),
        Some(other) => bail!(
            "-o {}: plot writes SVG or PNG, not .{}: name the output FILE.svg or FILE.png",
            escaped(out.display()),
            escaped(other)
        ),
        None => bail!(
            "-o {}: name the output FILE.svg or FILE.png (the extension picks the format)",
            escaped(out.display())
        ),
    }
}

/// `speedup plot --sweep summary.json -o sweep.svg`.
fn sweep(args: &PlotArgs) -> anyhow::Result<ExitCode> {
    let [input] = args.inputs.as_slice() else {
        bail!("--sweep draws one file: give the summary.json of `speedup lab --sweep`");
    };
    let sweep = Sweep::from_summary(Path::new(input))?;
    let title = if args.title == DEFAULT_TITLE {
        if sweep.points.iter().all(|p| p.max_ms.is_some()) {
            "p50 and max against concurrency"
        } else {
            "p50 and p95 against concurrency"
        }
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

/// Splits a `[NAME=]FILE` argument. An argument that names an existing
/// file is a path even if it contains `=`, so odd file names still work.
pub(crate) fn split_name(input: &str) -> anyhow::Result<(Option<&str>, &Path)> {
    match input.split_once('=') {
        Some((name, path)) if !Path::new(input).exists() => {
            if name.is_empty() || path.is_empty() {
                bail!(
                    "bad input `{}`: write NAME=FILE or just FILE",
                    escaped(input)
                );
            }
            Ok((Some(name), Path::new(path)))
        }
        _ => Ok((None, Path::new(input))),
    }
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
