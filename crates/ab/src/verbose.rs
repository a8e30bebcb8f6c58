//! ab's `-v` tracing around the tally: at 2 and above every response's
//! first read ("LOG: header received:") and a warning for each non-2xx
//! status; at 3 and above "LOG: Response code = N" for the others. Below 2
//! it only counts.

use std::io::Write;

use crate::tally::AbTally;
use speedup_load::{Outcome, Record, Recorder};

/// An [`AbTally`] that also writes what ab prints at verbosity `level` to
/// `out` (ab's stdout; a failed write is not a failed request).
pub struct Traced {
    /// The counts, as without tracing.
    pub tally: AbTally,
    level: u32,
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Traced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traced")
            .field("tally", &self.tally)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl Traced {
    /// Wraps `tally`, writing at `level` to `out`.
    pub fn new(tally: AbTally, level: u32, out: Box<dyn Write + Send>) -> Traced {
        Traced { tally, level, out }
    }
}

impl Recorder for Traced {
    fn record(&mut self, record: &Record) {
        // Checked first: at the default level the hot path takes no lock.
        if self.level >= 2 {
            if let Outcome::Response { status, .. } = record.outcome {
                // One write per line, so threads sharing stdout never
                // interleave inside a line.
                if !(200..300).contains(&status) {
                    let line = format!("WARNING: Response code not 2xx ({status})\n");
                    let _ = self.out.write_all(line.as_bytes());
                } else if self.level >= 3 {
                    let line = format!("LOG: Response code = {status}\n");
                    let _ = self.out.write_all(line.as_bytes());
                }
            }
        }
        self.tally.record(record);
    }

    fn first_read(&mut self, bytes: &[u8]) {
        if self.level >= 2 {
            let text = String::from_utf8_lossy(bytes);
            let line = format!("LOG: header received:\n{text}\n");
            let _ = self.out.write_all(line.as_bytes());
        }
    }
}
