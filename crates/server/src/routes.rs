//! The application: FastAPI's routing rules around the two sleep endpoints.
//!
//! Routing is done by hand on the percent-decoded path rather than with
//! axum's matcher, because Starlette matches decoded paths (`1%2F2` is two
//! segments, so 404, not a 422 for input `1/2`) and applies its rules in a
//! fixed order we must mirror:
//!
//! 1. full match (path and method) → the endpoint;
//! 2. path matches, method does not → 405 with `allow: GET` (FastAPI's GET
//!    routes do not answer HEAD);
//! 3. the path minus one trailing `/` matches (any method) → 307 to it;
//! 4. otherwise 404.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::conn::Stopping;
use crate::errors::{json_response, ApiError};
use crate::sleep::{async_sleep, validate, BlockingPool, Sleep};
use crate::url::{latin1, percent_decode, quote_redirect};
use crate::Config;

/// The address the connection was accepted on, attached to each request by
/// the server; Starlette uses it for redirects when there is no `host`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

/// Shared, read-only state of the application.
#[derive(Debug)]
struct AppState {
    pool: BlockingPool,
    max_sleep: f64,
}

/// Which of the article's handlers a path names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    /// `/baseline/sleep/{n}`: blocking sleep on the bounded pool.
    Baseline,
    /// `/async/sleep/{n}`: timer sleep.
    Async,
}

/// Builds the application for `config` (thread-pool size and sleep bound).
///
/// The router owns its blocking pool, so build it once per server and clone
/// it per connection (cheap). It can be driven without sockets through
/// `tower::ServiceExt::oneshot`.
pub fn app(config: &Config) -> Router {
    let state = Arc::new(AppState {
        pool: BlockingPool::new(config.threads),
        max_sleep: config.max_sleep,
    });
    Router::new().fallback(dispatch).with_state(state)
}

/// The only handler: routes, runs, and stamps the `server` header.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // Only the head is needed, and only until the work is known: the head
    // (up to `max_header_bytes`) is dropped before any sleep, so a queued
    // or sleeping request holds a few bytes, not its headers.
    let (parts, _body) = request.into_parts();
    let mut response = match route(&state, &parts) {
        Ok(Routed::Sleep(endpoint, sleep)) => {
            let stopping = parts.extensions.get::<Stopping>().cloned();
            drop(parts);
            run(&state, endpoint, sleep, stopping)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        Ok(Routed::Done(response)) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("speedup"));
    response
}

/// What a request asks for, decided from its head alone.
enum Routed {
    /// One of the sleep endpoints, with its validated sleep.
    Sleep(Endpoint, Sleep),
    /// An answer that needs no work (a redirect).
    Done(Response),
}

fn route(state: &AppState, parts: &Parts) -> Result<Routed, ApiError> {
    let path = percent_decode(parts.uri.path());
    if let Some((endpoint, n)) = match_route(&path) {
        if parts.method != Method::GET {
            return Err(ApiError::MethodNotAllowed);
        }
        let sleep = validate(n, state.max_sleep)?;
        return Ok(Routed::Sleep(endpoint, sleep));
    }
    if path != "/" {
        if let Some(stripped) = path.strip_suffix('/') {
            if match_route(stripped).is_some() {
                return redirect(parts, stripped).map(Routed::Done);
            }
        }
    }
    Err(ApiError::NotFound)
}

/// Sleeps as the endpoint's model does, then answers.
async fn run(
    state: &AppState,
    endpoint: Endpoint,
    sleep: Sleep,
    stopping: Option<Stopping>,
) -> Result<Response, ApiError> {
    match endpoint {
        Endpoint::Baseline => state.pool.sleep(sleep.duration, stopping).await?,
        Endpoint::Async => async_sleep(sleep.duration).await?,
    }
    Ok(json_response(StatusCode::OK, sleep.body()))
}

/// Matches Starlette's `^/baseline/sleep/(?P<n>[^/]+)$` and its async twin.
fn match_route(path: &str) -> Option<(Endpoint, &str)> {
    const ROUTES: [(&str, Endpoint); 2] = [
        ("/baseline/sleep/", Endpoint::Baseline),
        ("/async/sleep/", Endpoint::Async),
    ];
    ROUTES.iter().find_map(|&(prefix, endpoint)| {
        let n = path.strip_prefix(prefix)?;
        (!n.is_empty() && !n.contains('/')).then_some((endpoint, n))
    })
}

/// Starlette's `redirect_slashes`: 307 to an absolute URL built from the
/// `host` header (or the local address), the decoded path and the raw query,
/// then quoted; empty body.
fn redirect(parts: &Parts, path: &str) -> Result<Response, ApiError> {
    let authority = match parts.headers.get(header::HOST) {
        Some(host) => Some(latin1(host.as_bytes())),
        None => parts
            .extensions
            .get::<LocalAddr>()
            .map(|LocalAddr(addr)| match addr.port() {
                80 => addr.ip().to_string(),
                port => format!("{}:{port}", addr.ip()),
            }),
    };
    let mut url = match authority {
        Some(authority) => format!("http://{authority}{path}"),
        None => path.to_owned(),
    };
    if let Some(query) = parts.uri.query().filter(|query| !query.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    let location = HeaderValue::from_str(&quote_redirect(&url)).map_err(|_| ApiError::Internal)?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::{match_route, Endpoint};

    #[test]
    fn matches_one_non_empty_segment() {
        assert_eq!(
            match_route("/baseline/sleep/0.1"),
            Some((Endpoint::Baseline, "0.1"))
        );
        assert_eq!(
            match_route("/async/sleep/ 1 "),
            Some((Endpoint::Async, " 1 "))
        );
        assert_eq!(match_route("/async/sleep/"), None);
        assert_eq!(match_route("/async/sleep/1/"), None);
        assert_eq!(match_route("/async/sleep/1/2"), None);
        assert_eq!(match_route("/async/sleeps/1"), None);
    }
}
