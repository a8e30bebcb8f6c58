//! Where requests go: a target parsed from a URL the way ab parses it,
//! and how its host is written in a URL or a Host header.

use crate::plan::PlanError;

/// Where to send requests, parsed from `http://host[:port]/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address; IPv6 addresses without the brackets.
    pub host: String,
    /// TCP port (80, or 443 for `https://`, when the URL gives none).
    pub port: u16,
    /// The path including any query; always starts with '/'.
    pub path: String,
    /// `https://`: speak TLS.
    pub tls: bool,
}

impl Target {
    /// Parses a URL the way ab does: an optional `http://` scheme, a host
    /// (IPv6 in brackets), an optional port, and a path that is required.
    pub fn parse(url: &str) -> Result<Target, PlanError> {
        let invalid = |reason: &str| PlanError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let (rest, tls) = match url.find("://") {
            Some(i) => {
                let scheme = &url[..i];
                let tls = scheme.eq_ignore_ascii_case("https");
                if !tls && !scheme.eq_ignore_ascii_case("http") {
                    return Err(invalid("only http:// and https:// urls are supported"));
                }
                (&url[i + 3..], tls)
            }
            None => (url, false),
        };
        let Some(slash) = rest.find('/') else {
            return Err(PlanError::NoPath {
                url: url.to_string(),
            });
        };
        let (authority, path) = rest.split_at(slash);
        if authority.contains('@') {
            return Err(invalid(
                "user info in the url is not supported (use a header)",
            ));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let Some(end) = bracketed.find(']') else {
                return Err(invalid("missing ']' after the IPv6 address"));
            };
            let host = &bracketed[..end];
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(invalid("not a valid IPv6 address in brackets"));
            }
            match &bracketed[end + 1..] {
                "" => (host, None),
                p => match p.strip_prefix(':') {
                    Some(p) => (host, Some(p)),
                    None => return Err(invalid("unexpected text after ']'")),
                },
            }
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host name"));
        }
        // It goes into the Host header as it is: a blank or a control
        // character (a CR LF) would end that header and start another.
        if host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(invalid(
                "the host name contains spaces or control characters",
            ));
        }
        let port = match port {
            None if tls => 443,
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(invalid("the port must be a number from 1 to 65535")),
            },
        };
        if path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(invalid(
                "the path contains spaces or control characters (percent-encode them)",
            ));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            path: path.to_string(),
            tls,
        })
    }

    /// The host as it appears in a URL: IPv6 addresses in brackets.
    pub fn url_host(&self) -> String {
        url_host(&self.host)
    }

    /// The value of a `Host` header: the host, plus `:port` unless it is the
    /// scheme's default, 80 or 443 (as ab writes it).
    pub fn host_header(&self) -> String {
        if self.port == self.default_port() {
            self.url_host()
        } else {
            format!("{}:{}", self.url_host(), self.port)
        }
    }

    /// The absolute-form URL (`http[s]://host:port/path`), sent as the request
    /// target through a proxy.
    /// The same target with another path (a request of [`Plan::mix`]).
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            path: path.to_string(),
            ..self.clone()
        }
    }

    /// The absolute URL, `scheme://host[:port]/path`.
    pub fn absolute_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host_header(), self.path)
    }

    /// The port a URL of this scheme implies: 443 for https, else 80.
    pub fn default_port(&self) -> u16 {
        if self.tls {
            443
        } else {
            80
        }
    }
}

/// `host` as it appears in a URL or before `:port`: IPv6 addresses in
/// brackets, anything else as it is.
pub fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16, path: &str) -> Target {
        Target {
            host: host.into(),
            port,
            path: path.into(),
            tls: false,
        }
    }

    #[test]
    fn parses_ab_style_urls() {
        assert_eq!(
            Target::parse("http://localhost:8000/async/sleep/0.1").unwrap(),
            target("localhost", 8000, "/async/sleep/0.1")
        );
        assert_eq!(
            Target::parse("http://example.com/").unwrap(),
            target("example.com", 80, "/")
        );
        assert_eq!(
            Target::parse("HTTP://h/a?b=c&d").unwrap(),
            target("h", 80, "/a?b=c&d")
        );
        assert_eq!(Target::parse("h:81/x").unwrap(), target("h", 81, "/x"));
        assert_eq!(
            Target::parse("http://[::1]:8000/").unwrap(),
            target("::1", 8000, "/")
        );
        assert_eq!(
            Target::parse("http://[::1]/").unwrap(),
            target("::1", 80, "/")
        );
    }

    #[test]
    fn rejects_bad_urls() {
        let https = Target::parse("https://h/").unwrap();
        assert_eq!(
            (https.port, https.tls, https.host_header()),
            (443, true, "h".into())
        );
        assert_eq!(
            Target::parse("https://h:8443/").unwrap().host_header(),
            "h:8443"
        );
        assert!(matches!(
            Target::parse("http://host"),
            Err(PlanError::NoPath { .. })
        ));
        for bad in [
            "ftp://h/",
            "http://:80/",
            "http://h:0/",
            "http://h:70000/",
            "http://h:x/",
            "http://[::1/",
            "http://[zz]/",
            "http://u@h/",
            "http://h/a b",
            "http://a\r\nX-Injected: 1/",
            "http://a b:80/",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(PlanError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_header_and_absolute_url() {
        assert_eq!(target("h", 80, "/").host_header(), "h");
        assert_eq!(target("h", 8080, "/p").host_header(), "h:8080");
        assert_eq!(target("::1", 8080, "/p").host_header(), "[::1]:8080");
        assert_eq!(
            target("::1", 8080, "/p?q").absolute_url(),
            "http://[::1]:8080/p?q"
        );
    }
}
