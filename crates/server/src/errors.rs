//! Error responses with FastAPI's exact bytes.
//!
//! FastAPI answers routing failures with `{"detail": "..."}` and validation
//! failures with pydantic's error list. Clients of the article's server (and
//! our byte-for-byte tests) see these bodies, so they are built here, in one
//! place, from a small enum instead of ad hoc strings in the handlers.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::pyfloat;

/// Why a sleep value in the path was rejected (pydantic's error `type`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Invalid {
    /// Not a number at all (`abc`, `0x10`, empty).
    FloatParsing,
    /// `nan`, `inf` or `-inf`: FastAPI would 500 or hang; we refuse.
    FiniteNumber,
    /// Below the lower bound (always 0: a negative sleep).
    GreaterThanEqual(f64),
    /// Above `--max-sleep`.
    LessThanEqual(f64),
    /// Not an integer (`n: int`, the fibo endpoints).
    IntParsing,
    /// An integer of more than 4300 digits.
    IntParsingSize,
    /// An integer below its lower bound (0: a negative `n`).
    IntGreaterThanEqual(i64),
    /// An integer above its upper bound (`--max-fibo`).
    IntLessThanEqual(i64),
}

/// Everything a request can fail with, rendered as FastAPI renders it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// No route matches the path: 404 `{"detail":"Not Found"}`.
    NotFound,
    /// The path matches but the method is not GET: 405 with `allow: GET`.
    MethodNotAllowed,
    /// The `{n}` path parameter failed validation: 422 with pydantic's list.
    Invalid {
        /// What was wrong with it.
        problem: Invalid,
        /// The percent-decoded segment exactly as received (pydantic echoes
        /// the raw input, untrimmed).
        input: String,
    },
    /// An HTTP/1.1 request without exactly one `Host` header: uvicorn's
    /// plain-text 400, and the connection closes.
    BadRequest,
    /// The server is shutting down and the request had not started: 503
    /// with `retry-after`, and the connection closes.
    ShuttingDown,
    /// The blocking pool failed (a panicking or cancelled sleep): Starlette's
    /// plain-text 500.
    Internal,
}

impl Invalid {
    /// pydantic's `type`, `msg` and optional `ctx` for this failure.
    ///
    /// pydantic-core renders the bound in `msg` with Rust's `Display` (`60`)
    /// but serialises `ctx` through Python, so there the bound is a Python
    /// float (`60.0`, `1e+16`).
    fn parts(self) -> (&'static str, String, Option<String>) {
        match self {
            Invalid::FloatParsing => (
                "float_parsing",
                "Input should be a valid number, unable to parse string as a number".to_owned(),
                None,
            ),
            Invalid::FiniteNumber => (
                "finite_number",
                "Input should be a finite number".to_owned(),
                None,
            ),
            Invalid::GreaterThanEqual(bound) => (
                "greater_than_equal",
                format!("Input should be greater than or equal to {bound}"),
                Some(format!(r#"{{"ge":{}}}"#, pyfloat::format(bound))),
            ),
            Invalid::LessThanEqual(bound) => (
                "less_than_equal",
                format!("Input should be less than or equal to {bound}"),
                Some(format!(r#"{{"le":{}}}"#, pyfloat::format(bound))),
            ),
            Invalid::IntParsing => (
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer".to_owned(),
                None,
            ),
            Invalid::IntParsingSize => (
                "int_parsing_size",
                "Unable to parse input string as an integer, exceeded maximum size".to_owned(),
                None,
            ),
            Invalid::IntGreaterThanEqual(bound) => (
                "greater_than_equal",
                format!("Input should be greater than or equal to {bound}"),
                Some(format!(r#"{{"ge":{bound}}}"#)),
            ),
            Invalid::IntLessThanEqual(bound) => (
                "less_than_equal",
                format!("Input should be less than or equal to {bound}"),
                Some(format!(r#"{{"le":{bound}}}"#)),
            ),
        }
    }
}

/// A JSON string literal as Python's `json.dumps(..., ensure_ascii=False)`
/// writes it (serde_json escapes the same characters the same way).
fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The 422 body for one invalid path parameter `n`, byte-identical to
/// FastAPI's `{"detail":[{...}]}`.
pub(crate) fn validation_body(problem: Invalid, input: &str) -> String {
    let (kind, msg, ctx) = problem.parts();
    let ctx = ctx
        .map(|ctx| format!(r#","ctx":{ctx}"#))
        .unwrap_or_default();
    format!(
        r#"{{"detail":[{{"type":"{kind}","loc":["path","n"],"msg":{msg},"input":{input}{ctx}}}]}}"#,
        msg = json_string(&msg),
        input = json_string(input),
    )
}

/// A response with `content-type: application/json` and the given body,
/// the shape of every FastAPI `JSONResponse`.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The body of the 503 sent to requests refused during shutdown.
pub(crate) const SHUTTING_DOWN_BODY: &str = r#"{"detail":"Service Unavailable"}"#;

/// `retry-after` of the 503 sent to requests refused during shutdown: a
/// restarted server is usually back within a second.
const RETRY_AFTER_SECS: &str = "1";

/// A `text/plain; charset=utf-8` response, as Starlette's `PlainTextResponse`.
fn text_response(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => {
                json_response(StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#.into())
            }
            ApiError::MethodNotAllowed => {
                let mut response = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    r#"{"detail":"Method Not Allowed"}"#.into(),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET"));
                response
            }
            ApiError::Invalid { problem, input } => json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                validation_body(problem, &input),
            ),
            ApiError::BadRequest => {
                let mut response =
                    text_response(StatusCode::BAD_REQUEST, "Invalid HTTP request received.");
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
            ApiError::ShuttingDown => {
                let mut response =
                    json_response(StatusCode::SERVICE_UNAVAILABLE, SHUTTING_DOWN_BODY.into());
                let headers = response.headers_mut();
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
            ApiError::Internal => {
                text_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{validation_body, Invalid};

    #[test]
    fn float_parsing_body_is_fastapis_145_bytes() {
        let body = validation_body(Invalid::FloatParsing, "abc");
        assert_eq!(
            body,
            r#"{"detail":[{"type":"float_parsing","loc":["path","n"],"msg":"Input should be a valid number, unable to parse string as a number","input":"abc"}]}"#
        );
        assert_eq!(body.len(), 145);
    }

    #[test]
    fn bounds_show_display_in_msg_and_python_float_in_ctx() {
        assert_eq!(
            validation_body(Invalid::GreaterThanEqual(0.0), "-1"),
            r#"{"detail":[{"type":"greater_than_equal","loc":["path","n"],"msg":"Input should be greater than or equal to 0","input":"-1","ctx":{"ge":0.0}}]}"#
        );
        assert_eq!(
            validation_body(Invalid::LessThanEqual(2.5), "3"),
            r#"{"detail":[{"type":"less_than_equal","loc":["path","n"],"msg":"Input should be less than or equal to 2.5","input":"3","ctx":{"le":2.5}}]}"#
        );
    }

    #[test]
    fn int_bodies_are_fastapis() {
        // Captured from FastAPI 0.165 / pydantic 2.13 with `n: int = Path(ge=0, le=40)`.
        assert_eq!(
            validation_body(Invalid::IntParsing, "30.5"),
            r#"{"detail":[{"type":"int_parsing","loc":["path","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"30.5"}]}"#
        );
        assert_eq!(
            validation_body(Invalid::IntLessThanEqual(40), "41"),
            r#"{"detail":[{"type":"less_than_equal","loc":["path","n"],"msg":"Input should be less than or equal to 40","input":"41","ctx":{"le":40}}]}"#
        );
        assert_eq!(
            validation_body(Invalid::IntGreaterThanEqual(0), "-3"),
            r#"{"detail":[{"type":"greater_than_equal","loc":["path","n"],"msg":"Input should be greater than or equal to 0","input":"-3","ctx":{"ge":0}}]}"#
        );
        assert_eq!(
            validation_body(Invalid::IntParsingSize, "1"),
            r#"{"detail":[{"type":"int_parsing_size","loc":["path","n"],"msg":"Unable to parse input string as an integer, exceeded maximum size","input":"1"}]}"#
        );
    }

    #[test]
    fn input_is_json_escaped() {
        let body = validation_body(Invalid::FloatParsing, "a\"b\\c\né");
        assert!(body.contains(r#""input":"a\"b\\c\né""#), "{body}");
    }
}
