//! Figures over a run's time: latency percentiles per second, requests per
//! second. One line per figure and run: a colour per run, a stroke per
//! figure (solid, dashed, dotted), drawn in the legend as on the chart.
//! A line breaks where its figure has no value (a second in which nothing
//! completed) instead of joining its neighbours across the gap.

use std::path::Path;

use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::plot::{
    check_size, clean, legend, register_font, render_svg_of, tick_label, write_png_of, Picture,
    PlotError, FAMILY, PALETTE,
};

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    /// A solid line.
    Solid,
    /// Long dashes.
    Dashed,
    /// Short dots.
    Dotted,
}

impl Stroke {
    /// Dash and gap in pixels; `None` for solid.
    fn dashes(self) -> Option<(u32, u32)> {
        match self {
            Stroke::Solid => None,
            Stroke::Dashed => Some((8, 5)),
            Stroke::Dotted => Some((2, 4)),
        }
    }
}

/// One line: its name, look and points, `None` where it has no value.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeLine {
    /// The legend's name.
    pub name: String,
    /// Which [`PALETTE`] colour.
    pub colour: usize,
    /// How it is drawn.
    pub stroke: Stroke,
    /// `(seconds, value)` by rising time.
    pub points: Vec<(f64, Option<f64>)>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSpec {
    /// Caption above the chart.
    pub title: String,
    /// The y axis' description, e.g. `Latency (ms)`.
    pub y_desc: String,
    /// The lines.
    pub lines: Vec<TimeLine>,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
}

impl TimeSpec {
    /// A chart at the default size, 960×400.
    pub fn new(
        title: impl Into<String>,
        y_desc: impl Into<String>,
        lines: Vec<TimeLine>,
    ) -> TimeSpec {
        TimeSpec {
            title: title.into(),
            y_desc: y_desc.into(),
            lines,
            width: 960,
            height: 400,
        }
    }
}

/// Renders the chart as an SVG document.
pub fn render_time_svg(spec: &TimeSpec) -> Result<String, PlotError> {
    let chart = prepare(spec)?;
    render_svg_of(&chart, (spec.width, spec.height))
}

/// Renders the chart as a PNG file at `path`.
pub fn write_time_png(spec: &TimeSpec, path: &Path) -> Result<(), PlotError> {
    let chart = prepare(spec)?;
    write_png_of(&chart, (spec.width, spec.height), path)
}

/// A checked spec and its axis ends.
struct TimeChart<'a> {
    spec: &'a TimeSpec,
    end_s: f64,
    top: f64,
}

fn prepare(spec: &TimeSpec) -> Result<TimeChart<'_>, PlotError> {
    check_size(spec.width, spec.height)?;
    if spec.lines.is_empty() {
        return Err(PlotError::NoSeries);
    }
    let (mut end_s, mut top) = (0.0f64, 0.0f64);
    for line in &spec.lines {
        if line.points.iter().all(|(_, v)| v.is_none()) {
            return Err(PlotError::EmptySeries(line.name.clone()));
        }
        let bad = |&(t, v): &(f64, Option<f64>)| {
            !t.is_finite() || v.is_some_and(|v| !v.is_finite() || v < 0.0)
        };
        if line.points.iter().any(bad) {
            return Err(PlotError::NotFinite(line.name.clone()));
        }
        for &(t, v) in &line.points {
            end_s = end_s.max(t);
            top = top.max(v.unwrap_or(0.0));
        }
    }
    register_font()?;
    Ok(TimeChart {
        spec,
        end_s: end_s.max(1.0),
        top: if top > 0.0 { top * 1.08 } else { 1.0 },
    })
}

impl Picture for TimeChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let mut chart = ChartBuilder::on(root)
            .caption(clean(&self.spec.title), (FAMILY, 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..self.end_s, 0f64..self.top)?;
        chart
            .configure_mesh()
            .x_desc("Time into the run (s)")
            .y_desc(clean(&self.spec.y_desc))
            .axis_desc_style((FAMILY, 16))
            .label_style((FAMILY, 13))
            .x_label_formatter(&|s| tick_label(*s))
            .y_label_formatter(&|v| tick_label(*v))
            .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
            .max_light_lines(4)
            .draw()?;
        for line in &self.spec.lines {
            let style = PALETTE[line.colour % PALETTE.len()].stroke_width(2);
            for (i, segment) in segments(&line.points).into_iter().enumerate() {
                // One legend entry per line.
                let name = (i == 0).then_some(line.name.as_str());
                draw_line(&mut chart, segment, style, line.stroke, name)?;
            }
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Draws `points` as one line of `style` and `stroke`; with a `name`, a
/// legend entry drawn like the line.
pub(crate) fn draw_line<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
    stroke: Stroke,
    name: Option<&str>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let sample = |x: i32, y: i32| vec![(x, y), (x + 24, y)];
    match stroke.dashes() {
        None => {
            let drawn = chart.draw_series(LineSeries::new(points, style))?;
            if let Some(name) = name {
                drawn
                    .label(clean(name))
                    .legend(move |(x, y)| PathElement::new(sample(x, y), style));
            }
        }
        Some((dash, gap)) => {
            let drawn = chart.draw_series(DashedLineSeries::new(points, dash, gap, style))?;
            if let Some(name) = name {
                drawn
                    .label(clean(name))
                    .legend(move |(x, y)| DashedPathElement::new(sample(x, y), dash, gap, style));
            }
        }
    }
    Ok(())
}

/// The runs of consecutive points with values; a lone point becomes a
/// short flat segment so it still shows.
fn segments(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for &(t, v) in points {
        match v {
            Some(v) => current.push((t, v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    for segment in &mut out {
        if let [(t, v)] = segment[..] {
            segment.push((t + 0.5, v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_break_the_line() {
        let points = [
            (0.0, Some(1.0)),
            (1.0, Some(2.0)),
            (2.0, None),
            (3.0, Some(4.0)),
        ];
        assert_eq!(
            segments(&points),
            [vec![(0.0, 1.0), (1.0, 2.0)], vec![(3.0, 4.0), (3.5, 4.0)]]
        );
    }

    #[test]
    fn draws_every_line_with_its_legend() {
        let line = |name: &str, stroke, v: f64| TimeLine {
            name: name.into(),
            colour: 1,
            stroke,
            points: (0..10)
                .map(|s| (f64::from(s), Some(v + f64::from(s))))
                .collect(),
        };
        let spec = TimeSpec::new(
            "latency",
            "Latency (ms)",
            vec![
                line("p50", Stroke::Solid, 1.0),
                line("p99", Stroke::Dashed, 5.0),
                line("max", Stroke::Dotted, 9.0),
            ],
        );
        let svg = render_time_svg(&spec).unwrap();
        for text in ["p50", "p99", "max", "Latency (ms)", "Time into the run (s)"] {
            assert!(
                svg.contains(&format!(">{text}<")) || svg.contains(text),
                "{text}"
            );
        }
        let empty = TimeSpec::new(
            "x",
            "y",
            vec![TimeLine {
                points: vec![(0.0, None)],
                ..line("e", Stroke::Solid, 0.0)
            }],
        );
        assert!(matches!(
            render_time_svg(&empty),
            Err(PlotError::EmptySeries(_))
        ));
    }
}
