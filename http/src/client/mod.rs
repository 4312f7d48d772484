//! The HTTP client: `requests` under gevent, on hyper.
//!
//! - [`Client::get`] and friends: one call per request, `.await`ed.
//! - Keep-alive: connections are pooled per host and reused.
//! - Host names resolve on the blocking pool, so the loop never waits on DNS.
//! - Every URL is checked before anything connects: a port above 65535,
//!   an empty host, credentials or another scheme fail with a
//!   [`UrlError`] ([`Error::is_url`]).
//! - Redirects are followed (up to 10, as `requests` does; see
//!   [`Builder::redirects`]), whatever form their `Location` takes
//!   (RFC 3986 §5: `sub/page`, `../up`, `?page=2`, `//host/path`...);
//!   credentials stay behind when a hop leaves the origin.
//! - Timeouts: [`Builder::connect_timeout`] bounds setting up a connection
//!   (DNS, TCP, TLS); [`Builder::timeout`] the whole exchange, from the
//!   start of the request to the last byte of the body read through
//!   [`Response`]'s methods.
//! - `https://` through rustls with the `tls` feature, HTTP/2 over it when
//!   the server offers `h2` and the `http2` feature is on: one connection
//!   per origin, shared by every request, even by requests fired at once
//!   from a fresh client (the first dials, the others wait for it).
//! - Bodies stream both ways ([`Body::stream`], [`Response::chunk`]).
//!
//! A `Client` is cheap to clone (its clones share the pool) and belongs to
//! the runtime's thread (`!Send`).

mod connect;
mod pool;
mod redirect;
mod response;
mod share;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::{Request, Uri};

pub use crate::url::{UrlError, UrlErrorKind};
pub use response::{Response, ResponseBody};

use self::connect::Connector;
use self::pool::{Loan, Pool, Sender};
use self::share::{Dials, Outcome, Turn};
use crate::body::Body;
use crate::url::target::{self, Target};

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
    /// The dials in progress to origins that may answer HTTP/2.
    dials: Rc<Dials>,
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
        self.request(Request::get(url).body(Body::empty()).map_err(|e| Error::malformed(url, e))?).await
    }

    /// `POST url` with `body`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn post(&self, url: &str, body: impl Into<Body>) -> Result<Response, Error> {
        self.request(Request::post(url).body(body.into()).map_err(|e| Error::malformed(url, e))?).await
    }

    /// Sends `req` (an absolute URL: `http://host[:port]/path`) and waits
    /// for the response head, following redirects.
    ///
    /// With a [`Builder::timeout`], the time limit covers this call and
    /// then reading the body through the [`Response`]'s methods. Under a
    /// [`sprout::deadline`](sprout_runtime::deadline) that falls earlier,
    /// the deadline does, with the same error ([`Error::is_timeout`]).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn request(&self, req: Request<Body>) -> Result<Response, Error> {
        // The earlier of the client's timeout and the current deadline
        // (`sprout::deadline`); a limit too far away is "never" (time
        // arithmetic saturates).
        let deadline = sprout_runtime::time::wait_deadline(self.inner.timeout);
        let resp = match deadline {
            Some(deadline) => {
                sprout_runtime::time::timeout_at(deadline, self.follow(req)).await.map_err(|_| Error::timeout())?
            }
            None => self.follow(req).await,
        }?;
        Ok(resp.with_deadline(deadline))
    }

    /// The number of idle pooled connections (for tests and monitoring).
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Sends one request on a pooled or new connection.
    async fn send(&self, mut req: Request<Body>) -> Result<Response, Error> {
        let key = Target::parse(req.uri(), target::HTTP).map_err(Error::url)?;
        if let Some(agent) = &self.inner.user_agent {
            req.headers_mut().entry(header::USER_AGENT).or_insert_with(|| agent.clone());
        }
        loop {
            // Pooled connections first: a request the connection turned away
            // unsent (it had just closed) is retried on the next one.
            while let Some(sender) = self.inner.pool.checkout(&key) {
                match self.try_send(&key, sender, req).await {
                    Ok(resp) => return Ok(resp),
                    Err(Retry::Again(back)) => req = back,
                    Err(Retry::Failed(e)) => return Err(e),
                }
            }
            // `None`: another request's dial ended; look in the pool again.
            let Some(sender) = self.dial(&key).await? else { continue };
            return match self.try_send(&key, sender, req).await {
                Ok(resp) => Ok(resp),
                Err(Retry::Again(_)) => Err(Error::new(Kind::Http, "the new connection closed at once")),
                Err(Retry::Failed(e)) => Err(e),
            };
        }
    }

    /// A new connection to `key`, or `None` when the pool is worth another
    /// look: another request's dial ended (see [`share`]).
    async fn dial(&self, key: &Target) -> Result<Option<Sender>, Error> {
        let connector = &self.inner.connector;
        if !connector.may_negotiate_h2(key) || self.inner.dials.is_http1(key) {
            return connector.connect(key).await.map(Some);
        }
        match self.inner.dials.join(key) {
            Turn::Lead(leader) => {
                let result = connector.connect(key).await;
                leader.finish(match &result {
                    #[cfg(feature = "http2")]
                    Ok(Sender::Http2(sender)) => {
                        self.inner.pool.checkin_shared(key, sender);
                        Outcome::Http2
                    }
                    Ok(Sender::Http1(_)) => Outcome::Http1,
                    Err(e) => Outcome::Failed(e.kind, e.to_string()),
                });
                result.map(Some)
            }
            Turn::Wait(dial) => match dial.wait(connector.connect_timeout.unwrap_or(share::DEFAULT_WAIT)).await {
                // Back to the pool: the shared connection, an idle HTTP/1
                // one, or (the origin now known as HTTP/1, or the leader
                // gone) a dial of this request's own.
                Some(Outcome::Http2 | Outcome::Http1 | Outcome::Abandoned) => Ok(None),
                Some(Outcome::Failed(kind, message)) => Err(Error::new(kind, message)),
                // Waited long enough for another's handshake.
                None => connector.connect(key).await.map(Some),
            },
        }
    }

    async fn try_send(&self, key: &Target, sender: Sender, req: Request<Body>) -> Result<Response, Retry> {
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

/// HTTP/1 sends the path only, with the origin in `Host`.
fn origin_form(req: Request<Body>, key: &Target) -> Request<Body> {
    let (mut head, body) = req.into_parts();
    if !head.headers.contains_key(header::HOST)
        && let Ok(host) = HeaderValue::from_str(&key.host_header())
    {
        head.headers.insert(header::HOST, host);
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
    /// A time limit for each request, from its start to the end of its
    /// body: connecting, sending, the server's think time, redirects, and
    /// reading the body through [`Response::bytes`], [`Response::text`] or
    /// [`Response::chunk`] (a body taken out with
    /// [`into_body`](Response::into_body) or
    /// [`into_http`](Response::into_http) leaves the limit behind). A
    /// request past it fails with [`Error::is_timeout`]. Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout_http::{Body, Client, Response, Server};
    ///
    /// # sprout_runtime::Runtime::builder().start_paused(true).build().unwrap().block_on(async {
    /// // A body that never ends: the head arrives, then nothing.
    /// let server = Server::bind("127.0.0.1:0", |_req| async {
    ///     Response::new(Body::stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()))
    /// })
    /// .await
    /// .unwrap();
    /// let url = format!("http://{}/", server.local_addr().unwrap());
    /// let server = server.start();
    /// let client = Client::builder().timeout(Duration::from_secs(5)).build();
    /// let resp = client.get(&url).await.unwrap(); // the head, in time
    /// assert!(resp.text().await.unwrap_err().is_timeout()); // the body, not
    /// server.stop();
    /// # });
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.timeout = Some(timeout);
        self
    }

    /// A time limit for setting up each connection: resolving the host,
    /// connecting over TCP (the time left is shared among the host's
    /// addresses, tried in turn), the TLS handshake and hyper's. A
    /// connection that takes longer fails with an error that is both
    /// [`is_connect`](Error::is_connect) and
    /// [`is_timeout`](Error::is_timeout). Requests waiting to share an
    /// HTTP/2 connection being set up wait at most this long, then dial
    /// their own. Default: none (the system's TCP timeout, an unbounded
    /// handshake).
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
                dials: Rc::default(),
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
pub(crate) enum Kind {
    Url,
    Connect,
    Tls,
    Timeout,
    /// Setting up a connection took longer than the connect timeout.
    ConnectTimeout,
    Redirects,
    Http,
    BodyTooLarge,
}

impl Error {
    fn new(kind: Kind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error { kind, source: source.into() }
    }

    fn url(e: UrlError) -> Error {
        Error::new(Kind::Url, e)
    }

    /// A URL `http::Uri` would not parse.
    fn malformed(url: &str, e: hyper::http::Error) -> Error {
        Error::url(UrlError::new(&url, UrlErrorKind::Malformed(e.to_string())))
    }

    fn connect(key: &Target, e: io::Error) -> Error {
        Error::new(Kind::Connect, format!("cannot connect to {}:{}: {e}", key.host, key.port))
    }

    fn connect_timeout(key: &Target, limit: Duration) -> Error {
        Error::new(Kind::ConnectTimeout, format!("connecting to {}:{} took longer than {limit:?}", key.host, key.port))
    }

    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn tls(key: &Target, e: io::Error) -> Error {
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

    /// The URL (of the request, or of a redirect) cannot be used: see
    /// [`url_error`](Self::url_error) for why.
    pub fn is_url(&self) -> bool {
        self.kind == Kind::Url
    }

    /// What was wrong with the URL, for an [`is_url`](Self::is_url) error.
    pub fn url_error(&self) -> Option<&UrlError> {
        self.source.downcast_ref()
    }

    /// The host did not resolve, refused the connection, or took longer
    /// than the connect timeout to set it up.
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::ConnectTimeout)
    }

    /// The TLS handshake failed (a certificate not trusted, say).
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// A time limit passed: the request's ([`Builder::timeout`]) or the
    /// connection's ([`Builder::connect_timeout`], then
    /// [`is_connect`](Self::is_connect) too).
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout | Kind::ConnectTimeout)
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
