//! Where the report folder is written, and what of the user's it may touch.
//!
//! `--out` must be a new folder, an empty one, or one holding an earlier lab
//! report: its `summary.json` carries [`SCHEMA`] and lists the files that
//! run wrote ([`MARKER`]). Any other folder needs `force`; anything that is
//! not a folder is refused, `force` or not (a report never replaces a file).
//! This is checked by [`Staging::new`], before the experiment.
//!
//! The files are written into a temporary folder, `.NAME.tmp-PID`: beside a
//! new `--out` (moved into place whole when complete), or inside an
//! existing one (each file then moved over its namesake, and the files an
//! earlier run listed but this one did not write removed). Only the lab's
//! own files are ever replaced or removed: a file of the same name as one
//! the lab writes, not listed by the earlier run, is refused unless `force`.
//! A folder is never half written: the temporary one is removed if the
//! report cannot be finished, and [`Abandon`] removes it from a signal
//! handler's thread, waiting for a move in progress to end first.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use speedup_report::escape::escaped;

use crate::LabError;

/// `summary.json`'s `schema`: what marks a folder as a lab report.
pub const SCHEMA: &str = "speedup-lab/1";

/// The file holding [`SCHEMA`] and the list of the report's files.
pub const MARKER: &str = "summary.json";

/// The most of a `summary.json` read to recognise a report (one is a few
/// KB; a bigger file is not ours).
const MARKER_LIMIT: u64 = 16 << 20;

/// A report folder being written: see the module's documentation.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    /// `--out` existed: files are moved into it one by one.
    existing: bool,
    force: bool,
    /// True once the temporary folder is gone (committed, abandoned or
    /// dropped). Held while files are written and moved.
    done: Arc<Mutex<bool>>,
}

/// Removes a [`Staging`]'s temporary folder from another thread.
#[derive(Debug, Clone)]
pub struct Abandon {
    tmp: PathBuf,
    done: Arc<Mutex<bool>>,
}

impl Abandon {
    /// Removes the temporary folder unless the report is already in place;
    /// a write or move in progress finishes first, so `--out` holds either
    /// the earlier state or the whole new report.
    pub fn abandon(&self) {
        let mut done = lock(&self.done);
        if !*done {
            let _ = fs::remove_dir_all(&self.tmp);
            *done = true;
        }
    }
}

impl Staging {
    /// Checks `out` (see the module's documentation) and creates the
    /// temporary folder (and `out`'s parents when `out` is new).
    pub fn new(out: &Path, force: bool) -> Result<Staging, LabError> {
        let shown = escaped(out.display());
        let unwritable = |e: std::io::Error| {
            LabError::Plan(format!(
                "--out {shown}: cannot create the report folder there ({e}): choose a writable place"
            ))
        };
        let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Err(LabError::Plan(format!(
                "--out {shown}: give a folder name, e.g. --out lab-report"
            )));
        };
        let existing = match fs::symlink_metadata(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(unwritable(e)),
            Ok(link) => {
                let what = match fs::metadata(out) {
                    Ok(m) if m.is_dir() => None,
                    Ok(m) if m.is_file() => Some("a file"),
                    Ok(_) => Some("a special file"),
                    Err(_) if link.is_symlink() => Some("a link to nothing"),
                    Err(_) => Some("unreadable"),
                };
                if let Some(what) = what {
                    return Err(LabError::Plan(format!(
                        "--out {shown} is {what}, not a folder: give --out a folder name, e.g. \
                         --out lab-report (a report never replaces a file, even with --force)"
                    )));
                }
                if !force {
                    check_existing(out, &name)?;
                }
                true
            }
        };
        let place = if existing {
            out.to_path_buf()
        } else {
            let parent = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            fs::create_dir_all(&parent).map_err(unwritable)?;
            parent
        };
        let tmp = new_folder(&place, &name).map_err(unwritable)?;
        Ok(Staging {
            out: out.to_path_buf(),
            tmp,
            existing,
            force,
            done: Arc::new(Mutex::new(false)),
        })
    }

    /// A handle that removes the temporary folder from another thread.
    pub fn abandoner(&self) -> Abandon {
        Abandon {
            tmp: self.tmp.clone(),
            done: Arc::clone(&self.done),
        }
    }

    /// Runs `write` on the temporary folder (it returns the names of the
    /// files it wrote there, [`MARKER`] last), then moves them into place;
    /// returns `out`. An [`Abandon`] waits until this returns.
    pub fn finish(
        self,
        write: impl FnOnce(&Path) -> Result<Vec<String>, LabError>,
    ) -> Result<PathBuf, LabError> {
        let mut done = lock(&self.done);
        if *done {
            return Err(LabError::Interrupted);
        }
        let result = write(&self.tmp).and_then(|names| self.commit(&names));
        if result.is_err() {
            let _ = fs::remove_dir_all(&self.tmp);
        }
        *done = true;
        result.map(|()| self.out.clone())
    }

    /// Refuses, before anything moves, to replace a file the lab did not
    /// write (unless `force`) or a folder (ever: the moves would stop half
    /// done).
    fn check_names(&self, names: &[String], earlier: &HashSet<String>) -> Result<(), LabError> {
        let refuse = |name: &str, why: &str| {
            Err(LabError::Plan(format!(
                "--out {}: {} {why}",
                escaped(self.out.display()),
                escaped(name)
            )))
        };
        for name in names {
            let Ok(meta) = fs::symlink_metadata(self.out.join(name)) else {
                continue;
            };
            if meta.is_dir() {
                return refuse(
                    name,
                    "is a folder where the report writes a file: move it away or rename the scenario",
                );
            }
            if !self.force && !earlier.contains(name) {
                return refuse(
                    name,
                    "is not from an earlier lab run and the report would replace it: move it \
                     away or rename the scenario, or add --force to replace it",
                );
            }
        }
        Ok(())
    }

    /// Moves the written files into `out`, as the module says.
    fn commit(&self, names: &[String]) -> Result<(), LabError> {
        let fail = |path: &Path, source| LabError::Write {
            path: path.to_path_buf(),
            source,
        };
        if !self.existing {
            // rename(2) never replaces a folder that is not empty, nor a
            // file with a folder: whatever appeared at `out` meanwhile stays.
            return fs::rename(&self.tmp, &self.out).map_err(|e| fail(&self.out, e));
        }
        let earlier = earlier_files(&self.out).unwrap_or_default();
        self.check_names(names, &earlier)?;
        for name in names {
            let to = self.out.join(name);
            fs::rename(self.tmp.join(name), &to).map_err(|e| fail(&to, e))?;
        }
        let now: HashSet<&String> = names.iter().collect();
        for stale in earlier.iter().filter(|n| !now.contains(n)) {
            let path = self.out.join(stale);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                fs::remove_file(&path).map_err(|e| fail(&path, e))?;
            }
        }
        fs::remove_dir(&self.tmp).map_err(|e| fail(&self.tmp, e))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.abandoner().abandon();
    }
}

/// Creates the temporary folder `.NAME.tmp-PID` in `place` (or, if that
/// name is taken, `.NAME.tmp-PID-N`): always a folder made here, so
/// removing it later can only remove what this run wrote.
fn new_folder(place: &Path, name: &str) -> std::io::Result<PathBuf> {
    let base = format!(".{name}.tmp-{}", std::process::id());
    let mut last = None;
    for n in 0..100 {
        let tmp = match n {
            0 => place.join(&base),
            n => place.join(format!("{base}-{n}")),
        };
        match fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

fn lock(done: &Mutex<bool>) -> MutexGuard<'_, bool> {
    // A panic while writing leaves the flag as true as it was.
    done.lock().unwrap_or_else(|e| e.into_inner())
}

/// Refuses an existing folder that is neither empty nor a lab report,
/// naming one of its files. Temporary folders of other lab runs into it
/// (`.NAME.tmp-*`) do not count.
fn check_existing(out: &Path, name: &str) -> Result<(), LabError> {
    let shown = escaped(out.display());
    let entries = fs::read_dir(out).map_err(|e| {
        LabError::Plan(format!(
            "--out {shown}: cannot read the folder ({e}): choose a readable place"
        ))
    })?;
    let ours = format!(".{name}.tmp-");
    let mut others = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(&ours));
    let Some(first) = others.next() else {
        return Ok(());
    };
    if earlier_files(out).is_some() {
        return Ok(());
    }
    Err(LabError::Plan(format!(
        "--out {shown} holds files that are not a speedup lab report (e.g. {}): give --out a new \
         or empty folder, or add --force to write the report's files into it (files of other \
         names are left alone)",
        escaped(&first)
    )))
}

/// The files an earlier lab run listed in `out`'s [`MARKER`], if `out` holds
/// a lab report; only plain names within the folder are kept.
fn earlier_files(out: &Path) -> Option<HashSet<String>> {
    #[derive(serde::Deserialize)]
    struct Marker {
        schema: String,
        files: Vec<String>,
    }
    let path = out.join(MARKER);
    if !fs::symlink_metadata(&path).ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    fs::File::open(&path)
        .ok()?
        .take(MARKER_LIMIT)
        .read_to_string(&mut text)
        .ok()?;
    let marker: Marker = serde_json::from_str(&text).ok()?;
    (marker.schema == SCHEMA).then(|| marker.files.into_iter().filter(|n| plain_name(n)).collect())
}

/// A single file name, not hidden: nothing a forged list could use to
/// reach outside the folder or into the temporary one.
fn plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.starts_with('.')
        && !name.contains('/')
}

#[cfg(test)]
mod tests {
    use super::{plain_name, Staging};
    use std::fs;

    #[test]
    fn a_folder_of_the_temporary_name_that_was_there_is_left_alone() {
        let place = std::env::temp_dir().join(format!("speedup-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&place);
        fs::create_dir_all(&place).unwrap();
        let theirs = place.join(format!(".out.tmp-{}", std::process::id()));
        fs::create_dir(&theirs).unwrap();
        fs::write(theirs.join("keep"), b"theirs").unwrap();
        let staging = Staging::new(&place.join("out"), false).unwrap();
        assert_ne!(staging.tmp, theirs);
        drop(staging);
        assert_eq!(fs::read(theirs.join("keep")).unwrap(), b"theirs");
        let left: Vec<_> = fs::read_dir(&place)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "only theirs is left: {left:?}");
        fs::remove_dir_all(&place).unwrap();
    }

    #[test]
    fn only_plain_names_come_from_a_marker() {
        assert!(plain_name("baseline.csv"));
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", ".hidden", "a/"] {
            assert!(!plain_name(bad), "{bad}");
        }
    }
}
