//! The application: FastAPI's routing rules around the endpoints (see
//! `handlers` for what each does), and the request counting for `/metrics`.
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

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::time::Instant;

use crate::context::LocalAddr;
use crate::errors::ApiError;
use crate::handlers::{self, validate_work, AppState, Endpoint, Work, METRICS_PATH, ROUTES};
use crate::url::{latin1, percent_decode, quote_redirect};
use crate::Config;

/// Builds the application for `config` (pool sizes, bounds, `--gil`).
///
/// The router owns its pools and metrics, so build it once per server and
/// clone it per connection (cheap). It can be driven without sockets through
/// `tower::ServiceExt::oneshot`.
pub fn app(config: &Config) -> Router {
    let state = Arc::new(AppState::new(config));
    Router::new().fallback(dispatch).with_state(state)
}

/// The only handler: routes, runs, counts, and stamps the `server` header.
async fn dispatch(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let _in_flight = state.metrics.start();
    // Only the head is needed, and only until the work is known: the head
    // (up to `max_header_bytes`) is dropped before any sleep, so a queued
    // or sleeping request holds a few bytes, not its headers.
    let (parts, _body) = request.into_parts();
    let (label, routed) = route(&state, &parts);
    let mut response = match routed {
        Ok(Routed::Work(work)) => {
            drop(parts);
            handlers::run(&state, work)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        Ok(Routed::Done(response)) => response,
        Err(error) => error.into_response(),
    };
    state
        .metrics
        .record(label, response.status().as_u16(), started.elapsed());
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("speedup"));
    response
}

/// What a request asks for, decided from its head alone.
enum Routed {
    /// An endpoint, with its validated input.
    Work(Work),
    /// An answer that needs no work (a redirect).
    Done(Response),
}

/// The metrics label of requests that match no endpoint (404s, redirects).
const OTHER: &str = "other";

/// Routes `parts`; the label names the endpoint for `/metrics`.
fn route(state: &AppState, parts: &Parts) -> (&'static str, Result<Routed, ApiError>) {
    let path = percent_decode(parts.uri.path());
    let mistakes = state.mistakes;
    if let Some((endpoint, label, n)) = match_route(&path, mistakes) {
        if parts.method != Method::GET {
            return (label, Err(ApiError::MethodNotAllowed));
        }
        return (
            label,
            validate_work(state, endpoint, n, parts).map(Routed::Work),
        );
    }
    if path != "/" {
        if let Some(stripped) = path.strip_suffix('/') {
            if match_route(stripped, mistakes).is_some() {
                return (OTHER, redirect(parts, stripped).map(Routed::Done));
            }
        }
    }
    (OTHER, Err(ApiError::NotFound))
}

/// Matches Starlette's `^/baseline/sleep/(?P<n>[^/]+)$` and the other
/// endpoints' patterns, and `/metrics` exactly; the mistakes only if
/// `mistakes` (left out, they are paths the app does not know).
fn match_route(path: &str, mistakes: bool) -> Option<(Endpoint, &'static str, &str)> {
    if path == METRICS_PATH {
        return Some((Endpoint::Metrics, METRICS_PATH, ""));
    }
    ROUTES.iter().find_map(|&(prefix, endpoint, label)| {
        let n = path.strip_prefix(prefix)?;
        let served = mistakes || !endpoint.is_mistake();
        (served && !n.is_empty() && !n.contains('/')).then_some((endpoint, label, n))
    })
}

/// Starlette's `redirect_slashes`: 307 to an absolute URL built from the
/// `host` header (HTTP/2: its `:authority`, which stands for it; else the
/// local address), the decoded path and the raw query, then quoted; empty
/// body.
fn redirect(parts: &Parts, path: &str) -> Result<Response, ApiError> {
    let authority = match (parts.headers.get(header::HOST), h2_authority(parts)) {
        (Some(host), _) => Some(latin1(host.as_bytes())),
        (None, Some(authority)) => Some(authority.to_owned()),
        (None, None) => {
            parts
                .extensions
                .get::<LocalAddr>()
                .map(|LocalAddr(addr)| match addr.port() {
                    80 => addr.ip().to_string(),
                    port => format!("{}:{port}", addr.ip()),
                })
        }
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

/// An HTTP/2 request's `:authority` (RFC 9113 §8.3.1: what `host` is to
/// HTTP/1.1).
fn h2_authority(parts: &Parts) -> Option<&str> {
    (parts.version == axum::http::Version::HTTP_2)
        .then(|| parts.uri.authority())
        .flatten()
        .map(|authority| authority.as_str())
}

#[cfg(test)]
mod tests {
    use super::{match_route, Endpoint};

    fn endpoint(path: &str) -> Option<(Endpoint, &str)> {
        match_route(path, true).map(|(endpoint, _, n)| (endpoint, n))
    }

    #[test]
    fn matches_one_non_empty_segment() {
        assert_eq!(
            endpoint("/baseline/sleep/0.1"),
            Some((Endpoint::BaselineSleep, "0.1"))
        );
        assert_eq!(
            endpoint("/async/sleep/ 1 "),
            Some((Endpoint::AsyncSleep, " 1 "))
        );
        assert_eq!(endpoint("/async/sleep/"), None);
        assert_eq!(endpoint("/async/sleep/1/"), None);
        assert_eq!(endpoint("/async/sleep/1/2"), None);
        assert_eq!(endpoint("/async/sleeps/1"), None);
    }

    #[test]
    fn matches_the_later_parts_and_metrics() {
        assert_eq!(endpoint("/pool/fibo/30"), Some((Endpoint::PoolFibo, "30")));
        assert_eq!(
            endpoint("/baseline/fibo_sleep/20"),
            Some((Endpoint::BaselineFiboSleep, "20"))
        );
        assert_eq!(endpoint("/metrics"), Some((Endpoint::Metrics, "")));
        assert_eq!(endpoint("/metrics/x"), None);
        assert_eq!(
            match_route("/async/fibo/1", true).map(|(_, label, _)| label),
            Some("/async/fibo/{n}")
        );
    }

    #[test]
    fn without_the_mistakes_their_paths_match_nothing() {
        for path in ["/stall/sleep/1", "/async/fibo/1", "/async/fibo_sleep/1"] {
            assert!(match_route(path, true).is_some(), "{path}");
            assert!(match_route(path, false).is_none(), "{path}");
        }
        for path in [
            "/async/sleep/1",
            "/baseline/fibo/1",
            "/pool/fibo/1",
            "/metrics",
        ] {
            assert!(match_route(path, false).is_some(), "{path}");
        }
    }
}
