//! The HTTP client: `requests` under gevent, on hyper.
//!
//! - [`Client::get`] and friends: one call per request, `.await`ed.
//! - Keep-alive: connections are pooled per host and reused.
//! - Host names resolve on the blocking pool, so the loop never waits on DNS.
//! - Redirects are followed (up to 10, as `requests` does; see
//!   [`Builder::redirects`]).
//! - A per-request timeout covers connecting and waiting for the response
//!   head ([`Builder::timeout`]).
//! - `https://` through rustls with the `tls` feature, HTTP/2 over it when
//!   the server offers `h2` and the `http2` feature is on.
//! - Bodies stream both ways ([`Body::stream`], [`Response::chunk`]).
//!
//! A `Client` is cheap to clone (its clones share the pool) and belongs to
//! the runtime's thread (`!Send`).

mod connect;
mod pool;
mod response;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};

pub use response::{Response, ResponseBody};

use self::connect::Connector;
use self::pool::{Key, Loan, Pool, Sender};
use crate::body::Body;

/// An HTTP client with a keep-alive pool.
///
/// ```
/// use sprout_http::{Client, Server, Response, Body};
///
/// sprout_runtime::run(async {
///     let server = Server::bind("127.0.0.1:0", |_req| async { Response::new(Body::from("hi")) }).await.unwrap();
///     let url = format!("http://{}/", server.local_addr().unwrap());
///     let server = server.start();
///
///     let client = Client::new();
///     for _ in 0..3 {
///         let resp = client.get(&url).await.unwrap();
///         assert_eq!(resp.text().await.unwrap(), "hi");
///     }
///     assert_eq!(client.idle_connections(), 1); // one connection, reused
///     server.stop();
/// });
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Rc<Inner>,
}

struct Inner {
    pool: Rc<Pool>,
    connector: Connector,
    timeout: Option<Duration>,
    redirects: usize,
    user_agent: Option<HeaderValue>,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with the defaults (see [`Builder`]).
    pub fn new() -> Client {
        Builder::default().build()
    }

    /// A client with settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `GET url`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get(&self, url: &str) -> Result<Response, Error> {
        self.request(Request::get(url).body(Body::empty()).map_err(Error::url)?).await
    }

    /// `POST url` with `body`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn post(&self, url: &str, body: impl Into<Body>) -> Result<Response, Error> {
        self.request(Request::post(url).body(body.into()).map_err(Error::url)?).await
    }

    /// Sends `req` (an absolute URL: `http://host[:port]/path`) and waits
    /// for the response head, following redirects.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn request(&self, req: Request<Body>) -> Result<Response, Error> {
        match self.inner.timeout {
            Some(timeout) => sprout_runtime::timeout(timeout, self.follow(req)).await.map_err(|_| Error::timeout())?,
            None => self.follow(req).await,
        }
    }

    /// The number of idle pooled connections (for tests and monitoring).
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Sends `req`, then each redirect it leads to.
    async fn follow(&self, req: Request<Body>) -> Result<Response, Error> {
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
            let location = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok());
            let (true, Some(location)) = (is_redirect(status) && self.inner.redirects > 0, location) else {
                return Ok(resp);
            };
            let next = resolve(&head.uri, location)?;
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
                head.headers.remove(header::CONTENT_LENGTH);
                head.headers.remove(header::CONTENT_TYPE);
                head.headers.remove(header::TRANSFER_ENCODING);
            }
            if next.authority() != head.uri.authority() {
                // Credentials are for the host they were meant for.
                head.headers.remove(header::AUTHORIZATION);
                head.headers.remove(header::COOKIE);
                head.headers.remove(header::HOST);
            }
            head.uri = next;
        }
    }

    /// Sends one request on a pooled or new connection.
    async fn send(&self, mut req: Request<Body>) -> Result<Response, Error> {
        let url = req.uri().clone();
        let key = key_of(&url)?;
        if let Some(agent) = &self.inner.user_agent {
            req.headers_mut().entry(header::USER_AGENT).or_insert_with(|| agent.clone());
        }
        // Pooled connections first: a request the connection turned away
        // unsent (it had just closed) is retried on the next one.
        while let Some(sender) = self.inner.pool.checkout(&key) {
            match self.try_send(&key, sender, req).await {
                Ok(resp) => return Ok(resp),
                Err(Retry::Again(back)) => req = back,
                Err(Retry::Failed(e)) => return Err(e),
            }
        }
        let sender = self.inner.connector.connect(&key).await?;
        match self.try_send(&key, sender, req).await {
            Ok(resp) => Ok(resp),
            Err(Retry::Again(_)) => Err(Error::new(Kind::Http, "the new connection closed at once")),
            Err(Retry::Failed(e)) => Err(e),
        }
    }

    async fn try_send(&self, key: &Key, sender: Sender, req: Request<Body>) -> Result<Response, Retry> {
        let url = req.uri().clone();
        let pool = Rc::downgrade(&self.inner.pool);
        match sender {
            Sender::Http1(mut sender) => {
                if sender.ready().await.is_err() {
                    return Err(Retry::Again(req));
                }
                let req = origin_form(req, key);
                match sender.try_send_request(req).await {
                    Ok(resp) => {
                        let loan = Loan { pool, key: key.clone(), sender: Sender::Http1(sender) };
                        Ok(Response::new(resp, Some(loan), url))
                    }
                    Err(mut e) => match e.take_message() {
                        Some(req) => Err(Retry::Again(req)),
                        None => Err(Retry::Failed(Error::http(e.into_error()))),
                    },
                }
            }
            #[cfg(feature = "http2")]
            Sender::Http2(mut sender) => {
                if sender.ready().await.is_err() {
                    return Err(Retry::Again(req));
                }
                // A new connection joins the pool now (a pooled one is still
                // there): other requests may share it.
                if let Some(pool) = pool.upgrade() {
                    pool.checkin_shared(key, &sender);
                }
                match sender.try_send_request(req).await {
                    Ok(resp) => Ok(Response::new(resp, None, url)),
                    Err(mut e) => match e.take_message() {
                        Some(req) => Err(Retry::Again(req)),
                        None => Err(Retry::Failed(Error::http(e.into_error()))),
                    },
                }
            }
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("idle_connections", &self.idle_connections())
            .field("timeout", &self.inner.timeout)
            .field("redirects", &self.inner.redirects)
            .finish_non_exhaustive()
    }
}

/// A request that could not go out on a pooled connection.
#[allow(clippy::large_enum_variant)] // lives only across one `?`, never stored
enum Retry {
    /// Not sent: try it elsewhere.
    Again(Request<Body>),
    /// Sent (or broken) and failed.
    Failed(Error),
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The origin a URL names.
fn key_of(url: &Uri) -> Result<Key, Error> {
    let https = match url.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => return Err(Error::new(Kind::Url, format!("unsupported scheme {other:?} in {url}"))),
        None => return Err(Error::new(Kind::Url, format!("not an absolute URL: {url}"))),
    };
    let host = url.host().ok_or_else(|| Error::new(Kind::Url, format!("no host in {url}")))?;
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Key { https, host: host.to_owned(), port })
}

/// HTTP/1 sends the path only, with the origin in `Host`.
fn origin_form(req: Request<Body>, key: &Key) -> Request<Body> {
    let (mut head, body) = req.into_parts();
    if !head.headers.contains_key(header::HOST) {
        let default_port = if key.https { 443 } else { 80 };
        let host = match head.uri.port_u16() {
            Some(port) if port != default_port => HeaderValue::from_str(&format!("{}:{port}", key.host)),
            _ => HeaderValue::from_str(&key.host),
        };
        if let Ok(host) = host {
            head.headers.insert(header::HOST, host);
        }
    }
    // Keep the path and query as they are (no parse, no copy).
    let mut parts = std::mem::take(&mut head.uri).into_parts();
    parts.scheme = None;
    parts.authority = None;
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(hyper::http::uri::PathAndQuery::from_static("/"));
    }
    head.uri = Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"));
    Request::from_parts(head, body)
}

/// A redirect's `Location`, absolute or relative to `base`.
fn resolve(base: &Uri, location: &str) -> Result<Uri, Error> {
    let bad = |e: &dyn fmt::Display| Error::new(Kind::Url, format!("bad redirect location {location:?}: {e}"));
    let target: Uri = location.parse().map_err(|e| bad(&e))?;
    if target.scheme().is_some() {
        return Ok(target);
    }
    let mut parts = base.clone().into_parts();
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        // Relative to the base's directory.
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{dir}/{location}")
    };
    parts.path_and_query = Some(path.parse().map_err(|e| bad(&e))?);
    Uri::from_parts(parts).map_err(|e| bad(&e))
}

/// A [`Client`]'s settings.
///
/// ```
/// use std::time::Duration;
///
/// let client = sprout_http::Client::builder()
///     .timeout(Duration::from_secs(10))
///     .redirects(0)
///     .max_idle_per_host(4)
///     .build();
/// # drop(client);
/// ```
#[derive(Debug)]
pub struct Builder {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    redirects: usize,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
    user_agent: Option<HeaderValue>,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<futures_rustls::rustls::ClientConfig>>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            timeout: None,
            connect_timeout: None,
            redirects: 10,
            max_idle_per_host: usize::MAX,
            idle_timeout: Some(Duration::from_secs(90)),
            user_agent: Some(HeaderValue::from_static(concat!("sprout-http/", env!("CARGO_PKG_VERSION")))),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Builder {
    /// A time limit for each request, from its start to the response head
    /// (connecting, sending, the server's think time, redirects). Reading
    /// the body is not covered: wrap it in [`sprout_runtime::timeout`].
    /// Default: none.
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.timeout = Some(timeout);
        self
    }

    /// A time limit for each TCP connect. Default: none (the system's).
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Follows at most `max` redirects (0: none, the 3xx response is
    /// returned). Default 10.
    pub fn redirects(mut self, max: usize) -> Builder {
        self.redirects = max;
        self
    }

    /// Keeps at most `max` idle connections per host. Default: no limit.
    pub fn max_idle_per_host(mut self, max: usize) -> Builder {
        self.max_idle_per_host = max;
        self
    }

    /// Closes a pooled connection idle for longer than this. Default 90 s.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Builder {
        self.idle_timeout = timeout;
        self
    }

    /// The `User-Agent` sent when a request has none (`None`: send none).
    pub fn user_agent(mut self, agent: Option<&str>) -> Builder {
        self.user_agent = agent.and_then(|a| HeaderValue::from_str(a).ok());
        self
    }

    /// The TLS settings for `https://` (trusted roots, client
    /// certificates). Default: [`crate::tls::default_client_config`], the
    /// Mozilla roots of `webpki-roots`.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: impl Into<std::sync::Arc<futures_rustls::rustls::ClientConfig>>) -> Builder {
        self.tls = Some(config.into());
        self
    }

    /// The client.
    pub fn build(self) -> Client {
        Client {
            inner: Rc::new(Inner {
                pool: Rc::new(Pool::new(self.max_idle_per_host, self.idle_timeout)),
                connector: Connector {
                    connect_timeout: self.connect_timeout,
                    #[cfg(feature = "tls")]
                    tls: self.tls,
                },
                timeout: self.timeout,
                redirects: self.redirects,
                user_agent: self.user_agent,
            }),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    source: Box<dyn StdError + Send + Sync>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Url,
    Connect,
    Tls,
    Timeout,
    Redirects,
    Http,
    BodyTooLarge,
}

impl Error {
    fn new(kind: Kind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error { kind, source: source.into() }
    }

    fn url(e: hyper::http::Error) -> Error {
        Error::new(Kind::Url, e)
    }

    fn connect(key: &Key, e: io::Error) -> Error {
        Error::new(Kind::Connect, format!("cannot connect to {}:{}: {e}", key.host, key.port))
    }

    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn tls(key: &Key, e: io::Error) -> Error {
        Error::new(Kind::Tls, format!("TLS handshake with {}:{} failed: {e}", key.host, key.port))
    }

    fn timeout() -> Error {
        Error::new(Kind::Timeout, "the request timed out")
    }

    pub(crate) fn http(e: hyper::Error) -> Error {
        Error::new(Kind::Http, e)
    }

    /// A body read whole failed: too large, or the connection's error.
    pub(crate) fn body(e: crate::BoxError) -> Error {
        let kind = if e.is::<crate::BodyTooLarge>() { Kind::BodyTooLarge } else { Kind::Http };
        Error { kind, source: e }
    }

    /// The URL was malformed, relative, or of a scheme other than http(s).
    pub fn is_url(&self) -> bool {
        self.kind == Kind::Url
    }

    /// The host did not resolve or refused the connection.
    pub fn is_connect(&self) -> bool {
        self.kind == Kind::Connect
    }

    /// The TLS handshake failed (a certificate not trusted, say).
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// The request's time limit passed.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }

    /// Too many redirects.
    pub fn is_redirect(&self) -> bool {
        self.kind == Kind::Redirects
    }

    /// A body read whole ([`Response::bytes`], [`Response::text`]) was
    /// larger than its limit.
    pub fn is_body_too_large(&self) -> bool {
        self.kind == Kind::BodyTooLarge
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.source()
    }
}
