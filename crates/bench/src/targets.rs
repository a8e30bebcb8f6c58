//! `--targets FILE`: several requests in one run, in vegeta's HTTP format,
//! so a user's vegeta targets file works unchanged:
//!
//! ```text
//! # comments start with '#'
//! GET http://localhost:8000/async/sleep/0.1
//! X-Account-ID: 8675309
//!
//! POST http://localhost:8000/things
//! Content-Type: application/json
//! @body.json
//! ```
//!
//! A target is a `METHOD URL` line, then `Name: value` header lines, then
//! an optional `@path` body line (read from that file, relative to the
//! working directory as vegeta reads it); a blank line or the next
//! `METHOD URL` line ends it (a file of one `METHOD URL` per line works).
//! The whole file is checked before anything is sent: every error names its
//! line and what was expected there.

use std::io::BufRead;
use std::path::PathBuf;

use speedup_stats::bounded::{BoundError, Lines};

/// The most targets one run takes: each has its own histograms.
pub const MAX_TARGETS: usize = 1000;

/// A line of a targets file may be this long (a long URL or header).
const MAX_LINE: usize = 64 * 1024;

/// A targets file may be this long in all.
const MAX_FILE: u64 = 16 << 20;

/// One target as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetLine {
    /// The line of its `METHOD URL`, from 1.
    pub line: usize,
    /// The method.
    pub method: String,
    /// The URL as written.
    pub url: String,
    /// Its own headers, in order.
    pub headers: Vec<(String, String)>,
    /// The `@path` of its body, if any, with its line.
    pub body: Option<(usize, PathBuf)>,
}

/// Why a targets file cannot be used; `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// The file could not be read within its bounds.
    #[error("{0}")]
    Read(#[from] BoundError),
    /// A line is not what the format allows there.
    #[error("line {line}: {found:?}: expected {expected}")]
    Syntax {
        /// The line.
        line: usize,
        /// What it holds (cut to 80 characters).
        found: String,
        /// What may stand there.
        expected: &'static str,
    },
    /// No target at all.
    #[error("no target in it: give at least one 'METHOD URL' line")]
    Empty,
    /// Too many targets.
    #[error("more than {MAX_TARGETS} targets (each has its own histograms): split the run")]
    TooMany,
}

/// What a line may be, where it stands.
const REQUEST_LINE: &str = "a request line 'METHOD URL', e.g. 'GET http://host:8000/path'";
const AFTER_REQUEST: &str =
    "a header 'Name: value', a body '@path', or a blank line before the next target";
const AFTER_BODY: &str = "a blank line before the next target (the body '@path' comes last)";

/// Reads every target of `reader` (see the module's documentation).
pub fn parse_targets(reader: impl BufRead) -> Result<Vec<TargetLine>, TargetsError> {
    let mut lines = Lines::new(reader, MAX_LINE, MAX_FILE);
    let mut targets: Vec<TargetLine> = Vec::new();
    // Whether the current target is open, and whether it has its body.
    let (mut open, mut has_body) = (false, false);
    while let Some((number, text)) = lines.next_line()? {
        let line = text.trim_end_matches('\r');
        let syntax = |expected| TargetsError::Syntax {
            line: number,
            found: line.chars().take(80).collect(),
            expected,
        };
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        // A request line starts a target, after a blank line or not (a
        // file of one `METHOD URL` per line is a common vegeta file).
        if let Some((method, url)) = request_line(line) {
            if targets.len() == MAX_TARGETS {
                return Err(TargetsError::TooMany);
            }
            targets.push(TargetLine {
                line: number,
                method: method.to_string(),
                url: url.to_string(),
                headers: Vec::new(),
                body: None,
            });
            (open, has_body) = (true, false);
            continue;
        }
        if !open {
            return Err(syntax(REQUEST_LINE));
        }
        let Some(target) = targets.last_mut().filter(|_| !has_body) else {
            return Err(syntax(AFTER_BODY));
        };
        if let Some(path) = line.strip_prefix('@') {
            if path.trim().is_empty() {
                return Err(syntax(AFTER_REQUEST));
            }
            target.body = Some((number, PathBuf::from(path.trim())));
            has_body = true;
        } else if let Some((name, value)) = line.split_once(':').filter(|(n, _)| is_token(n)) {
            target
                .headers
                .push((name.to_string(), value.trim().to_string()));
        } else {
            return Err(syntax(AFTER_REQUEST));
        }
    }
    if targets.is_empty() {
        return Err(TargetsError::Empty);
    }
    Ok(targets)
}

/// `METHOD URL`: a token, spaces, an `http(s)://` URL, nothing after.
fn request_line(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    let (method, url) = (words.next()?, words.next()?);
    let scheme = url.split("://").next()?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (words.next().is_none() && is_token(method) && web && url.contains("://"))
        .then_some((method, url))
}

/// RFC 9110 token: what methods and header names may contain.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TargetLine>, TargetsError> {
        parse_targets(text.as_bytes())
    }

    #[test]
    fn every_form_of_vegetas_format() {
        let t = parse(
            "# a comment\n\
             GET http://h:8000/a?x=1\n\
             X-Account-ID: 8675309\n\
             Authorization: Token  DEAD\n\
             \n\
             \n\
             POST http://h:8000/things\r\n\
             Content-Type: application/json\r\n\
             @ body.json\r\n\
             \n\
             HEAD http://h:8000/\n\
             GET http://h:8000/next\n",
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[3].url, "http://h:8000/next");
        assert_eq!((t[0].line, t[0].method.as_str()), (2, "GET"));
        assert_eq!(t[0].url, "http://h:8000/a?x=1");
        assert_eq!(
            t[0].headers,
            [
                ("X-Account-ID".to_string(), "8675309".to_string()),
                ("Authorization".to_string(), "Token  DEAD".to_string())
            ]
        );
        assert_eq!(t[1].body, Some((9, PathBuf::from("body.json"))));
        assert_eq!(t[1].headers.len(), 1);
        assert_eq!((t[2].line, t[2].method.as_str()), (11, "HEAD"));
    }

    #[test]
    fn every_error_names_its_line_and_what_was_expected() {
        let error = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            error("GET\n"),
            format!("line 1: \"GET\": expected {REQUEST_LINE}")
        );
        assert!(error("\n\nGET ftp://h/\n").starts_with("line 3: "));
        assert!(error("GET http://h/ extra\n").starts_with("line 1: "));
        assert_eq!(
            error("GET http://h/\nnot a header\n"),
            format!("line 2: \"not a header\": expected {AFTER_REQUEST}")
        );
        assert_eq!(
            error("POST http://h/\n@b.json\nX-After: 1\n"),
            format!("line 3: \"X-After: 1\": expected {AFTER_BODY}")
        );
        assert_eq!(
            error("GET http://h/\n\nX-Orphan: 1\n"),
            format!("line 3: \"X-Orphan: 1\": expected {REQUEST_LINE}")
        );
        assert!(error("GET http://h/\n@\n").starts_with("line 2: "));
        assert_eq!(
            error("# only comments\n\n"),
            "no target in it: give at least one 'METHOD URL' line"
        );
        let many = "GET http://h/\n\n".repeat(MAX_TARGETS + 1);
        assert!(error(&many).starts_with("more than 1000 targets"));
        assert!(error(&format!("GET http://h/{}\n", "x".repeat(MAX_LINE))).contains("longer"));
    }
}
