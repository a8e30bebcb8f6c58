//! The signals `speedup serve` answers: SIGINT, SIGTERM and SIGHUP shut it
//! down gracefully (a terminal that closes sends SIGHUP; a server started
//! from it should stop as Ctrl-C stops it, not die with its requests cut),
//! a second one stops it at once; SIGUSR1 and SIGUSR2, whose default action
//! also kills the process on the spot, are logged and ignored.

use std::future::Future;

use anyhow::Context;

/// Installs the handlers now and returns two futures: the first resolves on
/// the first shutdown signal (graceful shutdown), the second on the next one
/// (stop at once). Must run inside the runtime.
#[cfg(unix)]
pub(super) fn shutdown_signals(
) -> anyhow::Result<(impl Future<Output = ()>, impl Future<Output = ()>)> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).with_context(|| format!("cannot listen for {name}"))
    };
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut hangup = listen(SignalKind::hangup(), "SIGHUP")?;
    let mut user1 = listen(SignalKind::user_defined1(), "SIGUSR1")?;
    let mut user2 = listen(SignalKind::user_defined2(), "SIGUSR2")?;
    let (count, counted) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
                _ = hangup.recv() => "SIGHUP",
                _ = user1.recv() => "SIGUSR1",
                _ = user2.recv() => "SIGUSR2",
            };
            if name.starts_with("SIGUSR") {
                tracing::info!("received {name}: ignored (SIGTERM shuts down)");
                continue;
            }
            let seen = *count.borrow() + 1;
            match seen {
                1 => {
                    tracing::info!("received {name}: shutting down (send it again to stop at once)")
                }
                _ => tracing::warn!("received {name} again: stopping at once"),
            }
            count.send_replace(seen);
        }
    });
    let nth = move |n: u32| {
        let mut counted = counted.clone();
        async move {
            // A dropped sender (runtime going away) counts as a signal.
            let _ = counted.wait_for(|seen| *seen >= n).await;
        }
    };
    Ok((nth(1), nth(2)))
}

/// Ctrl-C only where there are no Unix signals (twice stops at once).
#[cfg(not(unix))]
pub(super) fn shutdown_signals(
) -> anyhow::Result<(impl Future<Output = ()>, impl Future<Output = ()>)> {
    let (count, counted) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("received Ctrl-C");
            count.send_modify(|seen| *seen += 1);
        }
    });
    let nth = move |n: u32| {
        let mut counted = counted.clone();
        async move {
            let _ = counted.wait_for(|seen| *seen >= n).await;
        }
    };
    Ok((nth(1), nth(2)))
}
