//! The concurrency sweep's chart: the median and the slowest response
//! times (y) against the number of clients (x), one colour per endpoint
//! (max solid, p50 dashed, in the legend as on the chart), with the
//! blocking pool's size marked, so the baseline's knee at the pool size and
//! the async line's flatness show at a glance. A step sends few requests
//! (twice its clients), too few for a p95 (which needs 20 above it): its
//! max is the last round's time. Older summaries without `max_ms` are
//! drawn with their p95.
//!
//! The points come from `summary.json` (`speedup lab --sweep` writes them,
//! `speedup plot --sweep` reads them back, [`Sweep::from_summary`]), so they
//! are serde types. A sweep no run can produce is refused rather than drawn
//! ([`Sweep::validate`], in [`crate::sweep_file`]).

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use crate::plot::{
    clean, guide, legend, register_font, render_svg_of, tick_label, write_png_of, Picture,
    PlotError, FAMILY, PALETTE,
};

/// One step of the sweep: one endpoint at one concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The endpoint's short name (`baseline`, `async`).
    pub endpoint: String,
    /// Clients in flight.
    pub concurrency: u32,
    /// Requests sent at this step.
    pub requests: u64,
    /// Requests per second over the step.
    pub rps: f64,
    /// Median response time, ms.
    pub p50_ms: f64,
    /// 95th percentile response time, ms (from few requests: see
    /// `max_ms`).
    pub p95_ms: f64,
    /// Slowest response, ms; what the chart draws (absent in summaries
    /// written before it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<f64>,
    /// Requests that failed or answered non-2xx.
    pub bad: u64,
}

/// The whole sweep as `summary.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The sleep each request asked for, ms (the ideal).
    pub ideal_ms: f64,
    /// The blocking pool's size, where the baseline's knee should be.
    pub pool_threads: Option<u32>,
    /// Every step, endpoint by endpoint in increasing concurrency.
    pub points: Vec<SweepPoint>,
}

impl SweepPoint {
    /// What the chart draws above the median: the max, or the p95 of a
    /// summary written before the max was kept.
    pub fn top_ms(&self) -> f64 {
        self.max_ms.unwrap_or(self.p95_ms)
    }
}

impl Sweep {
    /// The endpoints in order of first appearance.
    pub fn endpoints(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for p in &self.points {
            if !names.contains(&p.endpoint.as_str()) {
                names.push(&p.endpoint);
            }
        }
        names
    }
}

/// Picture size of the sweep chart.
const SIZE: (u32, u32) = (960, 540);

/// Renders the sweep chart as an SVG document.
pub fn render_sweep_svg(sweep: &Sweep, title: &str) -> Result<String, PlotError> {
    check(sweep)?;
    render_svg_of(&SweepChart { sweep, title }, SIZE)
}

/// Renders the sweep chart as a PNG file at `path`.
pub fn write_sweep_png(sweep: &Sweep, title: &str, path: &Path) -> Result<(), PlotError> {
    check(sweep)?;
    write_png_of(&SweepChart { sweep, title }, SIZE, path)
}

fn check(sweep: &Sweep) -> Result<(), PlotError> {
    sweep.validate()?;
    register_font()
}

/// A checked sweep and its title.
struct SweepChart<'a> {
    sweep: &'a Sweep,
    title: &'a str,
}

impl Picture for SweepChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_chart(root, self.sweep, self.title)
    }
}

fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    sweep: &Sweep,
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let max_c = sweep
        .points
        .iter()
        .map(|p| f64::from(p.concurrency))
        .fold(1.0, f64::max);
    let max_ms = sweep
        .points
        .iter()
        .map(|p| p.top_ms().max(p.p50_ms))
        .fold(sweep.ideal_ms, f64::max);
    let mut chart = ChartBuilder::on(root)
        .caption(clean(title), (FAMILY, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..max_c * 1.05, 0f64..max_ms * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("Concurrent clients")
        .y_desc("Response time (ms)")
        .axis_desc_style((FAMILY, 16))
        .label_style((FAMILY, 13))
        .x_label_formatter(&|c| format!("{c:.0}"))
        .y_label_formatter(&|ms| tick_label(*ms))
        .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
        .max_light_lines(4)
        .draw()?;

    for (i, endpoint) in sweep.endpoints().into_iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<&SweepPoint> = sweep
            .points
            .iter()
            .filter(|p| p.endpoint == endpoint)
            .collect();
        let top_name = if points.iter().all(|p| p.max_ms.is_some()) {
            "max"
        } else {
            "p95"
        };
        let top: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (f64::from(p.concurrency), p.top_ms()))
            .collect();
        let p50: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (f64::from(p.concurrency), p.p50_ms))
            .collect();
        chart
            .draw_series(LineSeries::new(top.clone(), colour.stroke_width(2)))?
            .label(clean(&format!("{endpoint} {top_name}")))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(2)));
        chart.draw_series(
            top.iter()
                .map(|&point| Circle::new(point, 3, colour.filled())),
        )?;
        chart
            .draw_series(DashedLineSeries::new(p50, 6, 4, colour.stroke_width(2)))?
            .label(clean(&format!("{endpoint} p50")))
            .legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 24, y)], 6, 4, colour.stroke_width(2))
            });
    }

    // The ideal's label at the right end of its line: the first points
    // (few clients, every request at the ideal) sit at its left end.
    let right = max_c * 1.05;
    guide(
        &mut chart,
        [(0.0, sweep.ideal_ms), (right, sweep.ideal_ms)],
        format!("ideal ({} ms)", tick_label(sweep.ideal_ms)),
        (right, sweep.ideal_ms),
        (-6, -4),
        Pos::new(HPos::Right, VPos::Bottom),
    )?;
    if let Some(pool) = sweep.pool_threads {
        let x = f64::from(pool);
        guide(
            &mut chart,
            [(x, 0.0), (x, max_ms * 1.1)],
            format!("pool size {pool}"),
            (x, max_ms * 1.05),
            (6, 0),
            Pos::new(HPos::Left, VPos::Bottom),
        )?;
    }

    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The article's sweep shape: the baseline's rounds of 100 ms past 40
    /// clients, the async line flat; endpoints interleaved per level.
    pub(crate) fn sweep() -> Sweep {
        let mut points = Vec::new();
        for c in [1, 10, 20, 40, 60, 80, 100, 200] {
            let rounds = f64::from(c).div_euclid(40.0).max(0.0) + 1.0;
            for (endpoint, p95) in [("baseline", 100.0 * rounds), ("async", 101.0)] {
                points.push(SweepPoint {
                    endpoint: endpoint.into(),
                    concurrency: c,
                    requests: u64::from(c) * 2,
                    rps: 100.0,
                    p50_ms: p95 * 0.8,
                    p95_ms: p95,
                    max_ms: Some(p95 + 2.0),
                    bad: 0,
                });
            }
        }
        Sweep {
            ideal_ms: 100.0,
            pool_threads: Some(40),
            points,
        }
    }

    #[test]
    fn draws_every_endpoint_and_the_pool_mark() {
        let svg = render_sweep_svg(&sweep(), "sweep").expect("renders");
        for text in [
            "baseline max",
            "async p50",
            "pool size 40",
            "Concurrent clients",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert_eq!(sweep().endpoints(), ["baseline", "async"]);
    }

    #[test]
    fn refuses_an_empty_sweep() {
        let empty = Sweep {
            ideal_ms: 100.0,
            pool_threads: None,
            points: Vec::new(),
        };
        assert!(matches!(
            render_sweep_svg(&empty, "x"),
            Err(PlotError::Sweep(crate::sweep_file::SweepProblem::Empty))
        ));
    }

    #[test]
    fn round_trips_through_json() {
        let text = serde_json::to_string(&sweep()).expect("serialize");
        let back: Sweep = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, sweep());
    }
}
