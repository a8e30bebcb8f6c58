//! What the transport hands the application with each request, beyond the
//! request itself: the server's shutdown signal ([`Stopping`], so work that
//! has not started yet can be refused with a 503) and the address the
//! connection was accepted on ([`LocalAddr`], for redirects without
//! `host`).
//!
//! Both the transport (`conn`, which sets them) and the application
//! (`sleep`, `routes`, which read them) depend on this module, and it on
//! neither: the dependency between app and transport points one way.

use std::future::Future;
use std::net::SocketAddr;

use tokio::sync::watch;
use tokio::task::futures::TaskLocalFuture;

/// The address the connection was accepted on, attached to a request
/// without `host`; Starlette uses it for redirects then.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

/// The server's shutdown signal, there for every request the server hands
/// the application ([`Stopping::current`]), so handlers that have not
/// started their work yet can refuse it (503) instead.
#[derive(Debug, Clone)]
pub(crate) struct Stopping(watch::Receiver<bool>);

tokio::task_local! {
    /// Set while the application handles a request: a task-local rather
    /// than a request extension, whose map costs three allocations per
    /// request.
    static STOPPING: Stopping;
}

impl Stopping {
    /// The signal of a server that shuts down once `stop` holds `true`.
    pub(crate) fn new(stop: watch::Receiver<bool>) -> Self {
        Self(stop)
    }

    /// `future` with this signal as [`Stopping::current`] while it runs.
    pub(crate) fn scope<F: Future>(self, future: F) -> TaskLocalFuture<Stopping, F> {
        STOPPING.scope(self, future)
    }

    /// The shutdown signal of the server handling the current request; none
    /// when the application runs without one (`tower::ServiceExt::oneshot`).
    pub(crate) fn current() -> Option<Stopping> {
        STOPPING.try_with(Clone::clone).ok()
    }

    /// Resolves when the server starts shutting down (or is gone).
    pub(crate) async fn wait(&mut self) {
        // An error means the server dropped the sender: shutdown too.
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}
