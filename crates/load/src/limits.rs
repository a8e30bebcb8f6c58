//! Process limits a run depends on: open files for the connections, and
//! how many client threads to use by default.

use crate::error::RunError;

/// File descriptors beyond the connections: stdio, each worker's epoll and
/// wake-up descriptors, and whatever the front end has open.
pub(crate) fn descriptors_needed(concurrency: u32, threads: usize) -> u64 {
    u64::from(concurrency) + 64 + 4 * threads as u64
}

/// Makes room for `wanted` open files: raises the soft limit, and the hard
/// limit too when the process may (root); errors with both numbers if the
/// highest limit allowed is still too low.
pub(crate) fn ensure_open_files(wanted: u64) -> Result<(), RunError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        // Cannot tell: let the connects report any shortage.
        return Ok(());
    }
    let soft: u64 = lim.rlim_cur;
    if lim.rlim_cur == libc::RLIM_INFINITY || soft >= wanted {
        return Ok(());
    }
    let hard: u64 = lim.rlim_max;
    let unlimited = lim.rlim_max == libc::RLIM_INFINITY;
    // Soft up to the hard limit, which any process may do; the hard limit
    // too if it is below what is wanted, which needs privilege (root). An
    // unlimited hard limit still caps the soft one at fs.nr_open.
    let (cur, max) = if unlimited {
        (wanted, hard)
    } else {
        (hard.max(wanted), hard.max(wanted))
    };
    if set_open_files(cur, max) {
        return Ok(());
    }
    let limit = if !unlimited && set_open_files(hard, hard) {
        hard
    } else {
        soft
    };
    Err(RunError::OpenFiles { wanted, limit })
}

/// Sets the open-files limits; false if the kernel refused.
fn set_open_files(cur: u64, max: u64) -> bool {
    let lim = libc::rlimit {
        rlim_cur: cur,
        rlim_max: max,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}

/// The default number of client threads.
///
/// On a small machine the server under test usually shares the cores, and
/// one client thread beside it gives the best throughput; a few
/// connections cannot keep more threads busy either. Otherwise use half the
/// cores, leaving the rest to the server.
pub(crate) fn default_threads(concurrency: u32, cores: usize) -> usize {
    if cores <= 2 || concurrency < 16 {
        1
    } else {
        (cores / 2).min(concurrency as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_on_small_machines_or_few_connections() {
        assert_eq!(default_threads(50, 2), 1);
        assert_eq!(default_threads(50_000, 1), 1);
        assert_eq!(default_threads(4, 16), 1);
        assert_eq!(default_threads(100, 8), 4);
        assert_eq!(default_threads(16, 64), 16);
    }

    #[test]
    fn open_files_within_the_limit_pass() {
        assert!(ensure_open_files(16).is_ok());
        match ensure_open_files(u64::MAX / 2) {
            Err(RunError::OpenFiles { wanted, limit }) => assert!(limit < wanted),
            other => panic!("expected OpenFiles, got {other:?}"),
        }
    }
}
