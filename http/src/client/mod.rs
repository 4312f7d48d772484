//! The HTTP client: `requests` under gevent, on hyper.
//!
//! - [`Client::get`], [`post`](Client::post), [`put`](Client::put),
//!   [`patch`](Client::patch), [`delete`](Client::delete),
//!   [`head`](Client::head) and [`request`](Client::request) build a
//!   request ([`RequestBuilder`]: headers, query, body, JSON, forms,
//!   multipart, a per-request timeout); `.await` sends it.
//! - Keep-alive: connections are pooled per origin and reused; a
//!   response dropped with a small rest unread is drained in the
//!   background so its connection is kept ([`Response`]).
//! - Host names resolve on the blocking pool, so the loop never waits on DNS.
//! - Every URL is checked before anything connects: a port above 65535,
//!   an empty host, credentials or another scheme fail with a
//!   [`UrlError`] ([`Error::is_url`]).
//! - Redirects are followed (up to 10, as `requests` does; see
//!   [`Builder::redirects`]), whatever form their `Location` takes
//!   (RFC 3986 §5: `sub/page`, `../up`, `?page=2`, `//host/path`...);
//!   credentials stay behind when a hop leaves the origin.
//! - Timeouts: [`Builder::connect_timeout`] bounds setting up a connection
//!   (DNS, TCP, a proxy's tunnel, TLS); [`Builder::timeout`] the whole
//!   exchange, from the start of the request to the last byte of the body
//!   read through [`Response`]'s methods; [`Builder::read_timeout`] each
//!   wait for the server.
//! - `https://` through rustls with the `tls` feature, HTTP/2 over it when
//!   the server offers `h2` and the `http2` feature is on: one connection
//!   per origin, shared by every request, even by requests fired at once
//!   from a fresh client (the first dials, the others wait for it).
//! - Bodies stream both ways ([`Body::stream`], [`Response::chunk`]);
//!   compressed responses are decoded (features `gzip`, `deflate`,
//!   `brotli`, or `compression` for all).
//! - JSON with the `json` feature ([`RequestBuilder::json`],
//!   [`Response::json`]); file uploads ([`multipart`]).
//! - Cookies, when asked for ([`Builder::cookie_store`]); proxies from
//!   `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` or set by hand ([`Proxy`]).
//!
//! A `Client` is cheap to clone (its clones share the pool and the
//! cookies) and belongs to the runtime's thread (`!Send`).

mod auth;
mod body;
mod builder;
mod connect;
mod cookie;
mod decode;
mod drain;
mod error;
pub mod multipart;
mod pool;
mod proxy;
mod redirect;
mod request;
mod response;
mod share;

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Uri};

pub use crate::url::{UrlError, UrlErrorKind};
pub use body::ResponseBody;
pub use builder::Builder;
pub use error::Error;
pub(crate) use error::Kind;
pub use proxy::Proxy;
pub use request::RequestBuilder;
pub use response::Response;

use self::connect::Connector;
use self::cookie::{CookieStore, Site};
use self::pool::{Loan, Pool, Sender};
use self::proxy::{Endpoint, Proxies};
use self::share::{Dials, Outcome, Turn};
use crate::body::Body;
use crate::url::target::{self, Target};

/// An HTTP client with a keep-alive pool.
///
/// ```
/// use sprout::http::{Client, Server, Response, Body};
///
/// sprout::run(async {
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
    read_timeout: Option<Duration>,
    redirects: usize,
    user_agent: Option<HeaderValue>,
    /// Ask for compressed bodies and decode them.
    decompress: bool,
    /// What to ask for, when `decompress` (built once, sent often).
    accept_encoding: HeaderValue,
    cookies: Option<CookieStore>,
    proxies: Proxies,
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

    /// `GET url`: `.await` it, or add headers, a query, a timeout first
    /// ([`RequestBuilder`]).
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// `POST url` with `body` (`()` for none; [`RequestBuilder::json`],
    /// [`form`](RequestBuilder::form) and
    /// [`multipart`](RequestBuilder::multipart) replace it).
    pub fn post(&self, url: &str, body: impl Into<Body>) -> RequestBuilder {
        self.request(Method::POST, url).body(body)
    }

    /// `PUT url` with `body` (as [`post`](Self::post)).
    pub fn put(&self, url: &str, body: impl Into<Body>) -> RequestBuilder {
        self.request(Method::PUT, url).body(body)
    }

    /// `PATCH url` with `body` (as [`post`](Self::post)).
    pub fn patch(&self, url: &str, body: impl Into<Body>) -> RequestBuilder {
        self.request(Method::PATCH, url).body(body)
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// `HEAD url`: the head a `GET` would get, without the body.
    pub fn head(&self, url: &str) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A request with any method: `.await` it, or build it first
    /// ([`RequestBuilder`]). The URL is absolute: `http://host[:port]/path`.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// Sends a request built elsewhere ([`RequestBuilder::build`], or
    /// `http::Request::builder()`) and waits for the response head,
    /// following redirects.
    ///
    /// With a time limit ([`Builder::timeout`], or
    /// [`RequestBuilder::timeout`] for this request), the limit covers
    /// this call and then reading the body through the [`Response`]'s
    /// methods. Under a [`sprout::deadline`](sprout_runtime::deadline)
    /// that falls earlier, the deadline does, with the same error
    /// ([`Error::is_timeout`]).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn execute(&self, req: Request<Body>) -> Result<Response, Error> {
        let limit = req.extensions().get::<request::Timeout>().map(|t| t.0).or(self.inner.timeout);
        // The earlier of the limit and the current deadline
        // (`sprout::deadline`); a limit too far away is "never" (time
        // arithmetic saturates).
        let deadline = sprout_runtime::time::wait_deadline(limit);
        let resp = match deadline {
            Some(deadline) => {
                sprout_runtime::time::timeout_at(deadline, self.follow(req)).await.map_err(|_| Error::timeout())?
            }
            None => self.follow(req).await,
        }?;
        Ok(resp.with_limits(deadline, self.inner.read_timeout))
    }

    /// The number of idle pooled connections (for tests and monitoring).
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Sends one request (one hop of [`follow`](Self::follow)) on a
    /// pooled or new connection, with the headers the client adds.
    async fn send(&self, mut req: Request<Body>) -> Result<Response, Error> {
        let key = Target::parse(req.uri(), target::HTTP).map_err(Error::url)?;
        let via = self.inner.proxies.route(&key)?;
        // Plain http through a proxy: the request goes to the proxy.
        let absolute = via.is_some() && !key.tls;
        self.add_headers(&mut req, &key, via.filter(|_| absolute));
        let url = req.uri().clone();
        let resp = self.send_on_connection(&key, via, absolute, req).await?;
        if let Some(store) = &self.inner.cookies {
            store.store(site(&key, &url), resp.headers());
        }
        Ok(resp)
    }

    /// The headers a request gets from the client unless it has its own:
    /// `User-Agent`, `Accept-Encoding`, `Cookie`, and for a request sent
    /// to a proxy, `Proxy-Authorization`.
    fn add_headers(&self, req: &mut Request<Body>, key: &Target, proxy: Option<&Endpoint>) {
        let cookies = match &self.inner.cookies {
            Some(store) if !req.headers().contains_key(header::COOKIE) => store.header(site(key, req.uri())),
            _ => None,
        };
        let headers = req.headers_mut();
        if let Some(agent) = &self.inner.user_agent {
            headers.entry(header::USER_AGENT).or_insert_with(|| agent.clone());
        }
        if self.inner.decompress
            && !headers.contains_key(header::ACCEPT_ENCODING)
            && !headers.contains_key(header::RANGE)
        {
            headers.insert(header::ACCEPT_ENCODING, self.inner.accept_encoding.clone());
        }
        if let Some(cookies) = cookies {
            headers.insert(header::COOKIE, cookies);
        }
        if let Some(auth) = proxy.and_then(|p| p.auth.as_ref()) {
            headers.entry(header::PROXY_AUTHORIZATION).or_insert_with(|| auth.clone());
        }
    }

    async fn send_on_connection(
        &self,
        key: &Target,
        via: Option<&Endpoint>,
        absolute: bool,
        mut req: Request<Body>,
    ) -> Result<Response, Error> {
        loop {
            // Pooled connections first: a request the connection turned away
            // unsent (it had just closed) is retried on the next one.
            while let Some(sender) = self.inner.pool.checkout(key) {
                match self.try_send(key, sender, req, absolute).await {
                    Ok(resp) => return Ok(resp),
                    Err(Retry::Again(back)) => req = back,
                    Err(Retry::Failed(e)) => return Err(e),
                }
            }
            // A connection whose last response was dropped unread is being
            // drained: it is back in the pool within `drain::MAX_TIME`.
            if let Some(drain) = self.inner.pool.drain_for(key) {
                drain.wait().await;
                continue;
            }
            // `None`: another request's dial ended; look in the pool again.
            let Some(sender) = self.dial(key, via).await? else { continue };
            return match self.try_send(key, sender, req, absolute).await {
                Ok(resp) => Ok(resp),
                Err(Retry::Again(_)) => Err(Error::new(Kind::Http, "the new connection closed at once")),
                Err(Retry::Failed(e)) => Err(e),
            };
        }
    }

    /// A new connection to `key`, or `None` when the pool is worth another
    /// look: another request's dial ended (see [`share`]).
    async fn dial(&self, key: &Target, via: Option<&Endpoint>) -> Result<Option<Sender>, Error> {
        let connector = &self.inner.connector;
        if !connector.may_negotiate_h2(key) || self.inner.dials.is_http1(key) {
            return connector.connect(key, via).await.map(Some);
        }
        match self.inner.dials.join(key) {
            Turn::Lead(leader) => {
                let result = connector.connect(key, via).await;
                leader.finish(match &result {
                    #[cfg(feature = "http2")]
                    Ok(Sender::Http2(sender)) => {
                        self.inner.pool.checkin_shared(key, sender);
                        Outcome::Http2
                    }
                    Ok(Sender::Http1(_)) => Outcome::Http1,
                    Err(e) => Outcome::Failed(e.kind(), e.to_string()),
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
                None => connector.connect(key, via).await.map(Some),
            },
        }
    }

    async fn try_send(
        &self,
        key: &Target,
        sender: Sender,
        req: Request<Body>,
        absolute: bool,
    ) -> Result<Response, Retry> {
        let url = req.uri().clone();
        let pool = Rc::downgrade(&self.inner.pool);
        let (decompress, read_timeout) = (self.inner.decompress, self.inner.read_timeout);
        match sender {
            Sender::Http1(mut sender) => {
                if sender.ready().await.is_err() {
                    return Err(Retry::Again(req));
                }
                let req = if absolute { absolute_form(req, key) } else { origin_form(req, key) };
                match head(read_timeout, sender.try_send_request(req)).await? {
                    Ok(resp) => {
                        let loan = Loan { pool, key: key.clone(), sender: Sender::Http1(sender) };
                        Ok(Response::new(resp, Some(loan), url, decompress))
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
                match head(read_timeout, sender.try_send_request(req)).await? {
                    Ok(resp) => Ok(Response::new(resp, None, url, decompress)),
                    Err(mut e) => match e.take_message() {
                        Some(req) => Err(Retry::Again(req)),
                        None => Err(Retry::Failed(Error::http(e.into_error()))),
                    },
                }
            }
        }
    }
}

/// The wait for a response head, bounded by the read timeout.
async fn head<T>(read_timeout: Option<Duration>, sent: impl std::future::Future<Output = T>) -> Result<T, Retry> {
    response::within(None, read_timeout, sent).await.map_err(Retry::Failed)
}

/// What the cookie store needs of a request's URL.
fn site<'a>(key: &'a Target, url: &'a Uri) -> Site<'a> {
    Site { host: key.bare_host(), path: url.path(), https: key.tls }
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
    let (mut head, body) = absolute_form(req, key).into_parts();
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

/// To a proxy, HTTP/1 sends the whole URL (RFC 9112 §3.2.2), and `Host`.
fn absolute_form(mut req: Request<Body>, key: &Target) -> Request<Body> {
    if !req.headers().contains_key(header::HOST)
        && let Ok(host) = HeaderValue::from_str(&key.host_header())
    {
        req.headers_mut().insert(header::HOST, host);
    }
    if req.uri().path_and_query().is_none() {
        let mut parts = std::mem::take(req.uri_mut()).into_parts();
        parts.path_and_query = Some(hyper::http::uri::PathAndQuery::from_static("/"));
        *req.uri_mut() = Uri::from_parts(parts).unwrap_or_else(|_| Uri::from_static("/"));
    }
    req
}
