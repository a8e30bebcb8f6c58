//! What [`Server::serve`](crate::Server::serve) does while the serving
//! threads serve ([`Relay`]): it relays shutdown to them (the grace period,
//! then the cut, or the cut at once on a second signal), sums up what
//! their drains report, and closes its spare listening socket once they
//! have closed theirs, so that new connections are refused from then on.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::accept::{Drained, Shared};
use crate::listener::refuse_waiting;
use crate::server::CLOSE_MARGIN;
use crate::socket::StdListener;
use crate::threads::{Phase, Served};
use crate::ServerError;

/// What [`Server::serve`] does while the threads serve: relays shutdown
/// to them (`phase`), and closes its `spare` socket once they have closed
/// theirs.
pub(crate) struct Relay<'a, A> {
    pub(crate) phase: watch::Sender<Phase>,
    pub(crate) grace: Duration,
    pub(crate) shared: &'a Shared<A>,
    pub(crate) spare: Option<StdListener>,
    pub(crate) failure: Option<ServerError>,
    /// What the threads that stopped reported, summed.
    pub(crate) drained: Drained,
    /// Whether `cut` came before the grace period was over.
    pub(crate) cut_by_signal: bool,
}

/// Where shutdown stands, as [`Relay`] sees it.
#[derive(Debug, Default)]
struct Stage {
    /// `shutdown` resolved (graceful shutdown began).
    signalled: bool,
    /// `cut` resolved after it.
    cut_signalled: bool,
    /// When the loops are (to be) told to cut.
    cut_at: Option<Instant>,
    /// Whether they have been.
    cutting: bool,
}

impl Stage {
    /// When to wake next: the cut, then [`CLOSE_MARGIN`] after it.
    fn wake(&self) -> Option<Instant> {
        self.cut_at
            .map(|at| if self.cutting { at + CLOSE_MARGIN } else { at })
    }
}

impl<A> Relay<'_, A> {
    /// Relays `shutdown` (then the grace period, or `cut`) to the serving
    /// threads and waits for their loops to end; returns how many had not
    /// when the server stopped waiting: [`CLOSE_MARGIN`] after they were
    /// told to cut (at the end of the grace period, at `cut`, or at once if
    /// one of them failed, into `failure`).
    pub(crate) async fn wait_for_threads(
        &mut self,
        threads: &mut JoinSet<Served>,
        shutdown: impl Future<Output = ()>,
        cut: impl Future<Output = ()>,
    ) -> usize {
        let (mut shutdown, mut cut) = (std::pin::pin!(shutdown), std::pin::pin!(cut));
        let mut stage = Stage {
            cut_at: self.failure.as_ref().map(|_| Instant::now()),
            ..Stage::default()
        };
        loop {
            tokio::select! {
                biased;
                joined = threads.join_next() => match joined {
                    None => return 0,
                    Some(joined) => self.joined(joined, &mut stage),
                },
                () = self.shared.listeners_closed.notified(), if self.spare.is_some() => {
                    // Whatever arrived since the last thread looked.
                    if let Some(spare) = self.spare.take() {
                        self.drained.refused += refuse_waiting(spare, &self.shared.settings).await;
                    }
                }
                () = &mut shutdown, if !stage.signalled => {
                    stage.signalled = true;
                    self.phase.send_if_modified(|now| {
                        let was = std::mem::replace(now, (*now).max(Phase::Graceful));
                        was < Phase::Graceful
                    });
                    stage.cut_at.get_or_insert(Instant::now() + self.grace);
                }
                () = &mut cut, if stage.signalled && !stage.cut_signalled => {
                    stage.cut_signalled = true;
                    self.cut_by_signal |= !stage.cutting;
                    let now = Instant::now();
                    stage.cut_at = Some(stage.cut_at.map_or(now, |at| at.min(now)));
                }
                () = sleep_until_some(stage.wake()) => {
                    if stage.cutting {
                        return threads.len();
                    }
                    self.phase.send_replace(Phase::Cut);
                    stage.cutting = true;
                }
            }
        }
    }

    /// A serving thread ended: its drain is counted; its failure stops the
    /// others at once.
    fn joined(&mut self, joined: Result<Served, JoinError>, stage: &mut Stage) {
        let served =
            joined.unwrap_or_else(|error| Err(ServerError::Thread(io::Error::other(error))));
        match served {
            Ok(drained) => self.drained += drained,
            Err(error) => {
                self.failure.get_or_insert(error);
                stage.cut_at = Some(Instant::now());
            }
        }
    }
}

/// Sleeps until `deadline`, forever without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
