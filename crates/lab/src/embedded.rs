//! The embedded server: `speedup serve` started in-process on `127.0.0.1`
//! and a free port, so the lab needs nothing installed and nothing
//! listening beforehand.
//!
//! It is the server users run, started the way `speedup serve` starts it
//! ([`speedup_server::Server::builder`]): a current-thread runtime per
//! serving thread (by default one per core, as `--workers`), each with its
//! own timer, a connection living on the thread that accepted it. What the
//! lab finds (a stall blocks one thread's connections, an async computation
//! delays only the requests on its thread) is what `speedup serve` does.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use speedup_server::{Server, ServerError, Stopped};
use tokio::sync::oneshot;
use tower::ServiceExt;

/// How long [`EmbeddedServer::start`] waits for every serving thread.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running embedded server; stopped by [`EmbeddedServer::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedServer {
    base_url: String,
    /// The application it serves (sharing its state), to read its metrics
    /// in-process.
    app: Router,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<Stopped, ServerError>>>,
}

impl EmbeddedServer {
    /// Binds `127.0.0.1:0` and serves the article's app with `config` on
    /// [`speedup_server::default_workers`] threads, as `speedup serve` does.
    /// Returns once every serving thread runs, so requests can be sent at
    /// once; a server that cannot start says why.
    pub fn start(config: speedup_server::Config) -> Result<EmbeddedServer, ServerError> {
        Self::with_workers(config, speedup_server::default_workers())
    }

    /// [`EmbeddedServer::start`] on `workers` serving threads.
    pub fn with_workers(
        config: speedup_server::Config,
        workers: usize,
    ) -> Result<EmbeddedServer, ServerError> {
        let mut app = None;
        let server = Server::builder(config)
            .workers(workers)
            .app(|config| app.insert(speedup_server::app(config)).clone())
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let app = app.expect("bind builds the app");
        let (base_url, stats) = (server.listening().to_string(), server.stats());
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("speedup-lab-server".into())
            .spawn(move || {
                // This runtime only relays the stop: the server runs its own.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(ServerError::Thread)?;
                let shutdown = async {
                    // A dropped sender means the same as a sent stop.
                    let _ = rx.await;
                };
                runtime.block_on(server.serve(shutdown, std::future::pending()))
            })
            .map_err(ServerError::Thread)?;
        let mut embedded = EmbeddedServer {
            base_url,
            app,
            shutdown: Some(tx),
            thread: Some(thread),
        };
        let started = Instant::now();
        while stats.serving_threads() < workers {
            if embedded
                .thread
                .as_ref()
                .is_some_and(JoinHandle::is_finished)
            {
                return Err(embedded.stop_inner().err().unwrap_or_else(|| {
                    ServerError::Thread(std::io::Error::other("the server stopped at once"))
                }));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(ServerError::Thread(std::io::Error::other(format!(
                    "serving threads not started within {START_TIMEOUT:?}"
                ))));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(embedded)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's `/metrics` text, read in-process from the application
    /// it serves; `None` if it cannot be rendered.
    pub fn metrics(&self) -> Option<String> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
        let request = axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .ok()?;
        runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.ok()?;
            let body = axum::body::to_bytes(response.into_body(), 16 << 20)
                .await
                .ok()?;
            String::from_utf8(body.to_vec()).ok()
        })
    }

    /// Shuts the server down gracefully and waits for it; says why if it
    /// failed while serving.
    pub fn stop(mut self) -> Result<(), ServerError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            // Threads stuck in a handler past the grace period are left to
            // finish it: the lab's handlers are all bounded.
            Some(Ok(served)) => served.map(|_stopped| ()),
            Some(Err(_)) => Err(ServerError::Thread(std::io::Error::other(
                "the embedded server's thread panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        // Errors were reported by `stop`, or by the runs that failed.
        let _ = self.stop_inner();
    }
}
