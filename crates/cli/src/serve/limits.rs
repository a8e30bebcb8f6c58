//! Open files for `--max-connections`: every connection is a descriptor, and
//! the common soft limit of 1,024 would otherwise cap the server near 1,000
//! connections whatever the flag says (accepts then fail with "too many
//! open files" while the backlog starves).

use anyhow::bail;

/// Descriptors besides the connections: stdio, the listener, the runtime's
/// epoll and wake-up descriptors, the one connection taken beyond the cap
/// to evict an idle one, logging, and headroom.
const RESERVED: u64 = 64;

/// Raises the open-files limit so `max_connections` connections fit (the
/// soft limit up to the hard one; the hard one too when the process may),
/// and returns how many connections the server may really hold: all of
/// them, or, when the limit cannot go high enough, as many as fit, with a
/// warning that says so and what to do.
pub(super) fn make_room_for(max_connections: usize) -> anyhow::Result<usize> {
    let wanted = (max_connections as u64).saturating_add(RESERVED);
    let Some((soft, hard)) = get() else {
        tracing::warn!("cannot read the open-files limit; --max-connections unchecked");
        return Ok(max_connections);
    };
    if soft == libc::RLIM_INFINITY || soft >= wanted {
        return Ok(max_connections);
    }
    // The hard limit too if it is short (needs privilege), else the soft
    // limit up to the hard one (any process may).
    let raised = (hard != libc::RLIM_INFINITY && hard < wanted && set(wanted, wanted))
        || set(
            if hard == libc::RLIM_INFINITY {
                wanted
            } else {
                wanted.min(hard)
            },
            hard,
        );
    let now = get().map_or(soft, |(soft, _)| soft);
    if raised && now > soft {
        tracing::info!(
            "raised the open-files limit from {soft} to {now} for --max-connections {max_connections}"
        );
    }
    if now >= wanted {
        return Ok(max_connections);
    }
    let fit = now.saturating_sub(RESERVED);
    if fit == 0 {
        bail!(
            "the open-files limit ({now}) leaves no room for connections; \
             raise it with `ulimit -n` (hard limit {hard})"
        );
    }
    let fit = usize::try_from(fit).unwrap_or(usize::MAX);
    tracing::warn!(
        "the open-files hard limit ({}) is too low for --max-connections {max_connections} \
         (needs {wanted}): serving at most {fit} connections at once; raise the hard limit \
         (`ulimit -Hn`, systemd's LimitNOFILE=) or lower --max-connections",
        get().map_or(hard, |(_, hard)| hard),
    );
    Ok(fit)
}

/// The current (soft, hard) open-files limits.
fn get() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    ok.then_some((lim.rlim_cur, lim.rlim_max))
}

/// Sets the open-files limits; false if the kernel refused.
fn set(soft: u64, hard: u64) -> bool {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 }
}
