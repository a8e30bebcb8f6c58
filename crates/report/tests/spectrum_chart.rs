//! The percentile spectrum: its 1/(1−p) axis, byte for byte against a
//! golden SVG (run with `UPDATE_GOLDEN=1` to rewrite it after a deliberate
//! change, and look at the new file), the ticks and lines in the XML, and a
//! PNG that is not blank.

use speedup_report::spectrum::{
    render_spectrum_svg, write_spectrum_png, SpectrumLine, SpectrumSpec,
};

/// A run with a 300 ms stall: corrected, the requests due during the stall
/// fill the tail from p99.5; uncorrected, only the few sent into it.
fn stalled_run() -> SpectrumSpec {
    let corrected = vec![
        (0.0, 0.8),
        (50.0, 1.0),
        (90.0, 1.2),
        (99.0, 2.0),
        (99.5, 150.0),
        (99.9, 290.0),
        (99.99, 300.0),
        (100.0, 301.0),
    ];
    let uncorrected = vec![
        (0.0, 0.8),
        (50.0, 1.0),
        (90.0, 1.2),
        (99.0, 1.9),
        (99.9, 2.5),
        (99.99, 300.0),
        (100.0, 301.0),
    ];
    SpectrumSpec::new(
        "run.hlog",
        vec![
            SpectrumLine {
                name: "run".into(),
                points: corrected,
                colour: 0,
                dashed: false,
            },
            SpectrumLine {
                name: "run (uncorrected)".into(),
                points: uncorrected,
                colour: 0,
                dashed: true,
            },
        ],
    )
}

#[test]
fn the_spectrum_axis_matches_its_golden_svg() {
    let svg = render_spectrum_svg(&stalled_run()).unwrap();
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/spectrum.svg");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden, &svg).unwrap();
    }
    let want =
        std::fs::read_to_string(golden).expect("the golden file (UPDATE_GOLDEN=1 writes it)");
    assert!(
        svg == want,
        "the spectrum SVG changed: look at it, then UPDATE_GOLDEN=1"
    );
}

#[test]
fn the_axis_marks_each_nine_and_the_max() {
    let svg = render_spectrum_svg(&stalled_run()).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    let ticks: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| t.ends_with('%') || *t == "max")
        .collect();
    assert_eq!(ticks, ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "max"]);
    for want in ["run", "run (uncorrected)", "Latency (ms)"] {
        assert!(texts.contains(&want), "{want} missing from {texts:?}");
    }
    // Two lines of the same colour, one of them dashed.
    let lines: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("line"))
        .filter(|n| n.attribute("stroke") == Some("#0072B2"))
        .collect();
    assert!(
        lines.len() > 10,
        "dashes and the solid line: {}",
        lines.len()
    );
}

#[test]
fn the_png_is_drawn() {
    let path = std::env::temp_dir().join(format!("speedup-spectrum-{}.png", std::process::id()));
    write_spectrum_png(&stalled_run(), &path).unwrap();
    let image = image::open(&path).expect("a PNG").to_rgb8();
    std::fs::remove_file(&path).ok();
    assert_eq!(image.dimensions(), (960, 540));
    let blue = image
        .pixels()
        .filter(|p| p.0[0] < 40 && p.0[1].abs_diff(0x72) < 40 && p.0[2].abs_diff(0xB2) < 40)
        .count();
    assert!(blue > 500, "{blue} pixels of the line's colour");
}
