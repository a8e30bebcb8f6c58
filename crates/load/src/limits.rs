//! Process limits a run depends on: open files for the connections, and
//! how many client threads to use by default.

use crate::error::RunError;
use crate::plan::Plan;

/// File descriptors a run of `plan` needs: one per connection, plus
/// stdio, each worker's epoll and wake-up descriptors, and whatever the
/// front end has open. The front end makes room for them before the run
/// (raising `RLIMIT_NOFILE` is its decision, not the engine's).
pub fn descriptors_needed(plan: &Plan) -> u64 {
    u64::from(plan.concurrency) + 64 + 4 * plan.resolved_threads() as u64
}

/// Checks that the open-files limit holds `wanted` descriptors: the engine
/// reports a shortage with both numbers before it connects, and never
/// changes the process's limits behind its caller's back.
pub(crate) fn check_open_files(wanted: u64) -> Result<(), RunError> {
    match rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
        Some(limit) if limit < wanted => Err(RunError::OpenFiles { wanted, limit }),
        // Unlimited, or enough.
        _ => Ok(()),
    }
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
    fn open_files_within_the_limit_pass_and_the_limit_is_never_changed() {
        let before = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert!(check_open_files(16).is_ok());
        match check_open_files(u64::MAX / 2) {
            Err(RunError::OpenFiles { wanted, limit }) => assert!(limit < wanted),
            other => panic!("expected OpenFiles, got {other:?}"),
        }
        let after = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(
            (before.current, before.maximum),
            (after.current, after.maximum)
        );
    }
}
