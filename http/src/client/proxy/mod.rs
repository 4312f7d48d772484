//! Proxies: which requests go through one, and how it is reached.
//!
//! - [`Proxy`]: one proxy and the requests it serves (`all`, `http`,
//!   `https`), with its `no_proxy` list.
//! - [`Proxies`]: a client's proxies, set by hand or read once from the
//!   environment when the client is built ([`Proxies::from_env`]).
//! - [`tunnel`]: the `CONNECT` that opens a tunnel to an `https://`
//!   origin.
//!
//! A plain `http://` request goes to the proxy in absolute form
//! (`GET http://host/path HTTP/1.1`) with a `Proxy-Authorization` header
//! when the proxy URL carries credentials; an `https://` request opens a
//! tunnel with `CONNECT host:443` (the credentials go on the `CONNECT`
//! only) and then speaks TLS to the origin through it, so the proxy sees
//! neither the request nor the answer. Connections through a proxy are
//! pooled by origin, as direct ones are: which proxy (if any) a request
//! takes depends only on its origin and the client's settings, so an
//! origin's pooled connections all took the same way.

pub(crate) mod no_proxy;
pub(crate) mod tunnel;

use std::fmt;
use std::rc::Rc;

use hyper::Uri;
use hyper::header::HeaderValue;

use self::no_proxy::NoProxy;
use super::Error;
use super::auth::basic_auth;
use crate::url::target::{self, Target, UrlError, UrlErrorKind};

/// A proxy for a [`Client`](super::Client), and which requests it serves.
///
/// The URL is `http://host:port` (or `https://` to speak TLS to the
/// proxy itself, with the `tls` feature); a URL without a scheme
/// (`proxy:3128`, as environment variables often hold) is taken as
/// `http://`. Credentials in it (`http://user:pass@host:3128`, written
/// percent-encoded if they hold `@` or `:`) become a `Proxy-Authorization:
/// Basic` header sent to the proxy, never to the origin; errors and
/// `Debug` never show them.
///
/// # From the environment
/// A client built without [`Builder::proxy`](super::Builder::proxy) or
/// [`Builder::no_proxy`](super::Builder::no_proxy) reads, once, when it is
/// built (lower-case names first, as curl and `requests` do):
///
/// | variable | used for |
/// | --- | --- |
/// | `http_proxy`, `HTTP_PROXY` | `http://` requests (`HTTP_PROXY` is ignored when `REQUEST_METHOD` is set: in a CGI program a request's `Proxy:` header arrives under that name, the "httpoxy" hole) |
/// | `https_proxy`, `HTTPS_PROXY` | `https://` requests |
/// | `all_proxy`, `ALL_PROXY` | both, when the variable above is not set |
/// | `no_proxy`, `NO_PROXY` | hosts reached directly: see [`no_proxy`](Self::no_proxy) |
///
/// Loopback hosts (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`) never
/// go through a proxy from the environment, as in Go's
/// `ProxyFromEnvironment`: a machine-wide `HTTP_PROXY` must not carry a
/// request for this machine elsewhere. A proxy set with
/// [`Builder::proxy`](super::Builder::proxy) applies to them too.
///
/// A variable whose value is not a proxy URL this client can use (a
/// `socks5://` proxy, say) makes the requests it would serve fail with
/// an error that names it ([`Error::is_proxy`]), rather than quietly
/// going direct.
#[derive(Clone)]
pub struct Proxy {
    scope: Scope,
    /// `Err`: a proxy from the environment that cannot be used; what to say.
    endpoint: Result<Rc<Endpoint>, Rc<str>>,
    no_proxy: Rc<NoProxy>,
}

/// Which requests a proxy serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    All,
    Http,
    Https,
}

/// Where a proxy is and what to tell it.
pub(crate) struct Endpoint {
    /// The proxy's own scheme (`tls`: speak TLS to it), host and port.
    pub(crate) target: Target,
    /// `Proxy-Authorization`, from the URL's userinfo.
    pub(crate) auth: Option<HeaderValue>,
}

impl Proxy {
    /// A proxy for every request, `http://` and `https://`.
    ///
    /// # Errors
    /// `url` is not an `http://` or `https://` URL with a host
    /// ([`Error::is_url`]).
    pub fn all(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::All, url)
    }

    /// A proxy for `http://` requests only.
    ///
    /// # Errors
    /// As [`all`](Self::all).
    pub fn http(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::Http, url)
    }

    /// A proxy for `https://` requests only (through `CONNECT` tunnels).
    ///
    /// # Errors
    /// As [`all`](Self::all).
    pub fn https(url: &str) -> Result<Proxy, Error> {
        Proxy::new(Scope::Https, url)
    }

    /// Hosts to reach directly, in the `NO_PROXY` syntax curl and
    /// `requests` use: a comma-separated list of
    ///
    /// - `*`: every host (the proxy is never used);
    /// - a domain (`example.com`, `.example.com` or `*.example.com`): it and
    ///   every subdomain, on any port (`example.com:8080` is taken as
    ///   `example.com`);
    /// - an IP address (`10.1.2.3`, `::1`, `[::1]`) or a network
    ///   (`10.0.0.0/8`, `fd00::/8`): hosts written as such addresses.
    ///
    /// Names are compared as written in the URL: `localhost` does not
    /// match `127.0.0.1`. Anything else in the list is ignored.
    pub fn no_proxy(mut self, list: &str) -> Proxy {
        self.no_proxy = Rc::new(NoProxy::parse(list));
        self
    }

    fn new(scope: Scope, url: &str) -> Result<Proxy, Error> {
        let endpoint = Endpoint::parse(url).map_err(Error::url)?;
        Ok(Proxy { scope, endpoint: Ok(Rc::new(endpoint)), no_proxy: Rc::default() })
    }

    /// A proxy from the variable `name`, kept even if it cannot be used
    /// (its requests then fail saying so).
    fn from_var(scope: Scope, name: &str, value: &str, no_proxy: &Rc<NoProxy>) -> Proxy {
        let endpoint = Endpoint::parse(value).map(Rc::new).map_err(|e| format!("{name}: {e}").into());
        Proxy { scope, endpoint, no_proxy: no_proxy.clone() }
    }

    /// Whether this proxy serves a request to `origin`.
    fn serves(&self, origin: &Target) -> bool {
        let scheme = match self.scope {
            Scope::All => true,
            Scope::Http => !origin.tls,
            Scope::Https => origin.tls,
        };
        scheme && !self.no_proxy.matches(origin.bare_host())
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Proxy");
        d.field("scope", &self.scope);
        match &self.endpoint {
            Ok(endpoint) => d.field("endpoint", endpoint),
            Err(reason) => d.field("unusable", reason),
        };
        d.field("no_proxy", &self.no_proxy).finish()
    }
}

impl Endpoint {
    /// Parses a proxy URL: `[http[s]://][user[:password]@]host[:port][/]`.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, UrlError> {
        let url = url.trim();
        let with_scheme = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
        let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("http", url));
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        // The one place a URL may carry credentials: split them off before
        // the common parser (which refuses them) sees the rest.
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let bare = format!("{scheme}://{host_port}{path}");
        let uri: Uri =
            bare.parse().map_err(|e| UrlError::new(&with_scheme, UrlErrorKind::Malformed(format!("{e}"))))?;
        let target = Target::parse(&uri, target::HTTP).map_err(|e| UrlError::new(&with_scheme, e.kind().clone()))?;
        let auth = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s| percent_decode(s).ok_or_else(|| UrlError::new(&with_scheme, UrlErrorKind::Userinfo));
                Some(basic_auth(&decode(user)?, Some(&decode(password)?)))
            }
        };
        Ok(Endpoint { target, auth })
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.target.tls { "https" } else { "http" };
        let auth = if self.auth.is_some() { "***@" } else { "" };
        write!(f, "{scheme}://{auth}{}:{}", self.target.host, self.target.port)
    }
}

/// `%XX` sequences decoded; `None` if one is malformed or the result is
/// not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A client's proxies, in the order they are tried.
#[derive(Debug, Default)]
pub(crate) struct Proxies {
    list: Vec<Proxy>,
}

impl Proxies {
    /// The proxies set by hand (empty: connect directly).
    pub(crate) fn new(list: Vec<Proxy>) -> Proxies {
        Proxies { list }
    }

    /// The proxies the environment names, through `get` (which returns a
    /// variable's value): `std::env::var` for a client, a map in tests.
    pub(crate) fn from_env(get: impl Fn(&str) -> Option<String>) -> Proxies {
        let var = |names: &[&'static str]| -> Option<(&'static str, String)> {
            names.iter().find_map(|&name| get(name).filter(|v| !v.trim().is_empty()).map(|v| (name, v)))
        };
        // httpoxy: under CGI, HTTP_PROXY is the request's `Proxy:` header.
        let cgi = get("REQUEST_METHOD").is_some();
        let http_names: &[&'static str] = if cgi { &["http_proxy"] } else { &["http_proxy", "HTTP_PROXY"] };
        let list = var(&["no_proxy", "NO_PROXY"]).map_or(String::new(), |(_, v)| v);
        let no_proxy = Rc::new(NoProxy::parse_env(&list));
        let all = var(&["all_proxy", "ALL_PROXY"]);
        let mut list = Vec::new();
        for (scope, names) in [(Scope::Http, http_names), (Scope::Https, &["https_proxy", "HTTPS_PROXY"][..])] {
            if let Some((name, value)) = var(names).or_else(|| all.clone()) {
                list.push(Proxy::from_var(scope, name, &value, &no_proxy));
            }
        }
        Proxies { list }
    }

    /// The proxy a request to `origin` goes through (`None`: directly).
    ///
    /// # Errors
    /// The proxy that serves it came from a variable that cannot be used.
    pub(crate) fn route(&self, origin: &Target) -> Result<Option<&Endpoint>, Error> {
        match self.list.iter().find(|p| p.serves(origin)) {
            None => Ok(None),
            Some(Proxy { endpoint: Ok(endpoint), .. }) => Ok(Some(endpoint)),
            Some(Proxy { endpoint: Err(reason), .. }) => Err(Error::proxy(format!("unusable proxy {reason}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn origin(url: &str) -> Target {
        Target::parse(&url.parse().unwrap(), target::HTTP).unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> Proxies {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Proxies::from_env(|name| vars.get(name).cloned())
    }

    /// Where a request to `url` goes: `"direct"`, the proxy, or the error.
    fn route(proxies: &Proxies, url: &str) -> String {
        match proxies.route(&origin(url)) {
            Ok(None) => "direct".into(),
            Ok(Some(endpoint)) => format!("{endpoint:?}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn urls_with_and_without_scheme_and_credentials() {
        let e = Endpoint::parse("proxy.local:3128").unwrap();
        assert_eq!(
            (e.target.tls, e.target.host.as_str(), e.target.port, e.auth.is_none()),
            (false, "proxy.local", 3128, true)
        );
        let e = Endpoint::parse("http://proxy/").unwrap();
        assert_eq!(e.target.port, 80);
        let e = Endpoint::parse("https://[::1]:8443").unwrap();
        assert_eq!((e.target.tls, e.target.bare_host(), e.target.port), (true, "::1", 8443));
        // user:pass, percent-encoded `@` and `:` in the password.
        let e = Endpoint::parse("http://al%40ice:p%3Ass@proxy:3128").unwrap();
        assert_eq!(e.auth.unwrap(), "Basic YWxAaWNlOnA6c3M="); // base64("al@ice:p:ss")
        let e = Endpoint::parse("http://bob@proxy:3128").unwrap();
        assert_eq!(e.auth.unwrap(), "Basic Ym9iOg=="); // base64("bob:")
        assert_eq!(format!("{:?}", Endpoint::parse("http://u:secret@p:1").unwrap()), "http://***@p:1");
    }

    #[test]
    fn bad_proxy_urls_say_why_without_the_password() {
        let err = Endpoint::parse("socks5://u:secret@p:1080").unwrap_err();
        assert_eq!(err.kind(), &UrlErrorKind::UnsupportedScheme("socks5".into()));
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(
            Endpoint::parse("http://p:99999").unwrap_err().kind(),
            &UrlErrorKind::PortOutOfRange("99999".into())
        );
        assert_eq!(Endpoint::parse("http://u:%zz@p").unwrap_err().kind(), &UrlErrorKind::Userinfo);
        assert!(Proxy::all("http://:3128").unwrap_err().is_url());
    }

    #[test]
    fn the_environment_picks_a_proxy_per_scheme() {
        let proxies = env(&[("HTTP_PROXY", "http://h:1"), ("https_proxy", "s:2"), ("HTTPS_PROXY", "ignored:3")]);
        assert_eq!(route(&proxies, "http://example.com/"), "http://h:1");
        assert_eq!(route(&proxies, "https://example.com/"), "http://s:2", "lower case first");
        let proxies = env(&[("ALL_PROXY", "http://a:1"), ("http_proxy", "http://h:2")]);
        assert_eq!(route(&proxies, "http://x/"), "http://h:2");
        assert_eq!(route(&proxies, "https://x/"), "http://a:1");
        assert_eq!(route(&env(&[]), "http://x/"), "direct");
        assert_eq!(route(&env(&[("HTTP_PROXY", "  ")]), "http://x/"), "direct", "blank is unset");
    }

    #[test]
    fn httpoxy_cgi_ignores_upper_case_http_proxy() {
        let proxies = env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://attacker:1")]);
        assert_eq!(route(&proxies, "http://x/"), "direct");
        let proxies = env(&[("REQUEST_METHOD", "GET"), ("http_proxy", "http://ok:1")]);
        assert_eq!(route(&proxies, "http://x/"), "http://ok:1");
    }

    #[test]
    fn no_proxy_applies_to_environment_proxies() {
        let proxies = env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "internal.example, 10.0.0.0/8")]);
        assert_eq!(route(&proxies, "https://internal.example/"), "direct");
        assert_eq!(route(&proxies, "https://api.internal.example/"), "direct");
        assert_eq!(route(&proxies, "https://10.1.2.3/"), "direct");
        assert_eq!(route(&proxies, "https://notinternal.example/"), "http://p:1");
        assert_eq!(route(&proxies, "https://11.1.2.3/"), "http://p:1");
    }

    #[test]
    fn an_unusable_variable_fails_its_requests_instead_of_going_direct() {
        let proxies = env(&[("HTTPS_PROXY", "socks5://u:secret@p:1080")]);
        let msg = route(&proxies, "https://x/");
        assert!(msg.starts_with("error: unusable proxy HTTPS_PROXY: "), "{msg}");
        assert!(msg.contains("socks5") && !msg.contains("secret"), "{msg}");
        assert_eq!(route(&proxies, "http://x/"), "direct", "http is not its scope");
    }

    #[test]
    fn explicit_proxies_by_scope_in_order() {
        let proxies = Proxies::new(vec![
            Proxy::https("http://s:1").unwrap(),
            Proxy::all("http://a:2").unwrap().no_proxy("localhost"),
        ]);
        assert_eq!(route(&proxies, "https://x/"), "http://s:1");
        assert_eq!(route(&proxies, "http://x/"), "http://a:2");
        assert_eq!(route(&proxies, "http://localhost:8080/"), "direct");
        assert_eq!(route(&Proxies::new(vec![]), "http://x/"), "direct");
    }
}
