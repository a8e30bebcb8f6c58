//! The article's figure: response-time CDFs drawn with `plotters`, one line
//! per series, a legend, and a dashed vertical line at the ideal time.
//!
//! Rendering is backend-generic (a `Picture` drawn by either backend, the
//! sweep's chart too) so SVG and PNG are the same picture. Text is measured and rasterised with DejaVu Sans embedded in the
//! binary (plotters' `ab_glyph` feature), so charts come out the same on a
//! machine with no system fonts; SVG output only names the family in its
//! `<text>` elements and lets the viewer draw it.

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::cdf_csv::Cdf;
use crate::escape::escaped;

/// The embedded font; see `assets/DejaVuSans-LICENSE.txt`.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family name every text style below asks for.
pub(crate) const FAMILY: &str = "sans-serif";
/// Smallest and largest picture side accepted, in pixels: below the minimum
/// the labels collide, above the maximum a PNG needs an absurd buffer.
const SIDE_PX: Range<u32> = 200..8001;

/// Okabe–Ito colours: distinct for colour-blind readers and on white.
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
];
/// Colour of the ideal line and its label.
pub(crate) const IDEAL_COLOUR: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Caption above the chart.
    pub title: String,
    /// One line each, coloured in order, named in the legend.
    pub series: Vec<Cdf>,
    /// Where to draw the dashed "ideal" line, in ms (e.g. the sleep time).
    pub ideal_ms: Option<f64>,
    /// Logarithmic time axis, for series whose times differ by decades.
    pub log_x: bool,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
}

impl ChartSpec {
    /// A linear-axis chart of `series` at the default size, 960×600.
    pub fn new(title: impl Into<String>, series: Vec<Cdf>) -> ChartSpec {
        ChartSpec {
            title: title.into(),
            series,
            ideal_ms: None,
            log_x: false,
            width: 960,
            height: 600,
        }
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw.
    #[error("no series to plot: pass at least one ab CSV")]
    NoSeries,
    /// A series has no points.
    #[error("series `{}` has no points", escaped(.0))]
    EmptySeries(String),
    /// A point is NaN or infinite.
    #[error("series `{}` has a time or percentage that is not a finite number", escaped(.0))]
    NotFinite(String),
    /// The ideal time is not a positive number.
    #[error("the ideal time must be a positive number of ms, got {0}")]
    BadIdeal(f64),
    /// A log axis needs times above zero.
    #[error("a log time axis needs times above 0 ms, but every time is 0: drop --log-x")]
    NothingPositive,
    /// The picture size is out of range.
    #[error("chart size {width}x{height} is out of range: each side must be 200 to 8000 pixels")]
    BadSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The sweep holds what no run can produce.
    #[error("cannot draw the sweep: {0}")]
    Sweep(#[from] crate::sweep_file::SweepProblem),
    /// The embedded font could not be loaded (a broken build).
    #[error("the embedded chart font could not be loaded")]
    Font,
    /// plotters failed while drawing or writing.
    #[error("cannot draw the chart{}: {message}", target.as_deref().map(|t| format!(" to {}", escaped(t))).unwrap_or_default())]
    Draw {
        /// The output file, if writing one.
        target: Option<String>,
        /// plotters' own description.
        message: String,
    },
}

/// Renders the chart as an SVG document.
pub fn render_svg(spec: &ChartSpec) -> Result<String, PlotError> {
    let x = prepare(spec)?;
    render_svg_of(&CdfChart { spec, x }, (spec.width, spec.height))
}

/// Renders the chart as a PNG file at `path`.
pub fn write_png(spec: &ChartSpec, path: &Path) -> Result<(), PlotError> {
    let x = prepare(spec)?;
    write_png_of(&CdfChart { spec, x }, (spec.width, spec.height), path)
}

/// Everything checkable before drawing: the spec's values and the font.
/// Returns the time axis range.
fn prepare(spec: &ChartSpec) -> Result<Range<f64>, PlotError> {
    let range = x_range(spec)?;
    register_font()?;
    Ok(range)
}

/// A validated chart that any plotters backend can draw, so SVG and PNG
/// are the same picture.
pub(crate) trait Picture {
    /// Draws the chart on `root`, already filled white.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Renders `picture` at `size` as an SVG document.
pub(crate) fn render_svg_of(picture: &impl Picture, size: (u32, u32)) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        paint(&root, picture).map_err(|message| PlotError::Draw {
            target: None,
            message,
        })?;
    }
    Ok(svg)
}

/// Renders `picture` at `size` as a PNG file at `path`.
pub(crate) fn write_png_of(
    picture: &impl Picture,
    size: (u32, u32),
    path: &Path,
) -> Result<(), PlotError> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    paint(&root, picture).map_err(|message| PlotError::Draw {
        target: Some(path.display().to_string()),
        message,
    })
}

/// Fills `root` white, draws `picture` and presents (saves) it; plotters'
/// errors are backend-specific types, so they come back as text.
fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    picture: &impl Picture,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    picture.draw(root).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Draws the legend of the labelled series, boxed, at `position`.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xAA, 0xAA, 0xAA))
        .draw()
}

/// A thin dashed grey guide along `line` (an ideal, a pool size, an SLO)
/// with `label` at `at`, moved by `offset` pixels and anchored at `pos`.
pub(crate) fn guide<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    line: [(f64, f64); 2],
    label: String,
    at: (f64, f64),
    offset: (i32, i32),
    pos: Pos,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(DashedLineSeries::new(
        line,
        8,
        6,
        IDEAL_COLOUR.stroke_width(1),
    ))?;
    let style = TextStyle::from((FAMILY, 13).into_font())
        .color(&IDEAL_COLOUR)
        .pos(pos);
    chart.draw_series(std::iter::once(
        EmptyElement::at(at) + Text::new(label, offset, style),
    ))?;
    Ok(())
}

/// A validated [`ChartSpec`] and its time axis range.
struct CdfChart<'a> {
    spec: &'a ChartSpec,
    x: Range<f64>,
}

impl Picture for CdfChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        if self.spec.log_x {
            // Ticks at 1, 2 and 5 of each decade, never so many that their
            // labels run together.
            let ticks = log_ticks(&self.x);
            draw_chart(
                root,
                self.spec,
                self.x.clone().log_scale().with_key_points(ticks),
            )
        } else {
            draw_chart(root, self.spec, self.x.clone())
        }
    }
}

/// Draws axes, series, ideal line and legend over the given time axis.
fn draw_chart<DB, X>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    x_axis: X,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(clean(&spec.title), (FAMILY, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_axis, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_desc("Response time (ms)")
        .y_desc("Requests served (%)")
        .axis_desc_style((FAMILY, 16))
        .label_style((FAMILY, 13))
        .x_label_formatter(&|ms| tick_label(*ms))
        .y_label_formatter(&|pct| format!("{pct:.0}"))
        .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
        .max_light_lines(4)
        .draw()?;

    // Log axes cannot place 0 ms; those points are dropped rather than
    // clamped so the line does not pretend a request took the axis minimum.
    let floor = if spec.log_x { f64::MIN_POSITIVE } else { 0.0 };
    for (i, series) in spec.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .filter(|(_, ms)| *ms >= floor)
            .map(|&(pct, ms)| (ms, pct))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(clean(&series.name))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(2)));
    }

    if let Some(ideal) = spec.ideal_ms {
        let style = IDEAL_COLOUR.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                [(ideal, 0.0), (ideal, 100.0)],
                8,
                6,
                style,
            ))?
            .label(format!("ideal ({} ms)", tick_label(ideal)))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], style));
        // Every request takes at least the ideal time, so the area left of
        // the line is empty: the label goes there, clear of the curves,
        // unless the line is too close to the axis for it (then right).
        let line_x = chart.backend_coord(&(ideal, 50.0)).0;
        let left_edge = chart.plotting_area().get_pixel_range().0.start;
        let (pos, dx) = if line_x - left_edge > 48 {
            (HPos::Right, -6)
        } else {
            (HPos::Left, 6)
        };
        let label_style = TextStyle::from((FAMILY, 14).into_font())
            .color(&IDEAL_COLOUR)
            .pos(Pos::new(pos, VPos::Center));
        chart.draw_series(std::iter::once(
            EmptyElement::at((ideal, 50.0)) + Text::new("ideal", (dx, 0), label_style),
        ))?;
    }

    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// Checks the spec and returns the time axis range: `0..max·1.05` on a
/// linear axis, `min·0.5..max·1.1` over positive times on a log axis (room
/// left of the fastest curve and the ideal line for its label); the ideal
/// line is always inside.
fn x_range(spec: &ChartSpec) -> Result<Range<f64>, PlotError> {
    check_size(spec.width, spec.height)?;
    if spec.series.is_empty() {
        return Err(PlotError::NoSeries);
    }
    let mut times = Vec::new();
    for series in &spec.series {
        if series.points.is_empty() {
            return Err(PlotError::EmptySeries(series.name.clone()));
        }
        if series
            .points
            .iter()
            .any(|(p, ms)| !p.is_finite() || !ms.is_finite())
        {
            return Err(PlotError::NotFinite(series.name.clone()));
        }
        times.extend(series.points.iter().map(|&(_, ms)| ms));
    }
    if let Some(ideal) = spec.ideal_ms {
        if !(ideal.is_finite() && ideal > 0.0) {
            return Err(PlotError::BadIdeal(ideal));
        }
        times.push(ideal);
    }
    let max = times.iter().copied().fold(0.0, f64::max);
    if spec.log_x {
        let min = times
            .iter()
            .copied()
            .filter(|ms| *ms > 0.0)
            .fold(f64::INFINITY, f64::min);
        if !min.is_finite() {
            return Err(PlotError::NothingPositive);
        }
        Ok(min * 0.5..max * 1.1)
    } else if max > 0.0 {
        Ok(0.0..max * 1.05)
    } else {
        Ok(0.0..1.0)
    }
}

/// Refuses a picture size out of [`SIDE_PX`].
pub(crate) fn check_size(width: u32, height: u32) -> Result<(), PlotError> {
    if SIDE_PX.contains(&width) && SIDE_PX.contains(&height) {
        Ok(())
    } else {
        Err(PlotError::BadSize { width, height })
    }
}

/// Tick positions on a log axis over `range`: 1, 2 and 5 times each power
/// of ten inside it, or only the powers of ten when that would be more
/// than 10 ticks.
pub(crate) fn log_ticks(range: &Range<f64>) -> Vec<f64> {
    let (lo, hi) = (range.start, range.end);
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let within = |multiples: &[f64]| -> Vec<f64> {
        (first..=last)
            .flat_map(|k| multiples.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|t| (lo..=hi).contains(t))
            .collect()
    };
    let ticks = within(&[1.0, 2.0, 5.0]);
    if ticks.len() > 10 {
        within(&[1.0])
    } else {
        ticks
    }
}

/// Registers the embedded font once per process; later calls reuse the
/// outcome.
pub(crate) fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// A compact tick label: whole ms from 10 up, fewer decimals as times grow.
pub(crate) fn tick_label(ms: f64) -> String {
    trim_zeros(if ms.abs() >= 10.0 {
        format!("{ms:.0}")
    } else if ms.abs() >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.3}")
    })
}

/// Drops a decimal's trailing zeros (and a bare point): `100.500` → `100.5`.
pub(crate) fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Replaces control characters, which XML forbids even escaped, so any file
/// name or title still yields a well-formed SVG.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}
