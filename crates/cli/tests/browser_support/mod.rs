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
