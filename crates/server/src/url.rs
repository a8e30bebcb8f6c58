//! URL text the way uvicorn and Starlette handle it.
//!
//! uvicorn hands Starlette a *percent-decoded* path (`urllib.parse.unquote`,
//! invalid UTF-8 replaced by U+FFFD), and Starlette routes on that. Its
//! trailing-slash redirect re-encodes the URL with `urllib.parse.quote`. Both
//! are reproduced here so routing, the `input` echoed in 422 bodies and the
//! `location` of a 307 match FastAPI byte for byte.

use std::borrow::Cow;

/// Characters Starlette's `RedirectResponse` leaves unescaped, on top of
/// Python's always-safe `A-Z a-z 0-9 _ . - ~`.
const REDIRECT_SAFE: &[u8] = b":/%#?=@[]!$&'()*+,;";

/// Decodes `%XX` escapes like Python's `unquote`: malformed escapes stay as
/// written and bytes that are not valid UTF-8 become U+FFFD. A path without
/// `%` (nearly all) is returned as it is, without a copy.
pub(crate) fn percent_decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes.get(i), bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(b'%'), Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Escapes `text` like `urllib.parse.quote(text, safe=":/%#?=@[]!$&'()*+,;")`,
/// which Starlette applies to every redirect URL.
pub(crate) fn quote_redirect(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        let safe = byte.is_ascii_alphanumeric()
            || matches!(byte, b'_' | b'.' | b'-' | b'~')
            || REDIRECT_SAFE.contains(&byte);
        if safe {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Bytes of a header read as Latin-1, as ASGI servers decode the `host`
/// header before Starlette builds a URL from it.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::{latin1, percent_decode, quote_redirect};

    #[test]
    fn decodes_like_unquote() {
        assert_eq!(percent_decode("/a%20b"), "/a b");
        assert_eq!(percent_decode("%2F%2f"), "//");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
        assert_eq!(percent_decode("plain"), "plain");
    }

    #[test]
    fn quotes_like_starlette_redirects() {
        assert_eq!(
            quote_redirect("http://h:1/a b/é?x=1&y=%41"),
            "http://h:1/a%20b/%C3%A9?x=1&y=%41"
        );
        assert_eq!(quote_redirect("\"<>"), "%22%3C%3E");
    }

    #[test]
    fn latin1_maps_bytes_to_chars() {
        assert_eq!(latin1(b"h\xe9"), "hé");
    }
}
