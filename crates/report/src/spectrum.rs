//! The percentile spectrum, HdrHistogram's plot: latency (y) against the
//! percentile (x) on a 1/(1−p) logarithmic axis, so each "nine" (90 %,
//! 99 %, 99.9 %, 99.99 %) gets the same width and the tail above p99, where
//! a stall shows, is as visible as the median. The maximum (100 %) has no
//! place on that axis; it is drawn at the right edge, under a `max` tick.
//!
//! One line per series: a run's corrected latencies solid and its
//! uncorrected ones dashed in the same colour, so the gap between them is
//! what coordinated omission hides.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use hdrhistogram::Histogram;
use speedup_stats::hist_spectrum;

use crate::plot::{
    check_size, clean, legend, register_font, render_svg_of, tick_label, trim_zeros, write_png_of,
    Picture, PlotError, FAMILY, IDEAL_COLOUR, PALETTE,
};

/// One line of the spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumLine {
    /// The legend's name.
    pub name: String,
    /// `(percentile 0..=100, ms)`, by rising percentile.
    pub points: Vec<(f64, f64)>,
    /// Which [`PALETTE`] colour (lines of one run share one).
    pub colour: usize,
    /// Dashed (a run's uncorrected latencies) rather than solid.
    pub dashed: bool,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumSpec {
    /// Caption above the chart.
    pub title: String,
    /// The lines, drawn in order.
    pub lines: Vec<SpectrumLine>,
    /// A dashed horizontal line at this latency, in ms (e.g. the sleep).
    pub ideal_ms: Option<f64>,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
}

impl SpectrumSpec {
    /// A spectrum of `lines` at the default size, 960×540.
    pub fn new(title: impl Into<String>, lines: Vec<SpectrumLine>) -> SpectrumSpec {
        SpectrumSpec {
            title: title.into(),
            lines,
            ideal_ms: None,
            width: 960,
            height: 540,
        }
    }
}

/// Renders the spectrum as an SVG document.
pub fn render_spectrum_svg(spec: &SpectrumSpec) -> Result<String, PlotError> {
    let chart = prepare(spec)?;
    render_svg_of(&chart, (spec.width, spec.height))
}

/// Renders the spectrum as a PNG file at `path`.
pub fn write_spectrum_png(spec: &SpectrumSpec, path: &Path) -> Result<(), PlotError> {
    let chart = prepare(spec)?;
    write_png_of(&chart, (spec.width, spec.height), path)
}

/// The 1/(1−p) position of percentile `pct`; 100 % goes to `edge`.
fn position(pct: f64, edge: f64) -> f64 {
    if pct >= 100.0 {
        edge
    } else {
        (1.0 / (1.0 - pct / 100.0)).min(edge)
    }
}

/// A checked spec, the axis' right edge (where the max goes) and the
/// highest latency.
struct SpectrumChart<'a> {
    spec: &'a SpectrumSpec,
    edge: f64,
    top_ms: f64,
}

fn prepare(spec: &SpectrumSpec) -> Result<SpectrumChart<'_>, PlotError> {
    check_size(spec.width, spec.height)?;
    if spec.lines.is_empty() {
        return Err(PlotError::NoSeries);
    }
    let mut last = 1.0f64;
    let mut top_ms = 0.0f64;
    for line in &spec.lines {
        if line.points.is_empty() {
            return Err(PlotError::EmptySeries(line.name.clone()));
        }
        let bad = |&(p, ms): &(f64, f64)| {
            !p.is_finite() || !ms.is_finite() || !(0.0..=100.0).contains(&p) || ms < 0.0
        };
        if line.points.iter().any(bad) {
            return Err(PlotError::NotFinite(line.name.clone()));
        }
        for &(p, ms) in &line.points {
            if p < 100.0 {
                last = last.max(1.0 / (1.0 - p / 100.0));
            }
            top_ms = top_ms.max(ms);
        }
    }
    if let Some(ideal) = spec.ideal_ms {
        if !(ideal.is_finite() && ideal > 0.0) {
            return Err(PlotError::BadIdeal(ideal));
        }
        top_ms = top_ms.max(ideal);
    }
    register_font()?;
    // The axis runs to the decade past the last finite point (99 % at
    // least), and the max sits half a decade further.
    let decades = last.log10().ceil().max(2.0);
    Ok(SpectrumChart {
        spec,
        edge: 10f64.powf(decades) * 3.0,
        top_ms: if top_ms > 0.0 { top_ms } else { 1.0 },
    })
}

impl Picture for SpectrumChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let edge = self.edge;
        // 0 %, 50 %, then every nine up to the last decade, then the max.
        let mut keys = vec![1.0, 2.0];
        let mut decade = 10.0;
        while decade < edge {
            keys.push(decade);
            decade *= 10.0;
        }
        keys.push(edge);
        let x = (1.0..edge).log_scale().with_key_points(keys);
        let mut chart = ChartBuilder::on(root)
            .caption(clean(&self.spec.title), (FAMILY, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x, 0f64..self.top_ms * 1.08)?;
        chart
            .configure_mesh()
            .x_desc("Percentile (1/(1−p) scale: each nine as wide as the last)")
            .y_desc("Latency (ms)")
            .axis_desc_style((FAMILY, 16))
            .label_style((FAMILY, 13))
            .x_label_formatter(&|t| percentile_label(*t, edge))
            .y_label_formatter(&|ms| tick_label(*ms))
            .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
            .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
            .max_light_lines(4)
            .draw()?;
        for line in &self.spec.lines {
            let colour = PALETTE[line.colour % PALETTE.len()];
            let style = colour.stroke_width(2);
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|&(p, ms)| (position(p, edge), ms))
                .collect();
            let name = clean(&line.name);
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 8, 5, style))?
                    .label(name)
                    .legend(move |(x, y)| {
                        DashedPathElement::new(vec![(x, y), (x + 24, y)], 8, 5, style)
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(points, style))?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
            }
        }
        if let Some(ideal) = self.spec.ideal_ms {
            let style = IDEAL_COLOUR.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(
                    [(1.0, ideal), (edge, ideal)],
                    8,
                    6,
                    style,
                ))?
                .label(format!("ideal ({} ms)", tick_label(ideal)))
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 8, 6, style)
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// The spectrum of `h` (µs) as a line in ms, by `speedup_stats`'s
/// [`hist_spectrum`]. Empty histograms give no points.
pub fn line_of_hist(name: String, h: &Histogram<u64>, colour: usize, dashed: bool) -> SpectrumLine {
    SpectrumLine {
        name,
        points: hist_spectrum(h)
            .into_iter()
            .map(|(p, us)| (p, us as f64 / 1000.0))
            .collect(),
        colour,
        dashed,
    }
}

/// The tick label at 1/(1−p) position `t`: `0%`, `50%`, `99.9%`, or `max`
/// at the edge.
fn percentile_label(t: f64, edge: f64) -> String {
    if (t - edge).abs() <= edge * 1e-9 {
        return "max".to_owned();
    }
    let pct = 100.0 * (1.0 - 1.0 / t);
    format!("{}%", trim_zeros(format!("{pct:.6}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_are_evenly_spaced_and_labelled() {
        assert_eq!(position(0.0, 3000.0), 1.0);
        assert!((position(99.0, 3000.0) - 100.0).abs() < 1e-9);
        assert_eq!(position(100.0, 3000.0), 3000.0);
        assert_eq!(percentile_label(1.0, 3000.0), "0%");
        assert_eq!(percentile_label(2.0, 3000.0), "50%");
        assert_eq!(percentile_label(10.0, 3000.0), "90%");
        assert_eq!(percentile_label(10_000.0, 30_000.0), "99.99%");
        assert_eq!(percentile_label(3000.0, 3000.0), "max");
    }

    #[test]
    fn bad_points_are_refused() {
        let line = |points| SpectrumLine {
            name: "x".into(),
            points,
            colour: 0,
            dashed: false,
        };
        for points in [
            vec![(101.0, 1.0)],
            vec![(50.0, f64::NAN)],
            vec![(50.0, -1.0)],
        ] {
            let spec = SpectrumSpec::new("t", vec![line(points)]);
            assert!(matches!(
                render_spectrum_svg(&spec),
                Err(PlotError::NotFinite(_))
            ));
        }
        let spec = SpectrumSpec::new("t", vec![line(Vec::new())]);
        assert!(matches!(
            render_spectrum_svg(&spec),
            Err(PlotError::EmptySeries(_))
        ));
        assert!(matches!(
            render_spectrum_svg(&SpectrumSpec::new("t", Vec::new())),
            Err(PlotError::NoSeries)
        ));
    }
}
