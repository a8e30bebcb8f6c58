//! The embedded server: `speedup serve` started in-process on `127.0.0.1`
//! and a free port, on its own runtime and thread, so the lab needs nothing
//! installed and nothing listening beforehand.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A running embedded server; stopped by [`EmbeddedServer::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedServer {
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedServer {
    /// Binds `127.0.0.1:0` and serves the article's app with `config` on a
    /// background thread. Returns once the socket is listening, so requests
    /// can be sent at once.
    pub fn start(config: speedup_server::Config) -> std::io::Result<EmbeddedServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("speedup-lab-server")
            // The blocking pool must be able to hold every pool thread.
            .max_blocking_threads(config.threads.max(1) + 8)
            .build()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let listener = runtime
            .block_on(speedup_server::bind(addr))
            .map_err(std::io::Error::other)?;
        let local = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("speedup-lab-server".into())
            .spawn(move || {
                let shutdown = async {
                    // A dropped sender means the same as a sent stop.
                    let _ = rx.await;
                };
                // The config was validated by the plan; should serving still
                // fail, the lab's runs against this server fail and say so.
                let _ = runtime.block_on(speedup_server::serve(listener, config, shutdown));
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            })?;
        Ok(EmbeddedServer {
            base_url: format!("http://{local}"),
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Shuts the server down gracefully and waits for its thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
