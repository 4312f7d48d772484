//! [`RequestBuilder`]: a request built step by step, sent by `.await`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

use super::auth::basic_auth;
use super::multipart::Form;
use super::{Client, Error, Response};
use crate::body::Body;

/// A request being built: from [`Client::get`] and friends, or
/// [`Client::request`]. `.await` it (or call [`send`](Self::send)) to
/// send it; nothing happens before.
///
/// A step given something invalid (a header name with a space, a value
/// that does not serialize) does not panic: the error is kept, and
/// sending fails with it ([`Error::is_builder`] or [`Error::is_url`]).
///
/// ```
/// use std::time::Duration;
/// use sprout::http::{Client, Method};
///
/// # sprout::run(async {
/// # let server = sprout::http::Server::bind("127.0.0.1:0", |req: sprout::http::Request<sprout::http::Incoming>| async move {
/// #     sprout::http::Response::new(sprout::http::Body::from(format!("{} {}", req.method(), req.uri())))
/// # }).await.unwrap();
/// # let base = format!("http://{}", server.local_addr().unwrap());
/// # let server = server.start();
/// let client = Client::new();
/// let resp = client
///     .request(Method::PUT, &format!("{base}/items/7"))
///     .header("x-request-id", "abc")
///     .query(&[("dry_run", "true"), ("note", "a b&c")])
///     .body("new content")
///     .timeout(Duration::from_secs(5))
///     .await
///     .unwrap();
/// assert_eq!(resp.text().await.unwrap(), "PUT /items/7?dry_run=true&note=a+b%26c");
/// # server.stop();
/// # });
/// ```
#[must_use = "a request does nothing until it is awaited or sent"]
pub struct RequestBuilder {
    client: Client,
    request: Result<Request<Body>, Error>,
}

/// A per-request time limit, carried in the request's extensions so that
/// [`Client::execute`] honours it on a built request too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeout(pub(crate) Duration);

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: &str) -> RequestBuilder {
        let request = url.parse::<Uri>().map_err(|e| Error::malformed(url, e)).map(|uri| {
            let mut req = Request::new(Body::empty());
            *req.method_mut() = method;
            *req.uri_mut() = uri;
            req
        });
        RequestBuilder { client, request }
    }

    fn with(mut self, step: impl FnOnce(&mut Request<Body>) -> Result<(), Error>) -> RequestBuilder {
        if let Ok(req) = &mut self.request
            && let Err(e) = step(req)
        {
            self.request = Err(e);
        }
        self
    }

    /// Adds a header (a second value for a name already there is added,
    /// not replaced, as `http::request::Builder::header` does).
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<hyper::http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<hyper::http::Error>,
    {
        self.with(|req| {
            let name = HeaderName::try_from(name).map_err(|e| Error::builder(e.into()))?;
            let value = HeaderValue::try_from(value).map_err(|e| Error::builder(e.into()))?;
            req.headers_mut().append(name, value);
            Ok(())
        })
    }

    /// Sets these headers, replacing any of the same names.
    pub fn headers(self, headers: HeaderMap) -> RequestBuilder {
        self.with(|req| {
            let mut last = None;
            for (name, value) in headers {
                // `None` names continue the previous name's values.
                let name = match name {
                    Some(name) => {
                        req.headers_mut().remove(&name);
                        last = Some(name.clone());
                        name
                    }
                    None => last.clone().ok_or_else(|| Error::builder("a header value without a name"))?,
                };
                req.headers_mut().append(name, value);
            }
            Ok(())
        })
    }

    /// Appends `key=value` pairs to the URL's query, form-encoded
    /// (`a b&c` is sent as `a+b%26c`), after any query the URL had.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> RequestBuilder {
        self.with(|req| {
            if pairs.is_empty() {
                return Ok(());
            }
            let encoded = form_urlencode(pairs);
            let uri = req.uri().to_string();
            let joined = match uri.find('?') {
                Some(q) if q + 1 == uri.len() => format!("{uri}{encoded}"),
                Some(_) => format!("{uri}&{encoded}"),
                None if req.uri().path_and_query().is_none() => format!("{uri}/?{encoded}"),
                None => format!("{uri}?{encoded}"),
            };
            *req.uri_mut() = joined.parse().map_err(|e| Error::malformed(&joined, e))?;
            Ok(())
        })
    }

    /// HTTP Basic authentication: `Authorization: Basic ...` (RFC 7617).
    /// Like every `Authorization` header, it is not carried to another
    /// origin by a redirect.
    pub fn basic_auth(self, user: &str, password: Option<&str>) -> RequestBuilder {
        self.with(|req| {
            req.headers_mut().insert(header::AUTHORIZATION, basic_auth(user, password));
            Ok(())
        })
    }

    /// `Authorization: Bearer token`.
    pub fn bearer_auth(self, token: &str) -> RequestBuilder {
        self.with(|req| {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(Error::builder)?;
            value.set_sensitive(true);
            req.headers_mut().insert(header::AUTHORIZATION, value);
            Ok(())
        })
    }

    /// The body (a string, bytes, or a streamed [`Body`]).
    pub fn body(self, body: impl Into<Body>) -> RequestBuilder {
        self.with(|req| {
            *req.body_mut() = body.into();
            Ok(())
        })
    }

    /// A form body, `application/x-www-form-urlencoded` (`requests`'
    /// `data={...}`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> RequestBuilder {
        let body = form_urlencode(pairs);
        self.content(HeaderValue::from_static("application/x-www-form-urlencoded"), body.into())
    }

    /// `value` as a JSON body, with `Content-Type: application/json`
    /// (feature `json`; `requests`' `json=`).
    ///
    /// ```
    /// # sprout::run(async {
    /// # let server = sprout::http::Server::bind("127.0.0.1:0", |req: sprout::http::Request<sprout::http::Incoming>| async move {
    /// #     let kind = req.headers()["content-type"].to_str().unwrap().to_owned();
    /// #     let body = sprout::http::to_bytes(req.into_body()).await.unwrap();
    /// #     sprout::http::Response::new(sprout::http::Body::from(format!("{kind} {}", String::from_utf8_lossy(&body))))
    /// # }).await.unwrap();
    /// # let url = format!("http://{}/", server.local_addr().unwrap());
    /// # let server = server.start();
    /// let resp = sprout::http::Client::new()
    ///     .post(&url, ())
    ///     .json(&serde_json::json!({"name": "sprout", "tags": [1, 2]}))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(resp.text().await.unwrap(), r#"application/json {"name":"sprout","tags":[1,2]}"#);
    /// # server.stop();
    /// # });
    /// ```
    ///
    /// A value that does not serialize (a map with non-string keys) makes
    /// sending fail with [`Error::is_builder`].
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> RequestBuilder {
        match serde_json::to_vec(value) {
            Ok(body) => self.content(HeaderValue::from_static("application/json"), body.into()),
            Err(e) => self.with(|_| Err(Error::builder(format!("the JSON body does not serialize: {e}")))),
        }
    }

    /// A `multipart/form-data` body (file uploads: see
    /// [`multipart`](super::multipart)), with its `Content-Type`.
    pub fn multipart(self, form: Form) -> RequestBuilder {
        match HeaderValue::from_str(&form.content_type()) {
            Ok(kind) => self.content(kind, form.into_body()),
            Err(e) => self.with(|_| Err(Error::builder(e))),
        }
    }

    /// A time limit for this request alone, in place of the client's
    /// [`Builder::timeout`](super::Builder::timeout): the same coverage,
    /// from the start to the body's last byte.
    pub fn timeout(self, limit: Duration) -> RequestBuilder {
        self.with(|req| {
            req.extensions_mut().insert(Timeout(limit));
            Ok(())
        })
    }

    /// The request as built, to send later with [`Client::execute`].
    ///
    /// # Errors
    /// A step was given something invalid.
    pub fn build(self) -> Result<Request<Body>, Error> {
        self.request
    }

    /// Sends the request (the same as `.await`ing the builder).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn send(self) -> Result<Response, Error> {
        self.client.execute(self.request?).await
    }

    /// Sets the body and its `Content-Type`.
    fn content(self, kind: HeaderValue, body: Body) -> RequestBuilder {
        self.with(|req| {
            req.headers_mut().insert(header::CONTENT_TYPE, kind);
            *req.body_mut() = body;
            Ok(())
        })
    }
}

impl IntoFuture for RequestBuilder {
    type Output = Result<Response, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Response, Error>>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.request {
            Ok(req) => f
                .debug_struct("RequestBuilder")
                .field("method", req.method())
                .field("url", req.uri())
                .field("headers", req.headers())
                .finish_non_exhaustive(),
            Err(e) => f.debug_struct("RequestBuilder").field("error", e).finish_non_exhaustive(),
        }
    }
}

/// `application/x-www-form-urlencoded` (the URL standard's serializer):
/// `*-._` and ASCII letters and digits stay, a space becomes `+`, every
/// other byte of the UTF-8 is `%XX`.
fn form_urlencode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, key.as_ref());
        out.push('=');
        encode_into(&mut out, value.as_ref());
    }
    out
}

fn encode_into(out: &mut String, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_follows_the_url_standard() {
        assert_eq!(form_urlencode(&[("a b", "c&d=e"), ("caf\u{e9}", "*-._~+")]), "a+b=c%26d%3De&caf%C3%A9=*-._%7E%2B");
        assert_eq!(form_urlencode::<&str, &str>(&[]), "");
    }

    fn uri_of(builder: RequestBuilder) -> String {
        builder.build().map(|r| r.uri().to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn query_pairs_join_what_the_url_had() {
        let client = Client::builder().no_proxy().build();
        assert_eq!(uri_of(client.get("http://h/p").query(&[("a", "1")])), "http://h/p?a=1");
        assert_eq!(uri_of(client.get("http://h/p?x=0").query(&[("a", "1 2")])), "http://h/p?x=0&a=1+2");
        assert_eq!(uri_of(client.get("http://h/p?").query(&[("a", "1")])), "http://h/p?a=1");
        assert_eq!(uri_of(client.get("http://h").query(&[("a", "1")])), "http://h/?a=1");
        assert_eq!(uri_of(client.get("http://h/p").query::<&str, &str>(&[])), "http://h/p");
    }

    #[test]
    fn a_bad_step_is_an_error_at_send_not_a_panic() {
        let client = Client::builder().no_proxy().build();
        let err = client.get("http://h/").header("bad name", "v").build().unwrap_err();
        assert!(err.is_builder(), "{err}");
        let err = client.get("http://h/").header("x", "bad\nvalue").header("y", "1").build().unwrap_err();
        assert!(err.is_builder(), "{err}");
        let err = client.get("not a url").header("x", "1").build().unwrap_err();
        assert!(err.is_url(), "{err}");
    }

    #[test]
    fn headers_replace_by_name_and_header_appends() {
        let client = Client::builder().no_proxy().build();
        let mut map = HeaderMap::new();
        map.append("x", HeaderValue::from_static("new1"));
        map.append("x", HeaderValue::from_static("new2"));
        let req =
            client.get("http://h/").header("x", "old").header("y", "1").header("y", "2").headers(map).build().unwrap();
        let values = |name| req.headers().get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>();
        assert_eq!(values("x"), ["new1", "new2"]);
        assert_eq!(values("y"), ["1", "2"]);
    }
}
