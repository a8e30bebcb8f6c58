//! Result files written whole or not at all: the new content goes to a
//! temporary file beside the destination (`.NAME.PID.tmp`, created before
//! the run so a bad folder fails first) and is renamed over it once
//! complete. An existing file of that name is untouched until then, and a
//! failed or interrupted write leaves only the old file. A destination that
//! is not a regular file (`/dev/stdout`, a pipe) is written in place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// An output file being written; renamed into place by [`Staged::commit`],
/// removed if dropped before.
pub struct Staged {
    /// `--json`, `--csv`: named in every error.
    flag: &'static str,
    /// Where the result goes (links resolved: the link's target is replaced).
    dest: PathBuf,
    /// The temporary file; `None` when writing in place.
    tmp: Option<PathBuf>,
    file: BufWriter<File>,
}

impl Staged {
    /// Creates the temporary file for `dest` (or opens a device in place).
    pub fn create(dest: &Path, flag: &'static str) -> anyhow::Result<Staged> {
        let fail = |what: &str| format!("{flag} {}: {what}", dest.display());
        let meta = fs::metadata(dest).ok();
        if meta.as_ref().is_some_and(|m| m.is_dir()) {
            anyhow::bail!(fail("is a folder: name a file to write"));
        }
        if meta.is_some_and(|m| !m.is_file()) {
            // A device or pipe has no content to keep: write through it.
            let file = OpenOptions::new()
                .write(true)
                .open(dest)
                .with_context(|| fail("cannot open it for writing"))?;
            return Ok(Staged {
                flag,
                dest: dest.to_path_buf(),
                tmp: None,
                file: BufWriter::new(file),
            });
        }
        let dest = fs::canonicalize(dest).unwrap_or_else(|_| dest.to_path_buf());
        let name = dest
            .file_name()
            .with_context(|| fail("not a file name"))?
            .to_string_lossy()
            .into_owned();
        let tmp = dest.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| {
                fail(&format!(
                    "cannot create {} beside it (check the folder exists and is writable)",
                    tmp.display()
                ))
            })?;
        Ok(Staged {
            flag,
            dest,
            tmp: Some(tmp),
            file: BufWriter::new(file),
        })
    }

    /// Writes the content with `write`, then moves the file into place.
    pub fn commit(
        mut self,
        write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        let flag = self.flag;
        write(&mut self.file)
            .and_then(|()| self.file.flush())
            .with_context(|| format!("cannot write the {flag} file"))?;
        if let Some(tmp) = &self.tmp {
            fs::rename(tmp, &self.dest).with_context(|| {
                format!(
                    "{} {}: cannot move {} into place",
                    self.flag,
                    self.dest.display(),
                    tmp.display()
                )
            })?;
            self.tmp = None;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = fs::remove_file(tmp);
        }
    }
}
