//! Following redirects: where the next hop goes, with which method, and
//! which headers stay behind.
//!
//! - The `Location` is any URI reference, resolved against the URL of the
//!   request that was redirected (RFC 3986 §5, [`crate::url::reference`]):
//!   `sub/page`, `../up`, `?page=2`, `//host:8080/x` and absolute URLs.
//!   Bytes a URL cannot hold (spaces, UTF-8) are percent-encoded first, as
//!   browsers and `requests` do; the fragment is dropped (it is never
//!   sent). The result is checked like any URL ([`Target::parse`]).
//! - 303, and 301/302 after a POST, become GETs without a body; 307 and
//!   308 resend the request as it was, if its body can be sent again.
//! - A hop to another origin (scheme, host or port: what reqwest compares)
//!   goes through that origin's pool, and leaves behind the headers that
//!   carry credentials: `Authorization`, `Proxy-Authorization`, `Cookie`
//!   (as `requests` and reqwest do), and `Host`, which named the old one.

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};

use super::{Client, Error, Kind, Response};
use crate::body::Body;
use crate::url::reference::resolve;
use crate::url::target::{self, Target, UrlError, UrlErrorKind};

impl Client {
    /// Sends `req`, then each redirect it leads to.
    pub(super) async fn follow(&self, req: Request<Body>) -> Result<Response, Error> {
        use hyper::body::Body as _;
        let (mut head, body) = req.into_parts();
        // Only a request without a body can be sent again as it was.
        let replayable = body.is_end_stream();
        let mut body = Some(body);
        let mut hops = 0;
        loop {
            let req = Request::from_parts(head.clone(), body.take().unwrap_or_default());
            let resp = self.send(req).await?;
            let status = resp.status();
            let location = resp.headers().get(header::LOCATION);
            let (true, Some(location)) = (is_redirect(status) && self.inner.redirects > 0, location) else {
                return Ok(resp);
            };
            let next = next_url(&head.uri, location).map_err(Error::url)?;
            let get = status == StatusCode::SEE_OTHER
                || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && head.method == Method::POST);
            if !get && !replayable {
                return Ok(resp); // 307/308 with a body we no longer have
            }
            hops += 1;
            if hops > self.inner.redirects {
                return Err(Error::new(Kind::Redirects, format!("more than {} redirects", self.inner.redirects)));
            }
            drop(resp);
            if get {
                head.method = Method::GET;
                for name in [header::CONTENT_LENGTH, header::CONTENT_TYPE, header::TRANSFER_ENCODING] {
                    head.headers.remove(name);
                }
            }
            if !same_origin(&head.uri, &next) {
                strip_credentials(&mut head.headers);
            }
            head.uri = next;
        }
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The URL a `Location` header points to from `base`.
pub(crate) fn next_url(base: &Uri, location: &HeaderValue) -> Result<Uri, UrlError> {
    let reference = percent_encode(location.as_bytes());
    let mut next = resolve(&base.to_string(), &reference);
    if let Some(hash) = next.find('#') {
        next.truncate(hash);
    }
    let uri: Uri = next.parse().map_err(|e| UrlError::new(&next, UrlErrorKind::Malformed(format!("{e}"))))?;
    Target::parse(&uri, target::HTTP)?;
    Ok(uri)
}

/// `bytes` with every byte a URI cannot hold as it is (controls, space,
/// `"<>\^`{|}`, non-ASCII) written as `%XX`; everything else, `%` included,
/// stays (a `Location` may already be encoded).
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        let keep = b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Same scheme, host and port (the default port counts as written).
fn same_origin(a: &Uri, b: &Uri) -> bool {
    match (Target::parse(a, target::HTTP), Target::parse(b, target::HTTP)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Removes the headers that must not follow a request to another origin.
fn strip_credentials(headers: &mut HeaderMap) {
    for name in [header::AUTHORIZATION, header::PROXY_AUTHORIZATION, header::COOKIE, header::HOST] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(base: &str, location: &[u8]) -> Result<String, UrlErrorKind> {
        let location = HeaderValue::from_bytes(location).unwrap();
        next_url(&base.parse().unwrap(), &location).map(|u| u.to_string()).map_err(|e| e.kind().clone())
    }

    #[test]
    fn every_reference_form_resolves() {
        let base = "http://h:8080/a/b/page?x=1";
        assert_eq!(next(base, b"sub/page").unwrap(), "http://h:8080/a/b/sub/page");
        assert_eq!(next(base, b"?page=2").unwrap(), "http://h:8080/a/b/page?page=2");
        assert_eq!(next(base, b"../up").unwrap(), "http://h:8080/a/up");
        assert_eq!(next(base, b"./same").unwrap(), "http://h:8080/a/b/same");
        assert_eq!(next(base, b"//other:9090/p").unwrap(), "http://other:9090/p");
        assert_eq!(next(base, b"https://x/y#frag").unwrap(), "https://x/y");
        assert_eq!(next(base, b"#frag").unwrap(), "http://h:8080/a/b/page?x=1");
    }

    #[test]
    fn bytes_a_url_cannot_hold_are_encoded() {
        assert_eq!(next("http://h/", b"/a b").unwrap(), "http://h/a%20b");
        assert_eq!(next("http://h/", "/caf\u{e9}".as_bytes()).unwrap(), "http://h/caf%C3%A9");
        assert_eq!(next("http://h/", b"/x?q=\"<>\"").unwrap(), "http://h/x?q=%22%3C%3E%22");
        assert_eq!(next("http://h/", b"/already%20encoded").unwrap(), "http://h/already%20encoded");
    }

    #[test]
    fn a_bad_target_is_a_url_error() {
        assert_eq!(next("http://h/", b"//h:99999/"), Err(UrlErrorKind::PortOutOfRange("99999".into())));
        assert_eq!(next("http://h/", b"ftp://h/"), Err(UrlErrorKind::UnsupportedScheme("ftp".into())));
        assert_eq!(next("http://h/", b"//u:p@h/"), Err(UrlErrorKind::Userinfo));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let same = |a: &str, b: &str| same_origin(&a.parse().unwrap(), &b.parse().unwrap());
        assert!(same("http://h/a", "http://H:80/b"));
        assert!(!same("http://h/", "https://h/"));
        assert!(!same("http://h/", "http://h:8080/"));
        assert!(!same("http://h/", "http://g/"));
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Any `Location` a server can send: no panic; a hop, when
            /// there is one, goes to an absolute http(s) URL with a host.
            #[test]
            fn any_location_gives_an_absolute_url_or_an_error(
                location in prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff, Just(b'\t')], 0..40),
                base in prop::sample::select(vec!["http://h/", "https://h:8443/a/b?q", "http://[::1]:1/x/"]),
            ) {
                let Ok(location) = HeaderValue::from_bytes(&location) else { return Ok(()) };
                if let Ok(uri) = next_url(&base.parse().unwrap(), &location) {
                    prop_assert!(matches!(uri.scheme_str(), Some("http" | "https")), "{}", uri);
                    prop_assert!(uri.host().is_some_and(|h| !h.is_empty()), "{}", uri);
                }
            }
        }
    }
}
