//! The request `speedup ab` sends, shaped as ab 2.3 shapes it: header
//! order, defaults that `-H` can override, cookies and basic auth.

use speedup_load::{default_headers, HttpVersion, Plan, PlanError, Target};

/// The plan of a plain `ab -n REQUESTS -c CONCURRENCY URL` (what the
/// article runs and the lab measures): `GET path HTTP/1.0` with Host,
/// User-Agent and Accept, a new connection per request, ab's 30 s timeout.
/// Not yet validated: callers adjust it (e.g. the thread count) first.
pub fn plain_plan(url: &str, requests: u64, concurrency: u32) -> Result<Plan, PlanError> {
    let target = Target::parse(url)?;
    let headers = default_headers(&target);
    let mut plan = Plan::new(target);
    plan.version = HttpVersion::Http10;
    plan.headers = headers;
    plan.requests = Some(requests);
    plan.concurrency = concurrency;
    // ab never verifies a server's certificate.
    plan.insecure = true;
    Ok(plan)
}

/// What the flags say about the request's headers.
pub struct HeaderFlags<'a> {
    /// `-k`.
    pub keep_alive: bool,
    /// `-C`, in order.
    pub cookies: &'a [String],
    /// `-A user:password`.
    pub auth: Option<&'a str>,
    /// `-P user:password`.
    pub proxy_auth: Option<&'a str>,
    /// Content length and type, with `-p`/`-u`.
    pub body: Option<(usize, &'a str)>,
    /// `-H`, in order, as `Name: value` lines.
    pub extra: &'a [String],
}

/// The headers in ab's order: Connection, Cookie, Authorization,
/// Proxy-Authorization, Content-length/-type, the `-H` lines, then Host,
/// User-Agent and Accept unless a `-H` line already set them.
pub fn headers(target: &Target, f: &HeaderFlags) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    if f.keep_alive {
        out.push(("Connection".into(), "Keep-Alive".into()));
    }
    if !f.cookies.is_empty() {
        // ab keeps only the last -C; we join them, which is what a user
        // repeating -C means and what the help text promises.
        out.push(("Cookie".into(), f.cookies.join("; ")));
    }
    if let Some(a) = f.auth {
        out.push(("Authorization".into(), basic(a)));
    }
    if let Some(a) = f.proxy_auth {
        out.push(("Proxy-Authorization".into(), basic(a)));
    }
    if let Some((len, ctype)) = f.body {
        out.push(("Content-length".into(), len.to_string()));
        out.push(("Content-type".into(), ctype.into()));
    }
    let first_extra = out.len();
    for line in f.extra {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "invalid -H {line:?}: a header line is 'Name: value', e.g. -H 'Accept-Encoding: gzip'"
            ));
        };
        out.push((name.trim().into(), value.trim().into()));
    }
    let defaults = default_headers(target)
        .into_iter()
        .filter(|(name, _)| {
            !out[first_extra..]
                .iter()
                .any(|(given, _)| given.eq_ignore_ascii_case(name))
        })
        .collect::<Vec<_>>();
    out.extend(defaults);
    Ok(out)
}

/// `Basic <base64(user:password)>`, with leading blanks dropped as ab does.
fn basic(credentials: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials.trim_start());
    format!("Basic {encoded}")
}

#[cfg(test)]
mod tests {
    use super::basic;

    #[test]
    fn basic_auth_is_standard_base64_with_padding_after_leading_blanks() {
        for (i, o) in [
            ("f", "Basic Zg=="),
            ("fo", "Basic Zm8="),
            ("foo", "Basic Zm9v"),
            ("  foob", "Basic Zm9vYg=="),
            ("u:p", "Basic dTpw"),
        ] {
            assert_eq!(basic(i), o);
        }
    }
}
