//! The open-files limit (`RLIMIT_NOFILE`): the one place the binary reads
//! and raises it. Every connection is a file descriptor, and the common
//! soft limit of 1,024 caps a server or a load generator near 1,000
//! connections whatever its flags say. The libraries only say how many
//! descriptors they need; the front ends (`speedup serve` for
//! `--max-connections`, the load generators for their connections) decide
//! to raise the limit, all by the same policy: [`raise_open_files`].

/// The open-files limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit: what the process may open now.
    pub soft: Option<u64>,
    /// The hard limit: how far an unprivileged process may raise `soft`.
    pub hard: Option<u64>,
}

impl OpenFiles {
    /// The process's limits now; unlimited where they cannot be read.
    pub fn now() -> OpenFiles {
        #[cfg(unix)]
        {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            OpenFiles {
                soft: limit.current,
                hard: limit.maximum,
            }
        }
        #[cfg(not(unix))]
        OpenFiles {
            soft: None,
            hard: None,
        }
    }

    /// Whether the soft limit allows `wanted` descriptors.
    pub fn fits(&self, wanted: u64) -> bool {
        self.soft.is_none_or(|soft| soft >= wanted)
    }
}

/// What [`raise_open_files`] found and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    /// The limits before.
    pub before: OpenFiles,
    /// The limits now.
    pub after: OpenFiles,
}

impl Raised {
    /// Whether the soft limit went up.
    pub fn raised(&self) -> bool {
        self.before.soft != self.after.soft
    }
}

/// Makes room for `wanted` open descriptors: raises the soft limit to
/// `wanted` if it is lower, within the hard limit (which any process may
/// do); if the hard limit is lower too, raises both when the process may
/// (root, or `CAP_SYS_RESOURCE`), else the soft one to the hard one. Never
/// lowers a limit, never raises one beyond `wanted`. The caller reads
/// [`Raised::after`] to see whether `wanted` fits ([`OpenFiles::fits`]),
/// and says so: this prints nothing.
pub fn raise_open_files(wanted: u64) -> Raised {
    let before = OpenFiles::now();
    if !before.fits(wanted) {
        let short_hard = before.hard.is_some_and(|hard| hard < wanted);
        // The hard limit first if it is short (needs privilege); failing
        // that, the soft limit as far as the hard one allows.
        if !(short_hard && set(wanted, Some(wanted))) {
            let soft = before.hard.map_or(wanted, |hard| hard.min(wanted));
            set(soft, before.hard);
        }
    }
    Raised {
        before,
        after: OpenFiles::now(),
    }
}

/// Sets the limits to `soft` and `hard` (`None`: unlimited); false if the
/// kernel refused.
fn set(soft: u64, hard: Option<u64>) -> bool {
    #[cfg(unix)]
    {
        let limit = rustix::process::Rlimit {
            current: Some(soft),
            maximum: hard,
        };
        rustix::process::setrlimit(rustix::process::Resource::Nofile, limit).is_ok()
    }
    #[cfg(not(unix))]
    {
        let _ = (soft, hard);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_that_fits_is_left_alone() {
        let raised = raise_open_files(16);
        assert!(!raised.raised());
        assert_eq!(raised.before, raised.after);
        assert!(raised.after.fits(16));
    }

    #[test]
    fn a_limit_is_raised_only_as_far_as_asked_and_never_past_what_the_kernel_allows() {
        let before = OpenFiles::now();
        // One more than now, within the hard limit: exactly that.
        if let (Some(soft), Some(hard)) = (before.soft, before.hard) {
            if soft < hard {
                let raised = raise_open_files(soft + 1);
                assert_eq!(raised.after.soft, Some(soft + 1));
                assert!(raised.raised() && raised.after.fits(soft + 1));
            }
        }
        // No process may open 2^62 files: raised at most to the hard limit
        // (or fs.nr_open), and it says it does not fit.
        let raised = raise_open_files(1 << 62);
        assert!(!raised.after.fits(1 << 62));
        assert!(raised.after.soft >= raised.before.soft, "never lowered");
    }
}
