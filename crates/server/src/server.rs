//! The accept loop and graceful shutdown.
//!
//! * A semaphore of `max_connections` permits is acquired *before* `accept`,
//!   so connections beyond the cap wait in the kernel's backlog instead of
//!   being accepted and starved (or exhausting file descriptors).
//! * Every connection runs in a [`JoinSet`], so shutdown can wait for exactly
//!   the open connections and abort whatever is left when `grace` runs out:
//!   when [`serve`] returns, nothing it started is still serving.
//! * Shutdown order: stop accepting (the listener is dropped, so new
//!   connections are refused), tell every connection (see `conn`), wait up to
//!   `grace`, abort the rest.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};

use crate::conn::{serve_connection, ConnSettings};
use crate::{app, Config, ServerError};

/// Pending connections the kernel queues for us (uvicorn's default), which is
/// where clients beyond `max_connections` wait.
const BACKLOG: u32 = 2048;

/// Pause after an accept error such as "too many open files", so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds a listening socket on `addr` with address reuse and a deep backlog.
///
/// Port 0 picks a free port; read it back with `TcpListener::local_addr`.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let bind_error = |source| ServerError::Bind { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(bind_error)?;
    socket.set_reuseaddr(true).map_err(bind_error)?;
    socket.bind(addr).map_err(bind_error)?;
    socket.listen(BACKLOG).map_err(bind_error)
}

/// Serves the article's application ([`app`]) on `listener` until `shutdown`
/// resolves, then shuts down gracefully within `config.grace`.
///
/// Returns once every connection has finished or been aborted.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.validate()?;
    let router = app(&config);
    serve_router(listener, router, config, shutdown).await
}

/// Like [`serve`], but for any router: the connection handling (limits,
/// timeouts, graceful shutdown) without the application. Tests use it to
/// wrap [`app`] in instrumentation; `config.threads` and `max_sleep` are
/// ignored here because they belong to the router.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    config.validate()?;
    let local = listener.local_addr().map_err(ServerError::LocalAddr)?;
    // No silent fallback to an imprecise timer: fail or say so now.
    crate::timer::start().map_err(ServerError::Timer)?;
    if let Some(warning) = crate::timer::precision_warning() {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        "listening on http://{local} (threads {}, max sleep {}s, keep-alive {:?}, \
         header timeout {:?}, max connections {}, grace {:?})",
        config.threads,
        config.max_sleep,
        config.keep_alive,
        config.header_timeout,
        config.max_connections,
        config.grace,
    );
    let settings = Arc::new(ConnSettings::new(&config));
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(finished) = connections.join_next() => report(finished),
            accepted = accept(&listener, &limit) => match accepted {
                Ok((stream, peer, permit)) => {
                    let task = serve_connection(
                        stream,
                        peer,
                        router.clone(),
                        Arc::clone(&settings),
                        stopping.clone(),
                    );
                    connections.spawn(async move {
                        task.await;
                        drop(permit);
                    });
                }
                Err(error) if is_per_connection(&error) => {
                    tracing::debug!("accept: {error}");
                }
                Err(error) => {
                    tracing::warn!("accept failed, retrying: {error}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }

    drop(listener);
    tracing::info!(
        "shutting down: stopped accepting; finishing {} open connection(s) within {:?}",
        connections.len(),
        config.grace,
    );
    stop.send_replace(true);
    let drain = async {
        while let Some(finished) = connections.join_next().await {
            report(finished);
        }
    };
    if tokio::time::timeout(config.grace, drain).await.is_err() {
        tracing::warn!(
            "grace period of {:?} over with {} connection(s) still open; closing them",
            config.grace,
            connections.len(),
        );
        connections.shutdown().await;
    }
    tracing::info!("server stopped");
    Ok(())
}

/// Waits for a connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    limit: &Arc<Semaphore>,
) -> io::Result<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = Arc::clone(limit)
        .acquire_owned()
        .await
        .map_err(|_| io::Error::other("connection limit semaphore closed"))?;
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, permit))
}

/// Errors that concern one connection (gone before we accepted it), not the
/// listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Logs a connection task that panicked; a clean end needs no report.
fn report(finished: Result<(), JoinError>) {
    if let Err(error) = finished {
        if error.is_panic() {
            tracing::error!("connection task panicked: {error}");
        }
    }
}
