//! What hyper calls for each request of one connection ([`ConnService`]),
//! and the answer it gives back ([`Answer`]).
//!
//! Around the application's own future, per request: the connection is
//! marked busy (no idle timeout runs; eviction passes it by) until the
//! answer is ready or dropped; an HTTP/1.1 request without exactly one
//! `Host` is answered 400 without reaching the application; a request
//! without `Host` carries the connection's local address ([`LocalAddr`],
//! for Starlette's redirects); the application runs with the server's
//! shutdown signal in reach ([`Stopping`]); a panic in it becomes a 500 on
//! this connection alone; and with `access_log`, one line per request.
//!
//! A named future rather than an `async` block, so the service is a type a
//! reader can hold in one screen, with nothing boxed per request.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{header, HeaderValue, Version};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::Request;
use tokio::task::futures::TaskLocalFuture;
use tokio::time::Instant;
use tower::util::{Oneshot, ServiceExt};

use crate::context::{LocalAddr, Stopping};
use crate::errors::ApiError;
use crate::socket::{Peer, Stream};
use crate::watchdog::{Activity, BusyGuard};

/// hyper's service for one connection: each request goes to a clone of
/// `app`, wrapped as the module says.
pub(crate) struct ConnService<'a, A> {
    app: A,
    /// The connection's socket, for its local address when one is needed.
    stream: &'a Stream,
    activity: &'a Arc<Activity>,
    peer: Peer,
    access_log: bool,
    stopping: Stopping,
}

impl<'a, A> ConnService<'a, A> {
    /// The service of the connection on `stream` from `peer`.
    pub(crate) fn new(
        app: A,
        stream: &'a Stream,
        activity: &'a Arc<Activity>,
        peer: Peer,
        access_log: bool,
        stopping: Stopping,
    ) -> Self {
        Self {
            app,
            stream,
            activity,
            peer,
            access_log,
            stopping,
        }
    }
}

impl<A> hyper::service::Service<Request<Incoming>> for ConnService<'_, A>
where
    A: tower::Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer<Oneshot<A, Request<Incoming>>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let busy = self.activity.begin();
        let host_ok = has_one_host(&request);
        // Only a redirect without `Host` (or HTTP/2's `:authority`) needs
        // our address: no getsockname per connection.
        let h2_authority =
            request.version() == Version::HTTP_2 && request.uri().authority().is_some();
        if !request.headers().contains_key(header::HOST) && !h2_authority {
            if let Some(local) = self.stream.local_addr() {
                request.extensions_mut().insert(LocalAddr(local));
            }
        }
        tracing::debug!(
            "{} \"{} {} {:?}\" started",
            self.peer,
            request.method(),
            request.uri(),
            request.version()
        );
        // Only the access log needs the request line and a clock after the
        // application has taken the request: keep both off the hot path.
        let logged = self.access_log.then(|| {
            let line = format!(
                "{} {} {:?}",
                request.method(),
                request.uri(),
                request.version()
            );
            (line, Instant::now())
        });
        let call = host_ok.then(|| {
            self.stopping
                .clone()
                .scope(self.app.clone().oneshot(request))
        });
        Answer {
            call,
            busy: Some(busy),
            logged,
            peer: self.peer,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer to one request: the application's, or the connection's
    /// own (400 without one `Host`, 500 after a panic).
    pub(crate) struct Answer<F> {
        // `None`: the application never sees the request (a 400).
        #[pin]
        call: Option<TaskLocalFuture<Stopping, F>>,
        // Dropped when the answer is ready, or with the future when the
        // client goes away first: the connection is idle again.
        busy: Option<BusyGuard>,
        logged: Option<(String, Instant)>,
        peer: Peer,
    }
}

impl<F> Future for Answer<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.call.as_pin_mut() {
            None => own_response(ApiError::BadRequest),
            // A panic is caught here instead of unwinding through the
            // connection task; the future is never polled again.
            Some(call) => match std::panic::catch_unwind(AssertUnwindSafe(|| call.poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(Ok(response))) => response,
                Ok(Poll::Ready(Err(never))) => match never {},
                Err(panic) => {
                    tracing::error!(
                        "{}: request handler panicked: {}",
                        this.peer,
                        message(&*panic)
                    );
                    own_response(ApiError::Internal)
                }
            },
        };
        drop(this.busy.take());
        if let Some((line, started)) = this.logged.take() {
            tracing::info!(
                target: "speedup_server::access",
                "{} \"{line}\" {} {:.1}ms",
                this.peer,
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1e3,
            );
        }
        Poll::Ready(Ok(response))
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host`.
fn has_one_host<B>(request: &Request<B>) -> bool {
    request.version() != Version::HTTP_11
        || request.headers().get_all(header::HOST).iter().count() == 1
}

/// An answer the connection gives itself (the application never saw the
/// request, or panicked, or the server is shutting down): stamped like the
/// application's, and the connection's last.
pub(crate) fn own_response(error: ApiError) -> Response {
    let mut response = error.into_response();
    let headers = response.headers_mut();
    headers.insert(header::SERVER, HeaderValue::from_static("speedup"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The text of a panic payload, when it has one.
fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
