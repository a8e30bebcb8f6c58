//! Headless Chromium for the page tests (`#[ignore = "needs chromium"]`;
//! `.ci/run` installs it): find the browser, run it on a page with a bound
//! on its time.

#![allow(dead_code)] // each test file uses a different subset

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Chromium gets this long per run before it is killed.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The browser binary, if installed.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on `page` with `extra` flags, stdout to `stdout`,
/// killing it after [`BROWSER_TIMEOUT`].
pub fn run_chromium(
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

/// The series colours of the charts (speedup-report's first two).
pub const SERIES_COLOURS: [(u8, u8, u8); 2] = [(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)];

/// Asserts a screenshot is not blank (more than `min_ink` pixels darker
/// than light grey) and shows each of [`SERIES_COLOURS`] on more than
/// `min_colour` pixels.
pub fn assert_drawn(shot: &Path, min_ink: usize, min_colour: usize) {
    let image = image::open(shot).expect("screenshot is a PNG").to_rgb8();
    let ink = image
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    assert!(
        ink > min_ink,
        "screenshot looks blank: {ink} non-white pixels"
    );
    for (r, g, b) in SERIES_COLOURS {
        let near = image
            .pixels()
            .filter(|p| {
                let [pr, pg, pb] = p.0;
                pr.abs_diff(r) < 40 && pg.abs_diff(g) < 40 && pb.abs_diff(b) < 40
            })
            .count();
        assert!(
            near > min_colour,
            "series colour #{r:02x}{g:02x}{b:02x} seen {near} times"
        );
    }
}
