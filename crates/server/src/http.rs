//! One connection's protocol: HTTP/1.x, or HTTP/2 with prior knowledge
//! (h2c, RFC 9113 §3.3), on the same port, told apart by the first bytes
//! (HTTP/2's 24-byte preface), and hyper's connection for it ([`Http`]).
//!
//! hyper-util's "auto" connection does the same, but reads the first 24
//! bytes apart (one system call more per connection), and its HTTP/1
//! settings lack the head-size limit `max_header_bytes` needs; here
//! `watched`'s `Watched` reads the first bytes into a buffer hyper reads
//! back, and hyper's two builders are set directly ([`Protocols`]).
//!
//! HTTP/2's streams run as tasks of their own (hyper spawns one per
//! request, [`TokioExecutor`]) on the connection's current-thread runtime,
//! so they stay on its thread; they end with the connection, whose h2
//! state wakes them with an error when it is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::HttpService;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::watched::Watched;

/// hyper's settings for both protocols (see `conn` for their values).
#[derive(Debug, Clone)]
pub(crate) struct Protocols {
    pub(crate) http1: http1::Builder,
    pub(crate) http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    /// hyper's defaults, to be set.
    pub(crate) fn new() -> Self {
        Self {
            http1: http1::Builder::new(),
            http2: http2::Builder::new(TokioExecutor::new()),
        }
    }

    /// Serves `io` with `service`, in whichever protocol its first bytes
    /// speak.
    pub(crate) fn serve<'a, S>(&'a self, io: Watched<'a>, service: S) -> Http<'a, S>
    where
        S: HttpService<Incoming>,
    {
        self.sniffing(io, service, false)
    }

    /// Like [`Protocols::serve`], for a connection the server is shutting
    /// down: HTTP/2 is told to go away (GOAWAY) at once, and its requests
    /// sent before the client heard are still answered by `service`.
    pub(crate) fn refuse<'a, S>(&'a self, io: Watched<'a>, service: S) -> Http<'a, S>
    where
        S: HttpService<Incoming>,
    {
        self.sniffing(io, service, true)
    }

    fn sniffing<'a, S>(&'a self, io: Watched<'a>, service: S, go_away: bool) -> Http<'a, S>
    where
        S: HttpService<Incoming>,
    {
        Http::Sniffing {
            io: Some(io),
            service: Some(service),
            protocols: self,
            shutdown: false,
            go_away,
        }
    }
}

/// Why a connection ended in error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Ended {
    /// Before its protocol was known.
    #[error("{0}")]
    Io(std::io::Error),
    /// In hyper.
    #[error("{0}")]
    Http(hyper::Error),
}

impl Ended {
    /// Whether hyper ended the connection for a request it could not parse
    /// (HTTP/1: it answered 4xx, which the client must get to read).
    pub(crate) fn is_parse(&self) -> bool {
        matches!(self, Ended::Http(error) if error.is_parse())
    }
}

pin_project_lite::pin_project! {
    /// One connection, from its first bytes to its end (see the module).
    #[project = HttpProj]
    pub(crate) enum Http<'a, S>
    where
        S: HttpService<Incoming>,
    {
        /// Reading the first bytes.
        Sniffing {
            io: Option<Watched<'a>>,
            service: Option<S>,
            protocols: &'a Protocols,
            // Shut down before the protocol was known: nothing to finish.
            shutdown: bool,
            // HTTP/2 goes away at once (see `Protocols::refuse`).
            go_away: bool,
        },
        /// HTTP/1.x.
        One {
            #[pin]
            conn: http1::Connection<TokioIo<Watched<'a>>, S>,
        },
        /// HTTP/2.
        Two {
            #[pin]
            conn: http2::Connection<TokioIo<Watched<'a>>, S, TokioExecutor>,
        },
    }
}

/// What [`Http`] needs of a service: one answering with the application's
/// responses, its futures spawned as HTTP/2 streams.
pub(crate) trait Service:
    HttpService<Incoming, ResBody = axum::body::Body, Error = Infallible, Future: Send + 'static>
{
}

impl<S> Service for S where
    S: HttpService<
        Incoming,
        ResBody = axum::body::Body,
        Error = Infallible,
        Future: Send + 'static,
    >
{
}

impl<S: Service> Http<'_, S> {
    /// Starts hyper's graceful shutdown: HTTP/1 finishes the request in
    /// progress and closes; HTTP/2 sends GOAWAY, finishes the streams in
    /// flight and takes no new ones. Before the protocol is known, the
    /// connection ends as soon as it is.
    pub(crate) fn graceful_shutdown(self: Pin<&mut Self>) {
        match self.project() {
            HttpProj::Sniffing { shutdown, .. } => *shutdown = true,
            HttpProj::One { conn } => conn.graceful_shutdown(),
            HttpProj::Two { conn } => conn.graceful_shutdown(),
        }
    }
}

impl<S: Service> Future for Http<'_, S> {
    type Output = Result<(), Ended>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let go_away;
            let next = match self.as_mut().project() {
                HttpProj::Sniffing {
                    io,
                    service,
                    protocols,
                    shutdown,
                    go_away: refusing,
                } => {
                    let Some(watched) = io.as_mut() else {
                        return Poll::Ready(Ok(()));
                    };
                    let http2 = ready!(watched.poll_sniff(cx)).map_err(Ended::Io)?;
                    let (Some(watched), Some(service), false) =
                        (io.take(), service.take(), *shutdown)
                    else {
                        return Poll::Ready(Ok(()));
                    };
                    let io = TokioIo::new(watched);
                    go_away = http2 && *refusing;
                    if http2 {
                        Http::Two {
                            conn: protocols.http2.serve_connection(io, service),
                        }
                    } else {
                        Http::One {
                            conn: protocols.http1.serve_connection(io, service),
                        }
                    }
                }
                HttpProj::One { conn } => return conn.poll(cx).map_err(Ended::Http),
                HttpProj::Two { conn } => return conn.poll(cx).map_err(Ended::Http),
            };
            self.set(next);
            if go_away {
                self.as_mut().graceful_shutdown();
            }
        }
    }
}
