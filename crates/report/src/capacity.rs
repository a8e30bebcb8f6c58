//! The capacity chart: latency (y, ms, on a log axis) against the rate a
//! step of a `--find-max` search achieved (x, requests per second), one
//! colour per endpoint, p99 solid and p50 dashed (in the legend as on the
//! chart), each step's p99 a point, filled where the step met the SLO and
//! hollow where it did not; the SLO's latency bound as a horizontal guide
//! and known rates (a pool's model capacity, the client's connection
//! ceiling) as vertical ones. Queues past a server's capacity grow a
//! step's p99 by decades, hence the log axis.
//!
//! The lines join the steps in the order of the rates they asked for, not
//! of the rates they achieved: past a ceiling a step achieves no more (or
//! less, its sends waiting for connections) while its latency climbs, and
//! the line bends up and back as a server's latency-throughput curve does,
//! where joining by achieved rate would zigzag between steps.
//!
//! It draws the figures it is given: the lab reads each step's percentiles
//! through `speedup-stats`.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{
    clean, guide, legend, log_ticks, register_font, render_svg_of, tick_label, Picture, PlotError,
    FAMILY, PALETTE,
};
use crate::timeseries::{draw_line, Stroke};

/// One step of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStep {
    /// The rate the step asked for, requests per second: the line's order.
    pub target: f64,
    /// The rate the step sent, requests per second.
    pub achieved: f64,
    /// Its median latency, ms.
    pub p50_ms: f64,
    /// Its 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Whether it met the SLO (and kept its rate).
    pub ok: bool,
}

/// One endpoint's search: its steps in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCurve {
    /// The legend's name, e.g. `baseline`.
    pub name: String,
    /// Its steps.
    pub steps: Vec<RateStep>,
}

/// A vertical guide at a known rate.
#[derive(Debug, Clone, PartialEq)]
pub struct RateMark {
    /// Requests per second.
    pub rate: f64,
    /// What it is, e.g. `pool: 40 / 0.1 s`.
    pub label: String,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSpec {
    /// Caption above the chart.
    pub title: String,
    /// One colour each.
    pub curves: Vec<RateCurve>,
    /// The SLO's latency bound, ms: the horizontal guide.
    pub slo_ms: f64,
    /// Its label, e.g. `SLO p99<200ms`.
    pub slo_label: String,
    /// Vertical guides.
    pub marks: Vec<RateMark>,
}

/// Picture size of the chart.
const SIZE: (u32, u32) = (960, 540);

/// Renders the chart as an SVG document.
pub fn render_rate_svg(spec: &RateSpec) -> Result<String, PlotError> {
    let chart = prepare(spec)?;
    render_svg_of(&chart, SIZE)
}

/// A checked spec and its axes.
struct RateChart<'a> {
    spec: &'a RateSpec,
    x_end: f64,
    y: Range<f64>,
}

/// Checks the spec and finds the axes: rates from 0 past the highest rate
/// or mark, latencies around every positive one and the SLO.
fn prepare(spec: &RateSpec) -> Result<RateChart<'_>, PlotError> {
    if spec.curves.is_empty() {
        return Err(PlotError::NoSeries);
    }
    if !(spec.slo_ms.is_finite() && spec.slo_ms > 0.0) {
        return Err(PlotError::BadIdeal(spec.slo_ms));
    }
    let (mut x_end, mut low, mut high) = (0.0f64, spec.slo_ms, spec.slo_ms);
    for curve in &spec.curves {
        if curve.steps.is_empty() {
            return Err(PlotError::EmptySeries(curve.name.clone()));
        }
        let finite = |s: &RateStep| {
            [s.target, s.achieved, s.p50_ms, s.p99_ms]
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0)
        };
        if !curve.steps.iter().all(finite) {
            return Err(PlotError::NotFinite(curve.name.clone()));
        }
        for s in &curve.steps {
            x_end = x_end.max(s.achieved);
            for ms in [s.p50_ms, s.p99_ms].into_iter().filter(|ms| *ms > 0.0) {
                low = low.min(ms);
                high = high.max(ms);
            }
        }
    }
    for mark in &spec.marks {
        if !(mark.rate.is_finite() && mark.rate > 0.0) {
            return Err(PlotError::NotFinite(mark.label.clone()));
        }
        x_end = x_end.max(mark.rate);
    }
    register_font()?;
    Ok(RateChart {
        spec,
        x_end: if x_end > 0.0 { x_end * 1.08 } else { 1.0 },
        y: low * 0.7..high * 1.6,
    })
}

impl Picture for RateChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let (x_end, y) = (self.x_end, &self.y);
        let y_axis = y.clone().log_scale().with_key_points(log_ticks(y));
        let mut chart = ChartBuilder::on(root)
            .caption(clean(&self.spec.title), (FAMILY, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_end, y_axis)?;
        chart
            .configure_mesh()
            .x_desc("Rate achieved (requests per second)")
            .y_desc("Latency (ms, log scale)")
            .axis_desc_style((FAMILY, 16))
            .label_style((FAMILY, 13))
            .x_label_formatter(&|rate| format!("{rate:.0}"))
            .y_label_formatter(&|ms| tick_label(*ms))
            .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
            .max_light_lines(4)
            .draw()?;
        for (i, curve) in self.spec.curves.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let style = colour.stroke_width(2);
            let mut steps = curve.steps.clone();
            steps.sort_by(|a, b| a.target.total_cmp(&b.target));
            // A log axis cannot place 0 ms (a step with no response).
            let p99: Vec<(f64, f64)> = (steps.iter().filter(|s| s.p99_ms > 0.0))
                .map(|s| (s.achieved, s.p99_ms))
                .collect();
            let p50: Vec<(f64, f64)> = (steps.iter().filter(|s| s.p50_ms > 0.0))
                .map(|s| (s.achieved, s.p50_ms))
                .collect();
            let p99_name = format!("{} p99", curve.name);
            draw_line(&mut chart, p99, style, Stroke::Solid, Some(&p99_name))?;
            chart.draw_series(steps.iter().filter(|s| s.p99_ms > 0.0).map(|s| {
                let look = if s.ok { colour.filled() } else { style };
                Circle::new((s.achieved, s.p99_ms), 4, look)
            }))?;
            let p50_name = format!("{} p50", curve.name);
            draw_line(&mut chart, p50, style, Stroke::Dashed, Some(&p50_name))?;
        }
        // The SLO's label at the left: the steps there (low rates) sit
        // near the sleep, below the line.
        guide(
            &mut chart,
            [(0.0, self.spec.slo_ms), (x_end, self.spec.slo_ms)],
            clean(&self.spec.slo_label),
            (0.0, self.spec.slo_ms),
            (6, -4),
            Pos::new(HPos::Left, VPos::Bottom),
        )?;
        for mark in &self.spec.marks {
            // A label in the right half goes left of its line, so it fits.
            let (dx, h) = match mark.rate > x_end / 2.0 {
                true => (-6, HPos::Right),
                false => (6, HPos::Left),
            };
            guide(
                &mut chart,
                [(mark.rate, y.start), (mark.rate, y.end)],
                clean(&mark.label),
                (mark.rate, y.end),
                (dx, 6),
                Pos::new(h, VPos::Top),
            )?;
        }
        // Between the knees: a pool's climbs at the left, the timers' far
        // to the right.
        legend(&mut chart, SeriesLabelPosition::UpperMiddle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of 400 req/s and timers the client stops at 2560.
    fn spec() -> RateSpec {
        let step = |achieved: f64, p50_ms: f64, p99_ms: f64, ok: bool| RateStep {
            target: achieved * if ok { 1.0 } else { 1.2 },
            achieved,
            p50_ms,
            p99_ms,
            ok,
        };
        RateSpec {
            title: "highest rate within p99<200ms".into(),
            curves: vec![
                RateCurve {
                    name: "baseline".into(),
                    steps: vec![
                        step(100.0, 100.2, 101.0, true),
                        step(800.0, 900.0, 2000.0, false),
                        step(400.0, 101.0, 130.0, true),
                        step(450.0, 180.0, 320.0, false),
                    ],
                },
                RateCurve {
                    name: "async".into(),
                    steps: vec![
                        step(640.0, 100.1, 100.9, true),
                        step(2400.0, 100.4, 103.0, true),
                        step(2480.0, 100.5, 400.0, false),
                    ],
                },
            ],
            slo_ms: 200.0,
            slo_label: "SLO p99<200ms".into(),
            marks: vec![RateMark {
                rate: 400.0,
                label: "pool: 40 / 0.1 s".into(),
            }],
        }
    }

    #[test]
    fn draws_both_endpoints_the_slo_and_the_marks() {
        let svg = render_rate_svg(&spec()).expect("renders");
        for text in [
            "baseline p99",
            "async p50",
            "SLO p99&lt;200ms",
            "pool: 40 / 0.1 s",
            "Rate achieved (requests per second)",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Hollow points for the failing steps, filled for the passing.
        assert!(svg.contains("fill=\"none\""), "no hollow point");
    }

    #[test]
    fn refuses_what_it_cannot_draw() {
        let mut empty = spec();
        empty.curves[1].steps.clear();
        assert!(matches!(
            render_rate_svg(&empty),
            Err(PlotError::EmptySeries(name)) if name == "async"
        ));
        let mut nan = spec();
        nan.curves[0].steps[0].p99_ms = f64::NAN;
        assert!(matches!(
            render_rate_svg(&nan),
            Err(PlotError::NotFinite(_))
        ));
        let mut slo = spec();
        slo.slo_ms = 0.0;
        assert!(matches!(render_rate_svg(&slo), Err(PlotError::BadIdeal(_))));
    }
}
