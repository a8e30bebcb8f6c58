//! The page of one or more `speedup bench` runs (`speedup report`, `speedup
//! bench --report`): one self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched). For each run, and overlaid when there are
//! several: the percentile spectrum (corrected solid, uncorrected dashed),
//! latency over time (p50, p99 and max per second), responses per second
//! over time, and a table of percentiles; with two runs, the comparison
//! of `speedup compare`.
//!
//! The page lays out figures it is given: percentiles come from
//! `speedup-stats` (the histograms' summaries and spectra, the runs'
//! seconds and the comparison), as everywhere else.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use speedup_stats::bootstrap::{Comparison, Verdict, CONFIDENCE, MIN_TAIL};
use speedup_stats::series::Second;
use speedup_stats::{HistSummary, BENCH_PERCENTILES};

use crate::html::{escape, figure, open_document, paragraphs};
use crate::plot::PlotError;
use crate::spectrum::{line_of_hist, render_spectrum_svg, SpectrumLine, SpectrumSpec};
use crate::timeseries::{render_time_svg, Stroke, TimeLine, TimeSpec};

/// One run as the page shows it.
#[derive(Debug, Clone)]
pub struct PageRun<'a> {
    /// Its name (a file stem, or the name given).
    pub name: String,
    /// The logs it was read from.
    pub files: Vec<String>,
    /// `corrected`, `uncorrected` or `unknown`: what `hist` holds.
    pub latency: &'a str,
    /// Every latency of the run, µs.
    pub hist: &'a Histogram<u64>,
    /// An open-loop run's uncorrected latencies, µs.
    pub uncorrected: Option<&'a Histogram<u64>>,
    /// The run second by second (or block by block).
    pub seconds: Vec<Second>,
    /// Seconds per point of `seconds`.
    pub unit_s: u64,
    /// From the first interval's start to the last one's end, s.
    pub span_s: f64,
}

/// The whole page.
#[derive(Debug, Clone)]
pub struct BenchPage<'a> {
    /// Title and heading.
    pub title: String,
    /// The runs, in the order given.
    pub runs: Vec<PageRun<'a>>,
    /// With two runs: the second compared with the first, or why not.
    pub comparison: Option<Result<&'a Comparison, String>>,
}

/// The page as one HTML document.
pub fn bench_page_html(page: &BenchPage) -> Result<String, PlotError> {
    let mut out = String::with_capacity(256 << 10);
    render(page, &mut out).map_err(|message| match message {
        Failure::Chart(e) => e,
        Failure::Format => PlotError::Draw {
            target: None,
            message: "formatting the page failed".into(),
        },
    })?;
    Ok(out)
}

/// Why the page could not be built.
enum Failure {
    Chart(PlotError),
    Format,
}

impl From<PlotError> for Failure {
    fn from(e: PlotError) -> Failure {
        Failure::Chart(e)
    }
}

impl From<std::fmt::Error> for Failure {
    fn from(_: std::fmt::Error) -> Failure {
        Failure::Format
    }
}

fn render(page: &BenchPage, out: &mut String) -> Result<(), Failure> {
    open_document(&page.title, STYLE, out)?;
    let several = page.runs.len() > 1;
    paragraphs(
        &format!(
            "{} from the interval logs of `speedup bench --hdr-log`. The percentile spectrum \
             draws every percentile on a scale where each nine (90 %, 99 %, 99.9 %, ...) is \
             as wide as the last, so the tail is as visible as the median; an open-loop \
             run's uncorrected latencies are dashed beside its corrected ones. Below it: \
             latency and responses per second, second by second, and the percentiles.",
            match page.runs.len() {
                1 => "One run".to_string(),
                n => format!("{n} runs, overlaid first, then one by one,"),
            }
        ),
        out,
    )?;
    let all: Vec<(usize, &PageRun)> = page.runs.iter().enumerate().collect();
    if several {
        writeln!(out, "<section id=\"overlay\">\n<h2>All runs</h2>")?;
        charts("overlay", &all, out)?;
        writeln!(out, "</section>")?;
    }
    if let Some(comparison) = &page.comparison {
        compare_section(page, comparison, out)?;
    }
    for (i, run) in &all {
        writeln!(
            out,
            "<section id=\"run-{}\">\n<h2>{}</h2>",
            i + 1,
            escape(&run.name)
        )?;
        paragraphs(&describe(run), out)?;
        charts(&format!("run-{}", i + 1), &[(*i, run)], out)?;
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</main>\n</body>\n</html>")?;
    Ok(())
}

/// One sentence on a run: its files, what its latencies are, how much.
fn describe(run: &PageRun) -> String {
    let count = run.hist.len();
    let rate = if run.span_s > 0.0 {
        count as f64 / run.span_s
    } else {
        0.0
    };
    let kind = match run.latency {
        "corrected" => {
            "latencies corrected for coordinated omission (an open-loop run, from \
                        each request's due time), the uncorrected ones dashed beside them"
        }
        "uncorrected" => "latencies from each request's send (a closed-loop run)",
        _ => "latencies of a kind the log does not say",
    };
    let files: Vec<String> = run.files.iter().map(|f| format!("`{f}`")).collect();
    format!(
        "{count} responses over {:.1} s ({rate:.1} per second) from {}: {kind}.",
        run.span_s,
        files.join(", ")
    )
}

/// The spectrum, the two time charts and the percentile table of `runs`,
/// ids prefixed with `id`.
fn charts(id: &str, runs: &[(usize, &PageRun)], out: &mut String) -> Result<(), Failure> {
    let title = |what: &str| match runs {
        [(_, run)] => format!("{}: {what}", run.name),
        _ => format!("All runs: {what}"),
    };
    let lines = spectrum_lines(runs);
    if !lines.is_empty() {
        let svg = render_spectrum_svg(&SpectrumSpec::new(title("percentile spectrum"), lines))?;
        figure(
            &format!("{id}-spectrum"),
            &svg,
            "Latency (y) at every percentile (x). Read across for the share of requests \
             within a time; a line that rises steeply at the right is a tail.",
            out,
        )?;
    }
    let unit = runs.iter().map(|(_, r)| r.unit_s).max().unwrap_or(1);
    let per = if unit == 1 {
        "per second".to_string()
    } else {
        format!("per {unit}-second block")
    };
    let latency = latency_lines(runs);
    if !latency.is_empty() {
        let spec = TimeSpec::new(title("latency over time"), "Latency (ms)", latency);
        figure(
            &format!("{id}-latency"),
            &render_time_svg(&spec)?,
            &format!(
                "The median (solid), 99th percentile (dashed) and slowest response (dotted) \
                 {per}; gaps are seconds in which nothing completed."
            ),
            out,
        )?;
    }
    if runs.iter().any(|(_, r)| !r.seconds.is_empty()) {
        let spec = TimeSpec::new(
            title("responses per second"),
            "Responses per second",
            rate_lines(runs),
        );
        figure(
            &format!("{id}-rps"),
            &render_time_svg(&spec)?,
            &format!("Responses that completed, {per} (errors are not in the interval log)."),
            out,
        )?;
    }
    percentile_table(&format!("{id}-percentiles"), runs, out)?;
    Ok(())
}

/// Each run's spectrum, and its uncorrected one dashed in the same colour.
fn spectrum_lines(runs: &[(usize, &PageRun)]) -> Vec<SpectrumLine> {
    let mut lines = Vec::new();
    for &(colour, run) in runs {
        if !run.hist.is_empty() {
            let name = format!("{} ({})", run.name, run.latency);
            lines.push(line_of_hist(name, run.hist, colour, false));
        }
        if let Some(u) = run.uncorrected.filter(|u| !u.is_empty()) {
            let name = format!("{} (uncorrected)", run.name);
            lines.push(line_of_hist(name, u, colour, true));
        }
    }
    lines
}

/// p50 (solid), p99 (dashed) and max (dotted) per second, a colour per run;
/// lines with no value at all are left out.
fn latency_lines(runs: &[(usize, &PageRun)]) -> Vec<TimeLine> {
    type Pick = fn(&(u64, u64, u64)) -> u64;
    let figures: [(&str, Stroke, Pick); 3] = [
        ("p50", Stroke::Solid, |f| f.0),
        ("p99", Stroke::Dashed, |f| f.1),
        ("max", Stroke::Dotted, |f| f.2),
    ];
    let mut lines = Vec::new();
    for &(colour, run) in runs {
        let prefix = if runs.len() == 1 {
            String::new()
        } else {
            format!("{} ", run.name)
        };
        for (name, stroke, pick) in figures {
            let points = run
                .seconds
                .iter()
                .map(|s| {
                    (
                        s.start_s as f64,
                        s.p50_p99_max_us.as_ref().map(|f| pick(f) as f64 / 1000.0),
                    )
                })
                .collect();
            lines.push(TimeLine {
                name: format!("{prefix}{name}"),
                colour,
                stroke,
                points,
            });
        }
    }
    lines.retain(|l| l.points.iter().any(|(_, v)| v.is_some()));
    lines
}

/// Responses per second, a line per run. A unit cut short (the run's last,
/// partial second) is left out: its few responses over a sliver of a
/// second are no rate.
fn rate_lines(runs: &[(usize, &PageRun)]) -> Vec<TimeLine> {
    runs.iter()
        .map(|&(colour, run)| {
            let whole = run.unit_s as f64 / 2.0;
            let points = run
                .seconds
                .iter()
                .map(|s| (s.start_s as f64, (s.length_s >= whole).then(|| s.rate())))
                .collect();
            TimeLine {
                name: run.name.clone(),
                colour,
                stroke: Stroke::Solid,
                points,
            }
        })
        .collect()
}

/// Count, min, mean, stdev, the percentiles and max of each run (and of its
/// uncorrected latencies), one column each.
fn percentile_table(id: &str, runs: &[(usize, &PageRun)], out: &mut String) -> std::fmt::Result {
    let mut columns: Vec<(String, Option<HistSummary>)> = Vec::new();
    for (_, run) in runs {
        columns.push((
            format!("{} ({})", run.name, run.latency),
            HistSummary::of(run.hist),
        ));
        if let Some(u) = run.uncorrected {
            columns.push((format!("{} (uncorrected)", run.name), HistSummary::of(u)));
        }
    }
    writeln!(
        out,
        "<div class=\"scroll\">\n<table id=\"{id}\" class=\"figures\">\n<caption>Latencies in ms, HdrHistogram's \
         percentiles (the highest value equivalent to the one at that rank, within 0.1 %).\
         </caption>\n<thead><tr><th></th>"
    )?;
    for (name, _) in &columns {
        write!(out, "<th>{}</th>", escape(name))?;
    }
    writeln!(out, "</tr></thead>\n<tbody>")?;
    let mut row = |label: &str, cell: &dyn Fn(&HistSummary) -> String| -> std::fmt::Result {
        write!(out, "<tr><td>{label}</td>")?;
        for (_, s) in &columns {
            write!(out, "<td>{}</td>", s.as_ref().map_or("–".into(), cell))?;
        }
        writeln!(out, "</tr>")
    };
    let ms = |us: f64| format!("{:.3}", us / 1000.0);
    row("responses", &|s| s.count.to_string())?;
    row("min", &|s| ms(s.min_us as f64))?;
    row("mean", &|s| ms(s.mean_us))?;
    row("stdev", &|s| ms(s.stdev_us))?;
    for p in BENCH_PERCENTILES {
        row(&format!("p{p}"), &|s| ms(s.at(p).unwrap_or(0) as f64))?;
    }
    row("max", &|s| ms(s.max_us as f64))?;
    writeln!(out, "</tbody>\n</table>\n</div>")
}

/// The comparison of the second run with the first, or why there is none.
fn compare_section(
    page: &BenchPage,
    comparison: &Result<&Comparison, String>,
    out: &mut String,
) -> std::fmt::Result {
    let (base, new) = (&page.runs[0].name, &page.runs[1].name);
    writeln!(
        out,
        "<section id=\"compare\">\n<h2>{} against {}</h2>",
        escape(new),
        escape(base)
    )?;
    let c = match comparison {
        Ok(c) => *c,
        Err(why) => {
            writeln!(
                out,
                "<p class=\"note\" id=\"compare-refused\">No comparison: {}</p>\n</section>",
                escape(why)
            )?;
            return Ok(());
        }
    };
    paragraphs(
        &format!(
            "What `speedup compare` says: the change is new − base, with a {:.0} % confidence \
             interval from {} resamples of each run's seconds (seed {}); `slower` or `faster` \
             when the whole interval lies beyond ±{} % of the base, `same` otherwise, and \
             for a percentile with fewer than {} responses above it in a run (the max has \
             none), which is shown but not judged.",
            CONFIDENCE * 100.0,
            c.resamples,
            c.seed,
            c.noise_pct,
            MIN_TAIL
        ),
        out,
    )?;
    writeln!(
        out,
        "<div class=\"scroll\">\n<table id=\"compare-table\">\n<thead><tr><th>metric</th>\
         <th>{}</th><th>{}</th><th>change</th><th>change %</th><th>95 % interval</th>\
         <th>verdict</th></tr></thead>\n<tbody>",
        escape(base),
        escape(new)
    )?;
    for ch in &c.changes {
        let (label, digits) = (ch.metric.label(), ch.metric.decimals());
        let pct = ch
            .change_pct
            .map_or("–".to_string(), |p| format!("{p:+.1} %"));
        let class = match ch.verdict {
            Verdict::Slower => "slower",
            Verdict::Faster => "faster",
            Verdict::Same => "same",
        };
        writeln!(
            out,
            "<tr><td>{label}</td><td>{:.digits$}</td><td>{:.digits$}</td><td>{:+.digits$}</td>\
             <td>{pct}</td><td>[{:+.digits$}, {:+.digits$}]</td><td class=\"{class}\">{}{}</td></tr>",
            ch.base,
            ch.new,
            ch.change,
            ch.ci.0,
            ch.ci.1,
            ch.verdict.name(),
            if ch.too_few { " (too few values)" } else { "" }
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</div>\n</section>")
}

/// The page's own styles, after the lab's.
const STYLE: &str = "
section { margin-top: 2.5rem; }
td.slower { color: #b00020; font-weight: bold; }
td.faster { color: #00734d; font-weight: bold; }
table.figures td:last-child, table.figures th:last-child { text-align: right; min-width: 0; }
.note { border-left: 4px solid #999; background: #f6f6f6; padding: 0.4rem 1rem; }
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_last_second_has_no_rate() {
        let hist = Histogram::<u64>::new(3).unwrap();
        let second = |start_s, length_s, count| Second {
            start_s,
            length_s,
            count,
            p50_p99_max_us: None,
        };
        let run = PageRun {
            name: "r".into(),
            files: Vec::new(),
            latency: "corrected",
            hist: &hist,
            uncorrected: None,
            seconds: vec![second(0, 1.0, 200), second(1, 1.0, 200), second(2, 0.02, 7)],
            unit_s: 1,
            span_s: 2.02,
        };
        let lines = rate_lines(&[(0, &run)]);
        assert_eq!(
            lines[0].points,
            [(0.0, Some(200.0)), (1.0, Some(200.0)), (2.0, None)]
        );
    }
}
