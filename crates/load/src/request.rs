//! The request bytes, built once per plan and written as-is for every
//! request, so the hot path never formats or allocates.

use crate::plan::{Plan, Target};

/// The `User-Agent` speedup sends unless a front end is told otherwise.
pub const USER_AGENT: &str = concat!("speedup/", env!("CARGO_PKG_VERSION"));

/// The headers every plain client request carries, in the order ab sends
/// them: `Host` (with `:port` unless 80), `User-Agent`, `Accept: */*`.
/// Front ends add their own before them or drop the ones a user overrides.
pub fn default_headers(target: &Target) -> Vec<(String, String)> {
    vec![
        ("Host".into(), target.host_header()),
        ("User-Agent".into(), USER_AGENT.into()),
        ("Accept".into(), "*/*".into()),
    ]
}

/// One of several requests a run sends in turn ([`Plan::mix`]): what
/// differs from one to the next. The scheme, host, port, HTTP version and
/// proxy are the plan's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Request method.
    pub method: String,
    /// The path including any query; starts with '/'.
    pub path: String,
    /// Every header, in order (the front end includes Host and the rest).
    pub headers: Vec<(String, String)>,
    /// Body sent after the headers; the front end adds Content-Length.
    pub body: Option<std::sync::Arc<[u8]>>,
}

/// The exact bytes the engine sends for each request of `plan`:
/// `{METHOD} {path, or absolute URL through a proxy} HTTP/1.x\r\n`, each
/// header as `Name: value\r\n`, a blank line, then the body.
///
/// Front ends may print it (ab's `-v 2` shows the request).
pub fn build_request(plan: &Plan) -> Vec<u8> {
    let spec = RequestSpec {
        method: plan.method.clone(),
        path: plan.target.path.clone(),
        headers: plan.headers.clone(),
        body: plan.body.clone(),
    };
    build_request_for(plan, &spec)
}

/// The bytes of `spec` sent with `plan`'s version, to its target or proxy
/// (see [`build_request`]).
pub fn build_request_for(plan: &Plan, spec: &RequestSpec) -> Vec<u8> {
    let target = match plan.proxy {
        Some(_) => plan.target.with_path(&spec.path).absolute_url(),
        None => spec.path.clone(),
    };
    let body = spec.body.as_deref().unwrap_or(&[]);
    let mut out = Vec::with_capacity(128 + target.len() + body.len());
    out.extend_from_slice(spec.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(plan.version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &spec.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{HttpVersion, Proxy, Target};
    use std::sync::Arc;

    fn plan() -> Plan {
        Plan::new(Target::parse("http://example.com:8080/a?b=1").unwrap())
    }

    #[test]
    fn get_with_headers_in_order() {
        let mut p = plan();
        p.version = HttpVersion::Http10;
        p.headers = vec![
            ("Host".into(), "example.com:8080".into()),
            ("Accept".into(), "*/*".into()),
        ];
        assert_eq!(
            String::from_utf8(build_request(&p)).unwrap(),
            "GET /a?b=1 HTTP/1.0\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn post_body_follows_blank_line() {
        let mut p = plan();
        p.method = "POST".into();
        p.headers = vec![("Content-Length".into(), "3".into())];
        p.body = Some(Arc::from(&b"x=1"[..]));
        assert_eq!(
            build_request(&p),
            b"POST /a?b=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1"
        );
    }

    #[test]
    fn proxy_uses_absolute_form() {
        let mut p = plan();
        p.proxy = Some(Proxy {
            host: "proxy".into(),
            port: 3128,
        });
        assert_eq!(
            build_request(&p),
            b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\n\r\n"
        );
    }
}
