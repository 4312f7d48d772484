//! The client's cookie store ([`Builder::cookie_store`](super::Builder::cookie_store)):
//! RFC 6265's storage and retrieval models, for a client that runs no
//! scripts.
//!
//! - **Storing** (§5.3): a cookie without `Domain` is *host-only*: sent
//!   back to exactly the host that set it. With `Domain=example.com` it
//!   goes to that domain and its subdomains, and only a host inside the
//!   domain may set it (`a.example.com` may set `example.com`; `evil.com`
//!   may not, nor may anyone set a bare `com`). Without `Path`, the path
//!   is the request's directory. A `Secure` cookie is only accepted over
//!   `https` (RFC 6265bis). A cookie with the same name, domain and path
//!   replaces the old one; one that has already expired (`Max-Age=0`, an
//!   `Expires` in the past) deletes it.
//! - **Sending** (§5.4): a request carries the cookies whose domain
//!   matches its host, whose path is a prefix of its path (at a `/`),
//!   that have not expired, and, for `Secure` ones, only over `https`;
//!   longer paths first, then older cookies first.
//! - **Left out**: the public suffix list (only single-label domains such
//!   as `com` are refused, as in reqwest's default store, so `co.uk` can
//!   be set by `a.co.uk`), `SameSite` (a client has no "site" that
//!   navigates), the `__Secure-`/`__Host-` prefixes, persistence.
//! - **Bounds**: a cookie over 4096 bytes is ignored; a domain keeps at
//!   most 50 cookies and the store 3000 (RFC 6265 §6.1's minimums),
//!   dropping the oldest.
//!
//! Cookies expire by the wall clock (`SystemTime`): an `Expires` date is
//! absolute.

mod date;
mod parse;

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::time::SystemTime;

use hyper::header::{HeaderMap, HeaderValue, SET_COOKIE};

/// RFC 6265 §6.1: at least 4096 bytes per cookie, 50 per domain, 3000 in all.
const MAX_COOKIE_BYTES: usize = 4096;
const MAX_PER_DOMAIN: usize = 50;
const MAX_COOKIES: usize = 3000;

/// What the store needs of a request's URL.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site<'a> {
    /// Lower case, without IPv6 brackets.
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) https: bool,
}

#[derive(Debug)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
    /// Creation order, for the sending order and eviction.
    created: u64,
}

/// Cookies by arrival; a `RefCell` because the client is single-threaded
/// and each borrow ends before any `.await`.
#[derive(Debug, Default)]
pub(crate) struct CookieStore {
    cookies: RefCell<Vec<Cookie>>,
    next: Cell<u64>,
}

impl CookieStore {
    /// Stores the `Set-Cookie` headers of a response from `site`.
    pub(crate) fn store(&self, site: Site<'_>, headers: &HeaderMap) {
        let now = SystemTime::now();
        for header in headers.get_all(SET_COOKIE) {
            if let Ok(text) = header.to_str() {
                self.store_one(site, text, now);
            }
        }
    }

    /// The `Cookie` header for a request to `site`, if any cookie matches.
    pub(crate) fn header(&self, site: Site<'_>) -> Option<HeaderValue> {
        self.header_at(site, SystemTime::now())
    }

    fn store_one(&self, site: Site<'_>, text: &str, now: SystemTime) {
        let Some(set) = parse::parse(text, now) else { return };
        if set.name.len() + set.value.len() > MAX_COOKIE_BYTES || (set.secure && !site.https) {
            return;
        }
        let (domain, host_only) = match set.domain {
            // A domain must hold the host that sets it, and be more than
            // a top-level label (`com`), unless it is the host itself.
            Some(domain) if domain == site.host => (domain, false),
            Some(domain) if domain.contains('.') && domain_matches(site.host, &domain) => (domain, false),
            Some(_) => return,
            None => (site.host.to_owned(), true),
        };
        let path = set.path.map_or_else(|| default_path(site.path), str::to_owned);
        let mut cookies = self.cookies.borrow_mut();
        let old = cookies.iter().position(|c| c.name == set.name && c.domain == domain && c.path == path);
        let created = match old {
            Some(i) => cookies.remove(i).created, // §5.3 step 11.3: keep the creation time
            None => self.next.replace(self.next.get() + 1),
        };
        if set.expires.is_some_and(|at| at <= now) {
            return; // deleted, or born dead
        }
        cookies.push(Cookie {
            name: set.name.to_owned(),
            value: set.value.to_owned(),
            domain,
            host_only,
            path,
            secure: set.secure,
            expires: set.expires,
            created,
        });
        evict(&mut cookies, now);
    }

    fn header_at(&self, site: Site<'_>, now: SystemTime) -> Option<HeaderValue> {
        let mut cookies = self.cookies.borrow_mut();
        cookies.retain(|c| c.expires.is_none_or(|at| at > now));
        let mut matching: Vec<&Cookie> = cookies
            .iter()
            .filter(|c| {
                let host = if c.host_only { c.domain == site.host } else { domain_matches(site.host, &c.domain) };
                host && path_matches(site.path, &c.path) && (!c.secure || site.https)
            })
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.created.cmp(&b.created)));
        let pairs: Vec<String> = matching.iter().map(|c| format!("{}={}", c.name, c.value)).collect();
        // Names and values came from header text; bytes a header cannot
        // hold were refused there.
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }
}

/// Drops expired cookies, then the oldest past the per-domain and total
/// bounds.
fn evict(cookies: &mut Vec<Cookie>, now: SystemTime) {
    cookies.retain(|c| c.expires.is_none_or(|at| at > now));
    if let Some(newest) = cookies.last() {
        let domain = newest.domain.clone();
        while cookies.iter().filter(|c| c.domain == domain).count() > MAX_PER_DOMAIN {
            let oldest = cookies.iter().enumerate().filter(|(_, c)| c.domain == domain).min_by_key(|(_, c)| c.created);
            let Some((i, _)) = oldest else { break };
            cookies.remove(i);
        }
    }
    while cookies.len() > MAX_COOKIES {
        let Some((i, _)) = cookies.iter().enumerate().min_by_key(|(_, c)| c.created) else { break };
        cookies.remove(i);
    }
}

/// §5.1.3: `host` is `domain`, or a name ending in `.domain` (never an
/// IP address, whose "subdomains" mean nothing).
fn domain_matches(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        && host.parse::<IpAddr>().is_err()
}

/// §5.1.4: `cookie_path` is `path`, or a prefix of it that ends at a `/`.
fn path_matches(path: &str, cookie_path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// §5.1.4: the request path up to, not including, its last `/`; `/` for
/// a path with one `/` or none.
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) if path.starts_with('/') => path[..i].to_owned(),
        Some(_) => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn site(url: &'static str) -> Site<'static> {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Site { host, path: if path.is_empty() { "/" } else { path }, https: scheme == "https" }
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
    }

    struct Jar(CookieStore);

    impl Jar {
        fn new() -> Jar {
            Jar(CookieStore::default())
        }
        fn set(&self, url: &'static str, header: &str) -> &Jar {
            self.0.store_one(site(url), header, at(0));
            self
        }
        fn sent(&self, url: &'static str) -> String {
            self.sent_at(url, 1)
        }
        fn sent_at(&self, url: &'static str, seconds: u64) -> String {
            self.0.header_at(site(url), at(seconds)).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
        }
    }

    #[test]
    fn host_only_cookies_go_back_to_their_host_only() {
        let jar = Jar::new();
        jar.set("http://example.com/", "a=1");
        assert_eq!(jar.sent("http://example.com/any/path"), "a=1");
        assert_eq!(jar.sent("http://www.example.com/"), "", "not to a subdomain");
        assert_eq!(jar.sent("http://other.com/"), "", "not to another domain");
    }

    #[test]
    fn a_domain_cookie_reaches_subdomains_but_never_another_domain() {
        let jar = Jar::new();
        jar.set("http://www.example.com/", "d=1; Domain=example.com");
        assert_eq!(jar.sent("http://example.com/"), "d=1");
        assert_eq!(jar.sent("http://api.www.example.com/"), "d=1");
        assert_eq!(jar.sent("http://notexample.com/"), "");
        assert_eq!(jar.sent("http://example.com.evil.net/"), "");
    }

    #[test]
    fn a_host_cannot_set_a_cookie_for_another_domain_or_a_top_level_one() {
        let jar = Jar::new();
        jar.set("http://evil.net/", "x=1; Domain=example.com");
        jar.set("http://www.example.com/", "y=1; Domain=com");
        jar.set("http://www.example.com/", "z=1; Domain=api.example.com");
        assert_eq!(jar.sent("http://example.com/"), "");
        assert_eq!(jar.sent("http://a.example.com/"), "");
        assert_eq!(jar.sent("http://api.example.com/"), "");
        // Domain equal to the host itself, even without a dot, is fine.
        jar.set("http://localhost/", "l=1; Domain=localhost");
        assert_eq!(jar.sent("http://localhost/"), "l=1");
    }

    #[test]
    fn ip_hosts_match_exactly() {
        let jar = Jar::new();
        jar.set("http://127.0.0.1/", "ip=1");
        jar.set("http://127.0.0.1/", "bad=1; Domain=0.0.1");
        assert_eq!(jar.sent("http://127.0.0.1/"), "ip=1");
        assert_eq!(jar.sent("http://127.0.0.2/"), "");
    }

    #[test]
    fn paths_match_at_slashes_and_default_to_the_directory() {
        let jar = Jar::new();
        jar.set("http://h/docs/page", "dir=1"); // default path /docs
        jar.set("http://h/", "root=1; Path=/");
        jar.set("http://h/", "deep=1; Path=/docs/api/");
        assert_eq!(jar.sent("http://h/docs"), "dir=1; root=1");
        assert_eq!(jar.sent("http://h/docs/x"), "dir=1; root=1");
        assert_eq!(jar.sent("http://h/docs/api/v1"), "deep=1; dir=1; root=1", "longest path first");
        assert_eq!(jar.sent("http://h/docsx"), "root=1", "a prefix must end at a slash");
        assert_eq!(jar.sent("http://h/"), "root=1");
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/a"), "/");
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("odd"), "/");
    }

    #[test]
    fn secure_cookies_only_over_https() {
        let jar = Jar::new();
        jar.set("http://h/", "plain=1; Secure");
        assert_eq!(jar.sent("https://h/"), "", "a Secure cookie set over http is refused");
        jar.set("https://h/", "s=1; Secure");
        assert_eq!(jar.sent("https://h/"), "s=1");
        assert_eq!(jar.sent("http://h/"), "");
    }

    #[test]
    fn expiry_replacement_and_deletion() {
        let jar = Jar::new();
        jar.set("http://h/", "short=1; Max-Age=10");
        jar.set("http://h/", "session=1");
        assert_eq!(jar.sent_at("http://h/", 5), "short=1; session=1");
        assert_eq!(jar.sent_at("http://h/", 11), "session=1");
        jar.set("http://h/", "session=2");
        assert_eq!(jar.sent("http://h/"), "session=2", "same name, domain, path: replaced");
        jar.set("http://h/", "session=x; Max-Age=0");
        assert_eq!(jar.sent("http://h/"), "", "Max-Age=0 deletes");
        jar.set("http://h/", "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(jar.sent("http://h/"), "", "an expiry in the past stores nothing");
        jar.set("http://h/", "p=1; Path=/a").set("http://h/", "p=2; Path=/b");
        assert_eq!(jar.sent("http://h/a"), "p=1", "a different path is a different cookie");
    }

    #[test]
    fn replacing_keeps_the_creation_order() {
        let jar = Jar::new();
        jar.set("http://h/", "first=1").set("http://h/", "second=1").set("http://h/", "first=2");
        assert_eq!(jar.sent("http://h/"), "first=2; second=1");
    }

    #[test]
    fn bounds_drop_the_oldest_and_ignore_huge_cookies() {
        let jar = Jar::new();
        for i in 0..=MAX_PER_DOMAIN {
            jar.0.store_one(site("http://h/"), &format!("c{i}=1"), at(0));
        }
        let sent = jar.sent("http://h/");
        assert_eq!(sent.split("; ").count(), MAX_PER_DOMAIN);
        assert!(!sent.split("; ").any(|c| c == "c0=1"), "the oldest went");
        jar.set("http://big/", &format!("big={}", "x".repeat(MAX_COOKIE_BYTES)));
        assert_eq!(jar.sent("http://big/"), "");
    }
}
