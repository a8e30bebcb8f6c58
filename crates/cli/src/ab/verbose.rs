//! ab's `-v` tracing around the tally: at 2 and above every response's
//! first read ("LOG: header received:") and a warning for each non-2xx
//! status; at 3 and above "LOG: Response code = N" for the others. Below 2
//! it only counts.

use std::io::Write;

use speedup_load::{Outcome, Record, Recorder};
use speedup_report::ab::AbTally;

/// An [`AbTally`] that also prints what ab prints at verbosity `level`.
#[derive(Debug)]
pub struct Traced {
    /// The counts, as without tracing.
    pub tally: AbTally,
    level: u32,
}

impl Traced {
    /// Wraps `tally`, printing at `level`.
    pub fn new(tally: AbTally, level: u32) -> Traced {
        Traced { tally, level }
    }
}

impl Recorder for Traced {
    fn record(&mut self, record: &Record) {
        // Checked first: at the default level the hot path takes no lock.
        if self.level >= 2 {
            if let Outcome::Response { status, .. } = record.outcome {
                // Lines go to stdout as ab's do; a failed write is not a failed request.
                let mut out = std::io::stdout().lock();
                if !(200..300).contains(&status) {
                    let _ = writeln!(out, "WARNING: Response code not 2xx ({status})");
                } else if self.level >= 3 {
                    let _ = writeln!(out, "LOG: Response code = {status}");
                }
            }
        }
        self.tally.record(record);
    }

    fn first_read(&mut self, bytes: &[u8]) {
        if self.level >= 2 {
            let text = String::from_utf8_lossy(bytes);
            let _ = writeln!(std::io::stdout().lock(), "LOG: header received:\n{text}");
        }
    }
}
