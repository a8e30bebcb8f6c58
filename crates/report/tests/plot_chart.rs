//! The CDF chart: SVG is well-formed XML with one line per series and the
//! legend names; PNG is a real, non-blank image drawn with the embedded font.

mod plot_support;

use plot_support::{async_timers, baseline};
use speedup_report::cdf_csv::Cdf;
use speedup_report::plot::{render_svg, write_png, ChartSpec, PlotError};

fn article_spec() -> ChartSpec {
    let mut spec = ChartSpec::new("ab -n1000 -c100", vec![baseline(), async_timers()]);
    spec.ideal_ms = Some(100.0);
    spec
}

/// Polylines with many points: the series lines, not the legend samples,
/// axes or dashes (all of which are two-point lines).
fn series_lines<'a>(doc: &'a roxmltree::Document) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            n.attribute("points")
                .map_or(0, |p| p.split_whitespace().count())
                > 10
        })
        .collect()
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect()
}

#[test]
fn svg_is_xml_with_one_line_per_series_and_a_legend() {
    let svg = render_svg(&article_spec()).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let lines = series_lines(&doc);
    assert_eq!(lines.len(), 2, "one polyline per series");
    let colours: Vec<_> = lines.iter().map(|n| n.attribute("stroke")).collect();
    assert_ne!(colours[0], colours[1], "series have distinct colours");
    let texts = texts(&doc);
    for want in [
        "baseline",
        "async",
        "ideal",
        "ideal (100 ms)",
        "Response time (ms)",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "missing text {want:?} in {texts:?}"
        );
    }
    assert!(texts.iter().any(|t| t == "Requests served (%)"));
    assert!(texts.iter().any(|t| t == "ab -n1000 -c100"));
}

#[test]
fn svg_escapes_names_and_survives_control_characters() {
    let mut odd = async_timers();
    odd.name = "a<b>&\"c\"\u{1}".into();
    let spec = ChartSpec::new("t & <t>", vec![odd]);
    let svg = render_svg(&spec).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("still well-formed");
    let texts = texts(&doc);
    assert!(
        texts.iter().any(|t| t.starts_with("a<b>&\"c\"")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "t & <t>"), "{texts:?}");
}

#[test]
fn log_axis_draws_and_many_series_get_lines() {
    let mut series = Vec::new();
    for i in 0..9 {
        let mut cdf = baseline();
        cdf.name = format!("s{i}");
        for point in &mut cdf.points {
            point.1 *= f64::from(i + 1);
        }
        series.push(cdf);
    }
    let mut spec = ChartSpec::new("log", series);
    spec.log_x = true;
    spec.ideal_ms = Some(100.0);
    let svg = render_svg(&spec).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(series_lines(&doc).len(), 9);
}

#[test]
fn bad_specs_are_refused_before_drawing() {
    assert!(matches!(
        render_svg(&ChartSpec::new("x", vec![])),
        Err(PlotError::NoSeries)
    ));
    let empty = Cdf {
        name: "e".into(),
        points: vec![],
    };
    assert!(matches!(
        render_svg(&ChartSpec::new("x", vec![empty])),
        Err(PlotError::EmptySeries(name)) if name == "e"
    ));
    let mut spec = article_spec();
    spec.ideal_ms = Some(-1.0);
    assert!(matches!(render_svg(&spec), Err(PlotError::BadIdeal(_))));
    let mut spec = article_spec();
    spec.width = 10;
    assert!(matches!(render_svg(&spec), Err(PlotError::BadSize { .. })));
    let zeros = Cdf {
        name: "z".into(),
        points: vec![(0.0, 0.0), (100.0, 0.0)],
    };
    let mut spec = ChartSpec::new("x", vec![zeros.clone()]);
    assert!(
        render_svg(&spec).is_ok(),
        "all-zero times still plot on a linear axis"
    );
    spec.log_x = true;
    assert!(matches!(render_svg(&spec), Err(PlotError::NothingPositive)));
}

#[test]
fn png_is_written_and_not_blank() {
    let dir = std::env::temp_dir().join(format!("speedup-plot-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chart.png");
    write_png(&article_spec(), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic");
    assert!(bytes.len() > 10_000, "only {} bytes", bytes.len());
    let image = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (960, 600));
    // Both series colours are present (Okabe-Ito blue and vermillion).
    for colour in [[0x00, 0x72, 0xB2], [0xD5, 0x5E, 0x00]] {
        let count = image.pixels().filter(|p| p.0 == colour).count();
        assert!(count > 200, "colour {colour:?} drawn {count} times");
    }
    // Dark text pixels exist: the embedded font rendered labels.
    let dark = image
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 60))
        .count();
    assert!(dark > 2_000, "only {dark} dark pixels");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn png_to_an_unwritable_path_names_it() {
    let err = write_png(&article_spec(), std::path::Path::new("/no/such/dir/c.png")).unwrap_err();
    assert!(err.to_string().contains("/no/such/dir/c.png"), "{err}");
}
