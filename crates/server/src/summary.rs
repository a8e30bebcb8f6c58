//! The one line a server logs once it has stopped: what its shutdown came
//! to, summed over the serving threads (each thread's own details are at
//! debug level).

use std::fmt;
use std::time::Duration;

use crate::accept::Drained;
use crate::Stopped;

/// What a server's shutdown came to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary {
    /// The threads that stopped, summed, and what was answered 503 after.
    pub(crate) drained: Drained,
    /// The threads left behind, stuck in a handler.
    pub(crate) stopped: Stopped,
    /// Whether connections were cut by the second signal (else by the end
    /// of the grace period, if any were cut).
    pub(crate) by_signal: bool,
    pub(crate) grace: Duration,
}

impl Summary {
    /// Logs the line: a warning when anything was cut, else at info level.
    pub(crate) fn log(&self) {
        if self.cut_anything() {
            tracing::warn!("{self}");
        } else {
            tracing::info!("{self}");
        }
    }

    fn cut_anything(&self) -> bool {
        self.drained.cut > 0 || self.stopped.stuck_threads > 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Drained {
            refused, open, cut, ..
        } = self.drained;
        match (self.cut_anything(), self.by_signal) {
            (false, _) => write!(f, "stopped")?,
            (true, true) => write!(f, "stopped at the second signal")?,
            (true, false) => write!(f, "stopped at the end of the {:?} grace period", self.grace)?,
        }
        write!(
            f,
            ": {} open connection(s) finished",
            open.saturating_sub(cut)
        )?;
        if cut > 0 {
            write!(f, ", cutting {cut} open connection(s)")?;
        }
        let Stopped {
            stuck_threads,
            connections_cut,
            requests_cut,
        } = self.stopped;
        if stuck_threads > 0 {
            write!(
                f,
                "; {stuck_threads} serving thread(s) stuck in a handler, left behind: \
                 cut {requests_cut} request(s) ({connections_cut} open connection(s))"
            )?;
        }
        write!(f, "; {refused} waiting connection(s) answered 503")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(drained: Drained, stopped: Stopped, by_signal: bool) -> String {
        Summary {
            drained,
            stopped,
            by_signal,
            grace: Duration::from_secs(10),
        }
        .to_string()
    }

    #[test]
    fn one_line_says_what_shutdown_came_to() {
        let clean = Drained {
            refused: 1,
            open: 3,
            ..Drained::default()
        };
        assert_eq!(
            summary(clean, Stopped::default(), false),
            "stopped: 3 open connection(s) finished; 1 waiting connection(s) answered 503"
        );
        let cut = Drained {
            open: 3,
            cut: 1,
            ..Drained::default()
        };
        assert_eq!(
            summary(cut, Stopped::default(), true),
            "stopped at the second signal: 2 open connection(s) finished, cutting 1 open \
             connection(s); 0 waiting connection(s) answered 503"
        );
        let stuck = Stopped {
            stuck_threads: 2,
            connections_cut: 3,
            requests_cut: 2,
        };
        assert_eq!(
            summary(Drained::default(), stuck, false),
            "stopped at the end of the 10s grace period: 0 open connection(s) finished; \
             2 serving thread(s) stuck in a handler, left behind: cut 2 request(s) \
             (3 open connection(s)); 0 waiting connection(s) answered 503"
        );
    }
}
