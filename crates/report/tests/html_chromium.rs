//! The lab page in a real browser: headless Chromium loads it from disk,
//! the DOM has the chart and the table, and a screenshot shows them.
//!
//! Skipped (with a note) when `chromium` is not on PATH; CI installs it.

mod plot_support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use plot_support::sample_page;
use speedup_report::html::render_lab_page;

/// Chromium gets this long per run before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The browser binary, if installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A fresh scratch directory for this test.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("speedup-chromium-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `page` with `extra` flags, stdout to `stdout`,
/// killing it after [`BROWSER_TIMEOUT`].
fn run_chromium(
    browser: &Path,
    dir: &Path,
    page: &Path,
    extra: &[String],
    stdout: &Path,
) -> ExitStatus {
    let profile = dir.join(format!("profile-{}", extra.len()));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        // A file, not a pipe: the DOM can outgrow a pipe buffer while we poll.
        .stdout(Stdio::from(File::create(stdout).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn chromium_renders_the_lab_page() {
    let Some(browser) = chromium() else {
        eprintln!("skipping: chromium is not on PATH (CI installs Debian's chromium)");
        return;
    };
    let dir = scratch("page");
    let page = dir.join("index.html");
    let mut file = File::create(&page).unwrap();
    render_lab_page(&sample_page(), &mut file).unwrap();
    drop(file);

    let dom_path = dir.join("dom.html");
    let status = run_chromium(&browser, &dir, &page, &["--dump-dom".into()], &dom_path);
    assert!(status.success(), "chromium --dump-dom failed: {status}");
    let dom = std::fs::read_to_string(&dom_path).unwrap();
    assert!(
        dom.contains("id=\"cdf-chart\""),
        "chart figure missing from the DOM"
    );
    assert!(dom.contains("<svg"), "inline SVG missing from the DOM");
    assert!(
        dom.contains("id=\"summary-table\""),
        "table missing from the DOM"
    );
    assert!(
        dom.contains("baseline &lt;b&gt;&amp;"),
        "name not shown as text"
    );
    assert!(!dom.contains("<b>&amp;"), "a name became markup");

    let shot = dir.join("shot.png");
    let flags = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,900".into(),
    ];
    let status = run_chromium(&browser, &dir, &page, &flags, &dir.join("shot.out"));
    assert!(status.success(), "chromium --screenshot failed: {status}");
    let image = image::open(&shot).expect("screenshot is a PNG").to_rgb8();
    assert_eq!(image.dimensions(), (1200, 900));
    let ink = image
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    assert!(
        ink > 10_000,
        "screenshot looks blank: {ink} non-white pixels"
    );
    // The chart's lines are visible: pixels close to the series colours.
    for (r, g, b) in [(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)] {
        let near = image
            .pixels()
            .filter(|p| {
                let [pr, pg, pb] = p.0;
                pr.abs_diff(r) < 40 && pg.abs_diff(g) < 40 && pb.abs_diff(b) < 40
            })
            .count();
        assert!(
            near > 100,
            "series colour #{r:02x}{g:02x}{b:02x} seen {near} times"
        );
    }
    // Set SPEEDUP_TEST_KEEP=1 to look at the page and screenshot afterwards.
    if std::env::var_os("SPEEDUP_TEST_KEEP").is_some() {
        eprintln!("kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
}
