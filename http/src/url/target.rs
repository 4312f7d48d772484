//! The target of a URL: scheme, host and port, checked.
//!
//! `http::Uri` accepts more than a client can act on: it parses
//! `http://host:99999/` and then reports *no* port for it (which every
//! caller turned into the scheme's default, 80), keeps `user:pass@`
//! silently, and takes an empty host. [`Target::parse`] is the one gate
//! every client-side entry point goes through (the [`Client`](crate::Client)
//! for each request and each redirect, `ws::connect`, the hyper-util
//! connector); it reads the authority's text itself and refuses what it
//! cannot honour with a [`UrlError`] that says why.

use std::fmt;
use std::net::Ipv6Addr;

use hyper::Uri;

/// A scheme a caller accepts: its name, its default port, and whether it
/// runs over TLS.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scheme {
    pub(crate) name: &'static str,
    pub(crate) default_port: u16,
    pub(crate) tls: bool,
}

/// `http` and `https`: what the [`Client`](crate::Client) speaks.
pub(crate) const HTTP: &[Scheme] =
    &[Scheme { name: "http", default_port: 80, tls: false }, Scheme { name: "https", default_port: 443, tls: true }];

/// `ws` and `wss`: what `ws::connect` speaks.
#[cfg(feature = "ws")]
pub(crate) const WS: &[Scheme] =
    &[Scheme { name: "ws", default_port: 80, tls: false }, Scheme { name: "wss", default_port: 443, tls: true }];

/// Plain `http` only: the hyper-util connector speaks no TLS.
#[cfg(feature = "hyper-util")]
pub(crate) const PLAIN_HTTP: &[Scheme] = &[Scheme { name: "http", default_port: 80, tls: false }];

/// Where a URL says to connect; also the key of the client's pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    /// Over TLS (`https`, `wss`).
    pub(crate) tls: bool,
    /// The host as the URL writes it, lower-cased: a name, an IPv4
    /// address, or an IPv6 address in brackets (`[::1]`), the form the
    /// `Host` header and TLS's server name take.
    pub(crate) host: String,
    /// The port: the URL's, or the scheme's default.
    pub(crate) port: u16,
    /// Whether `port` is the scheme's default (then `Host` omits it).
    pub(crate) default_port: bool,
}

impl Target {
    /// Checks `uri` as a target for one of `schemes`.
    ///
    /// # Errors
    /// A relative URL, another scheme, credentials (`user:pass@`), an
    /// empty or malformed host, a port that is not a number from 1 to
    /// 65535.
    pub(crate) fn parse(uri: &Uri, schemes: &[Scheme]) -> Result<Target, UrlError> {
        let fail = |kind| UrlError::new(uri, kind);
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(fail(UrlErrorKind::NotAbsolute));
        };
        let Some(scheme) = schemes.iter().find(|s| s.name.eq_ignore_ascii_case(scheme)) else {
            return Err(fail(UrlErrorKind::UnsupportedScheme(scheme.to_owned())));
        };
        let authority = authority.as_str();
        if authority.contains('@') {
            return Err(fail(UrlErrorKind::Userinfo));
        }
        let (host, port) = split_host_port(authority).map_err(fail)?;
        check_host(host).map_err(fail)?;
        let (port, default_port) = match port {
            // `host:` with nothing after the colon means the default (RFC 3986 §3.2.3).
            None | Some("") => (scheme.default_port, true),
            Some(digits) => {
                let port = parse_port(digits).map_err(fail)?;
                (port, port == scheme.default_port)
            }
        };
        Ok(Target { tls: scheme.tls, host: host.to_ascii_lowercase(), port, default_port })
    }

    /// The host without IPv6 brackets: what DNS and sockets take.
    pub(crate) fn bare_host(&self) -> &str {
        self.host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(&self.host)
    }

    /// `host` or `host:port` (when the port is not the default): the
    /// value of a `Host` header.
    pub(crate) fn host_header(&self) -> String {
        if self.default_port { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }
}

/// Splits an authority without userinfo into host and the port's text.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlErrorKind> {
    if authority.starts_with('[') {
        let Some(end) = authority.find(']') else {
            return Err(UrlErrorKind::BadHost(authority.to_owned()));
        };
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Ok((host, None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlErrorKind::BadHost(authority.to_owned())),
            },
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A host a client can connect to: an IPv6 literal in brackets, or a
/// name (or IPv4 address) of letters, digits, `-`, `.`, `_` and `~`.
fn check_host(host: &str) -> Result<(), UrlErrorKind> {
    if host.is_empty() {
        return Err(UrlErrorKind::EmptyHost);
    }
    let valid = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        // RFC 1035's 255 bytes bound a name's text; the characters are
        // those of RFC 3986's `unreserved` set, what DNS can carry.
        None => {
            host.len() <= 255
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        }
    };
    if valid { Ok(()) } else { Err(UrlErrorKind::BadHost(host.to_owned())) }
}

/// A port's digits as a number from 1 to 65535.
fn parse_port(digits: &str) -> Result<u16, UrlErrorKind> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlErrorKind::BadPort(digits.to_owned()));
    }
    // Leading zeros are allowed (`*DIGIT`), so the value, not the length,
    // decides; a value too long for u64 is out of range too.
    match digits.parse::<u64>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        _ => Err(UrlErrorKind::PortOutOfRange(digits.to_owned())),
    }
}

/// Why a URL cannot be used: the URL (with any credentials hidden) and
/// the reason.
///
/// Every client-side entry point checks its URL before connecting: the
/// [`Client`](crate::Client) (for the request and for each redirect,
/// [`Error::is_url`](crate::client::Error::is_url)), `ws::connect`
/// (tungstenite's `Error::Url`), the hyper-util connector (an
/// `InvalidInput` I/O error). A typo such as port `99999` fails here
/// instead of reaching another service.
///
/// ```
/// # sprout::run(async {
/// let err = sprout::http::Client::new().get("http://127.0.0.1:99999/").await.unwrap_err();
/// assert!(err.is_url());
/// let url = err.url_error().unwrap();
/// assert_eq!(url.kind(), &sprout::http::client::UrlErrorKind::PortOutOfRange("99999".into()));
/// assert_eq!(err.to_string(), "http://127.0.0.1:99999/: port 99999 is out of range (1 to 65535)");
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlError {
    url: String,
    kind: UrlErrorKind,
}

/// What is wrong with a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlErrorKind {
    /// Not a URL at all (the parser's reason).
    Malformed(String),
    /// A relative URL (`/path`) where an absolute one is needed.
    NotAbsolute,
    /// A scheme the caller does not speak (`ftp`, or `https` to a
    /// connector without TLS).
    UnsupportedScheme(String),
    /// Credentials in the URL (`user:pass@host`): send an
    /// `Authorization` header instead.
    Userinfo,
    /// No host (`http://:80/`).
    EmptyHost,
    /// A host with characters no name or address has (`a!b`, `[::x]`).
    BadHost(String),
    /// A port that is not a number (`host:8o`).
    BadPort(String),
    /// A port outside 1 to 65535 (`host:99999`, `host:0`).
    PortOutOfRange(String),
}

impl UrlError {
    pub(crate) fn new(url: &impl fmt::Display, kind: UrlErrorKind) -> UrlError {
        UrlError { url: redact(&url.to_string()), kind }
    }

    /// What is wrong.
    pub fn kind(&self) -> &UrlErrorKind {
        &self.kind
    }

    /// The URL, with any `user:password@` replaced by `***@`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Hides the userinfo of `url` so that a password never reaches a log.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.url)?;
        match &self.kind {
            UrlErrorKind::Malformed(reason) => write!(f, "not a valid URL ({reason})"),
            UrlErrorKind::NotAbsolute => f.write_str("not an absolute URL (scheme://host/...)"),
            UrlErrorKind::UnsupportedScheme(scheme) => write!(f, "unsupported scheme {scheme:?}"),
            UrlErrorKind::Userinfo => {
                f.write_str("credentials in the URL are not supported (send an Authorization header)")
            }
            UrlErrorKind::EmptyHost => f.write_str("no host"),
            UrlErrorKind::BadHost(host) => write!(f, "invalid host {host:?}"),
            UrlErrorKind::BadPort(port) => write!(f, "invalid port {port:?}"),
            UrlErrorKind::PortOutOfRange(port) => write!(f, "port {port} is out of range (1 to 65535)"),
        }
    }
}

impl std::error::Error for UrlError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<Target, UrlErrorKind> {
        let uri: Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| UrlErrorKind::Malformed(e.to_string()))?;
        Target::parse(&uri, HTTP).map_err(|e| e.kind)
    }

    fn ok(url: &str) -> (bool, String, u16) {
        let t = target(url).unwrap_or_else(|e| panic!("{url}: {e:?}"));
        (t.tls, t.host, t.port)
    }

    #[test]
    fn good_urls_name_their_target() {
        assert_eq!(ok("http://example.com/"), (false, "example.com".into(), 80));
        assert_eq!(ok("https://Example.COM"), (true, "example.com".into(), 443));
        assert_eq!(ok("HTTP://127.0.0.1:8080/x?y"), (false, "127.0.0.1".into(), 8080));
        assert_eq!(ok("http://[::1]:9000/"), (false, "[::1]".into(), 9000));
        assert_eq!(ok("https://[2001:db8::1]/"), (true, "[2001:db8::1]".into(), 443));
        assert_eq!(ok("http://host:/"), (false, "host".into(), 80), "an empty port is the default");
        assert_eq!(ok("http://host:0080/"), (false, "host".into(), 80), "leading zeros");
        assert_eq!(ok("http://host:65535/"), (false, "host".into(), 65535));
        assert_eq!(ok("http://under_score.local/"), (false, "under_score.local".into(), 80));
    }

    #[test]
    fn bad_urls_say_why() {
        use UrlErrorKind::*;
        assert_eq!(target("http://127.0.0.1:99999/"), Err(PortOutOfRange("99999".into())));
        assert_eq!(target("https://host:65536/"), Err(PortOutOfRange("65536".into())));
        assert_eq!(target("http://host:0/"), Err(PortOutOfRange("0".into())));
        assert_eq!(
            target("http://host:99999999999999999999999/"),
            Err(PortOutOfRange("99999999999999999999999".into()))
        );
        assert_eq!(target("http://host:8o/"), Err(BadPort("8o".into())));
        assert_eq!(target("http://[::1]:99999/"), Err(PortOutOfRange("99999".into())));
        assert_eq!(target("http://:80/"), Err(EmptyHost));
        assert_eq!(target("http://user:pw@host/"), Err(Userinfo));
        assert_eq!(target("http://a!b/"), Err(BadHost("a!b".into())));
        assert_eq!(target("http://[::x]/"), Err(BadHost("[::x]".into())));
        assert_eq!(target("http://[::1]x/"), Err(BadHost("[::1]x".into())));
        assert_eq!(target("ftp://host/"), Err(UnsupportedScheme("ftp".into())));
        assert_eq!(target("/relative"), Err(NotAbsolute));
    }

    #[test]
    fn errors_name_the_url_without_its_password() {
        let uri: Uri = "http://user:secret@host/".parse().unwrap();
        let err = Target::parse(&uri, HTTP).unwrap_err();
        assert_eq!(err.url(), "http://***@host/");
        assert!(!err.to_string().contains("secret"), "{err}");
        let uri: Uri = "https://h:70000/p".parse().unwrap();
        assert_eq!(
            Target::parse(&uri, HTTP).unwrap_err().to_string(),
            "https://h:70000/p: port 70000 is out of range (1 to 65535)"
        );
    }

    #[test]
    fn the_host_header_omits_the_default_port() {
        let t = Target::parse(&"http://[::1]:80/".parse().unwrap(), HTTP).unwrap();
        assert_eq!((t.host_header(), t.bare_host()), ("[::1]".to_owned(), "::1"));
        let t = Target::parse(&"https://h:8443/".parse().unwrap(), HTTP).unwrap();
        assert_eq!(t.host_header(), "h:8443");
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any text: never a panic, and what passes names a port in range.
            #[test]
            fn any_text_parses_or_fails_cleanly(s in "\\PC{0,40}", prefix in prop::sample::select(vec!["", "http://", "https://", "http://[", "http://h:"])) {
                let url = format!("{prefix}{s}");
                if let Ok(uri) = url.parse::<Uri>()
                    && let Ok(t) = Target::parse(&uri, HTTP)
                {
                    prop_assert!(t.port >= 1);
                    prop_assert!(!t.host.is_empty());
                }
            }

            /// Valid authorities come back as they were written.
            #[test]
            fn valid_authorities_round_trip(
                host in "[a-z0-9][a-z0-9.-]{0,20}|[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
                port in 1u16..,
                tls in any::<bool>(),
            ) {
                let scheme = if tls { "https" } else { "http" };
                let t = Target::parse(&format!("{scheme}://{host}:{port}/p").parse().unwrap(), HTTP).unwrap();
                prop_assert_eq!((t.tls, t.host.as_str(), t.port), (tls, host.as_str(), port));
                let v6 = std::net::Ipv6Addr::from(u128::from(port) << 64 | 1);
                let t = Target::parse(&format!("{scheme}://[{v6}]:{port}/").parse().unwrap(), HTTP).unwrap();
                prop_assert_eq!(t.bare_host().parse::<std::net::Ipv6Addr>().unwrap(), v6);
                prop_assert_eq!(t.port, port);
            }

            /// Every port above 65535 is refused, never wrapped or defaulted.
            #[test]
            fn ports_above_65535_are_refused(port in 65536u64.., host in "[a-z]{1,10}") {
                let uri: Uri = format!("http://{host}:{port}/").parse().unwrap();
                prop_assert_eq!(Target::parse(&uri, HTTP).unwrap_err().kind, UrlErrorKind::PortOutOfRange(port.to_string()));
            }
        }
    }
}
