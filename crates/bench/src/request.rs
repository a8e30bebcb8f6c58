//! What bench sends: the headers of a request (defaults, `-H`, `-H @FILE`,
//! a target's own), bodies read from files within a bound, and the
//! requests of a `--targets` file turned into the engine's mix.

use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use speedup_load::{default_headers, RequestSpec, Target};
use speedup_stats::bounded::Lines;

use crate::errors::FlagError;
use crate::targets::TargetLine;

/// The largest `--body-file` (and a target's `@path` body): 1 GiB. The
/// body is held in memory once, shared by every connection, and its length
/// is sent up front.
pub const MAX_BODY: u64 = 1 << 30;

/// A `-H @FILE` may be this long, each line at most 64 KiB.
const MAX_HEADER_FILE: u64 = 1 << 20;

/// How the requests of a run are framed, from the flags.
#[derive(Debug, Clone)]
pub struct Framing {
    /// `-H`, `-H @FILE` expanded, in order.
    pub extra: Vec<(String, String)>,
    /// `--no-keepalive`.
    pub close: bool,
    /// `--http1.0`.
    pub http10: bool,
}

impl Framing {
    /// Host, User-Agent and Accept unless given, Connection as the
    /// keep-alive choice needs, Content-Length with a body, then `-H`, then
    /// `own` (a target's headers, which win over `-H` of the same name).
    pub fn headers(
        &self,
        target: &Target,
        own: &[(String, String)],
        body_len: Option<usize>,
    ) -> Vec<(String, String)> {
        let named = |list: &[(String, String)], name: &str| {
            list.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let given = |name: &str| named(&self.extra, name) || named(own, name);
        let mut out: Vec<(String, String)> = default_headers(target)
            .into_iter()
            .filter(|(name, _)| !given(name))
            .collect();
        if !given("Connection") {
            match (self.close, self.http10) {
                (true, false) => out.push(("Connection".into(), "close".into())),
                (false, true) => out.push(("Connection".into(), "keep-alive".into())),
                _ => {}
            }
        }
        if let Some(len) = body_len.filter(|_| !given("Content-Length")) {
            out.push(("Content-Length".into(), len.to_string()));
        }
        out.extend(self.extra.iter().filter(|(n, _)| !named(own, n)).cloned());
        out.extend(own.iter().cloned());
        out
    }
}

/// `-H` values as headers: `Name: value`, or `@FILE` for a file of them,
/// one per line (blank lines and `#` comments skipped).
pub fn header_flags(flags: &[String]) -> Result<Vec<(String, String)>, FlagError> {
    let mut out = Vec::with_capacity(flags.len());
    for flag in flags {
        let Some(path) = flag.strip_prefix('@') else {
            out.push(header(flag).ok_or_else(|| FlagError::Header(flag.clone()))?);
            continue;
        };
        let fail = |why: String| FlagError::HeaderFile {
            path: path.to_string(),
            why,
        };
        let file = std::fs::File::open(path)
            .map_err(|e| fail(format!("cannot read it ({e}): check the path")))?;
        let mut lines = Lines::new(BufReader::new(file), 64 * 1024, MAX_HEADER_FILE);
        while let Some((number, line)) = lines.next_line().map_err(|e| fail(e.to_string()))? {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(header(line).ok_or_else(|| {
                fail(format!(
                    "line {number}: {line:?} is not a header 'Name: value'"
                ))
            })?);
        }
    }
    Ok(out)
}

/// `Name: value`, trimmed.
fn header(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once(':')?;
    Some((name.trim().to_string(), value.trim().to_string()))
}

/// The `--targets` file `path` (`-`: stdin) as the engine's mix, and the
/// target every request goes to (the first's scheme, host and port).
pub fn targets_mix(
    path: &Path,
    framing: &Framing,
) -> Result<(Target, Vec<RequestSpec>), FlagError> {
    let shown = path.display().to_string();
    let lines = read_targets(path).map_err(|source| FlagError::Targets {
        path: shown.clone(),
        source,
    })?;
    let mut first: Option<Target> = None;
    let mut mix = Vec::with_capacity(lines.len());
    for t in lines {
        let fail = |why: String| FlagError::TargetUrl {
            path: shown.clone(),
            line: t.line,
            why,
        };
        let target = Target::parse(&with_path(&t.url)).map_err(|e| fail(e.to_string()))?;
        if let Some(f) = &first {
            if (f.tls, &f.host, f.port) != (target.tls, &target.host, target.port) {
                return Err(fail(format!(
                    "{} is not on {}: every target of a run goes to one scheme, host and port \
                     (run one bench per server)",
                    t.url,
                    f.with_path("").absolute_url()
                )));
            }
        }
        let body = match &t.body {
            Some((line, body)) => Some(read_body(body).map_err(|e| FlagError::TargetUrl {
                path: shown.clone(),
                line: *line,
                why: e.to_string(),
            })?),
            None => None,
        };
        mix.push(RequestSpec {
            method: t.method.clone(),
            path: target.path.clone(),
            headers: framing.headers(&target, &t.headers, body.as_ref().map(Vec::len)),
            body: body.map(Arc::from),
        });
        first.get_or_insert(target);
    }
    let first = first.ok_or(FlagError::Targets {
        path: shown,
        source: crate::targets::TargetsError::Empty,
    })?;
    Ok((first, mix))
}

/// Parses the targets file (or stdin).
fn read_targets(path: &Path) -> Result<Vec<TargetLine>, crate::targets::TargetsError> {
    if path == Path::new("-") {
        return crate::targets::parse_targets(std::io::stdin().lock());
    }
    let file = std::fs::File::open(path).map_err(speedup_stats::bounded::BoundError::from)?;
    crate::targets::parse_targets(BufReader::new(file))
}

/// Reads a regular file of at most [`MAX_BODY`] bytes: `/dev/zero` or a
/// pipe would be read without end.
pub fn read_body(path: &Path) -> Result<Vec<u8>, FlagError> {
    let name = || path.display().to_string();
    let fail = |source| FlagError::BodyFile {
        path: name(),
        source,
    };
    let file = std::fs::File::open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() {
        return Err(FlagError::BodyNotAFile(name()));
    }
    let too_large = |size| FlagError::BodyTooLarge { path: name(), size };
    if meta.len() > MAX_BODY {
        return Err(too_large(meta.len()));
    }
    let mut body = Vec::with_capacity(meta.len() as usize);
    // The file may grow while read: never past the limit.
    file.take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(fail)?;
    if body.len() as u64 > MAX_BODY {
        return Err(too_large(body.len() as u64));
    }
    Ok(body)
}

/// `url` with `/` for a path when it has none (`http://host:8080` means
/// the root, as wrk and curl read it); ab's rule, a path required, is ab's.
pub fn with_path(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => url.to_string(),
        Some(i) => format!("{}/{}", &url[..scheme_end + 3 + i], &rest[i..]),
        None => format!("{url}/"),
    }
}
