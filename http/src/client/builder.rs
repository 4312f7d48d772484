//! [`Builder`]: a [`Client`]'s settings.

use std::rc::Rc;
use std::time::Duration;

use hyper::header::HeaderValue;

use super::connect::Connector;
use super::cookie::CookieStore;
use super::pool::Pool;
use super::proxy::{Proxies, Proxy};
use super::{Client, Inner};

/// A [`Client`]'s settings.
///
/// ```
/// use std::time::Duration;
///
/// let client = sprout::http::Client::builder()
///     .timeout(Duration::from_secs(10))
///     .read_timeout(Duration::from_secs(2))
///     .redirects(0)
///     .max_idle_per_host(4)
///     .cookie_store(true)
///     .build();
/// # drop(client);
/// ```
#[derive(Debug)]
pub struct Builder {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    redirects: usize,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
    user_agent: Option<HeaderValue>,
    decompress: bool,
    cookies: bool,
    /// `None`: read the environment at `build`.
    proxies: Option<Vec<Proxy>>,
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<futures_rustls::rustls::ClientConfig>>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            timeout: None,
            connect_timeout: None,
            read_timeout: None,
            redirects: 10,
            max_idle_per_host: usize::MAX,
            idle_timeout: Some(Duration::from_secs(90)),
            user_agent: Some(HeaderValue::from_static(concat!("sprout-http/", env!("CARGO_PKG_VERSION")))),
            decompress: true,
            cookies: false,
            proxies: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl Builder {
    /// A time limit for each request, from its start to the end of its
    /// body: connecting, sending, the server's think time, redirects, and
    /// reading the body through [`Response::bytes`](super::Response::bytes),
    /// [`text`](super::Response::text), [`json`](super::Response::json) or
    /// [`chunk`](super::Response::chunk) (a body taken out with
    /// [`into_body`](super::Response::into_body) or
    /// [`into_http`](super::Response::into_http) leaves the limit behind). A
    /// request past it fails with [`Error::is_timeout`](super::Error::is_timeout).
    /// [`RequestBuilder::timeout`](super::RequestBuilder::timeout) sets
    /// another for one request. Default: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::http::{Body, Client, Response, Server};
    ///
    /// # sprout::Runtime::builder().start_paused(true).build().unwrap().block_on(async {
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

    /// A time limit for each wait on the server once a request has gone
    /// out: for the response head, then for each chunk of the body. It
    /// starts again with every chunk, so a long download that keeps
    /// coming never hits it, while a server that stalls fails with
    /// [`Error::is_timeout`](super::Error::is_timeout) after this long
    /// (as `requests`' read timeout and reqwest's `read_timeout` do). The
    /// wait for the head counts from when the request is handed to its
    /// connection, so a request body that uploads slower than this fails
    /// too. Default: none.
    pub fn read_timeout(mut self, timeout: Duration) -> Builder {
        self.read_timeout = Some(timeout);
        self
    }

    /// A time limit for setting up each connection: resolving the host,
    /// connecting over TCP (the time left is shared among the host's
    /// addresses, tried in turn), a proxy's tunnel, the TLS handshake and
    /// hyper's. A connection that takes longer fails with an error that is
    /// both [`is_connect`](super::Error::is_connect) and
    /// [`is_timeout`](super::Error::is_timeout). Requests waiting to share an
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

    /// Leaves response bodies as the server encoded them: no
    /// `Accept-Encoding` is added, and a `Content-Encoding: gzip` body
    /// comes back compressed. With the `gzip`, `deflate` or `brotli`
    /// features (`compression` for all three) the client otherwise asks
    /// for those codings and decodes them as the body is read (see
    /// [`Response`](super::Response)).
    pub fn no_decompression(mut self) -> Builder {
        self.decompress = false;
        self
    }

    /// Keeps cookies: a `Set-Cookie` from any response (redirects
    /// included) is stored, and every later request, each redirect hop
    /// included, carries the cookies whose domain, path and `Secure` flag
    /// match its URL (RFC 6265). Off by default, as in reqwest; a
    /// request that sets its own `Cookie` header gets no stored ones.
    pub fn cookie_store(mut self, enable: bool) -> Builder {
        self.cookies = enable;
        self
    }

    /// Sends requests through `proxy` (several calls add several; the
    /// first whose scheme and `no_proxy` list match a request is used).
    /// Setting one stops the client reading the environment's
    /// `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`.
    ///
    /// ```
    /// use sprout::http::client::{Client, Proxy};
    ///
    /// let proxy = Proxy::all("http://user:secret@proxy.internal:3128").unwrap().no_proxy("localhost, .internal");
    /// let client = Client::builder().proxy(proxy).build();
    /// # drop(client);
    /// ```
    pub fn proxy(mut self, proxy: Proxy) -> Builder {
        self.proxies.get_or_insert_with(Vec::new).push(proxy);
        self
    }

    /// Connects directly, ignoring the environment's proxy variables and
    /// any [`proxy`](Self::proxy) set before.
    pub fn no_proxy(mut self) -> Builder {
        self.proxies = Some(Vec::new());
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

    /// The client. Without [`proxy`](Self::proxy) or
    /// [`no_proxy`](Self::no_proxy), this reads the proxy variables of the
    /// environment, once (see [`Proxy`]).
    pub fn build(self) -> Client {
        let proxies = match self.proxies {
            Some(list) => Proxies::new(list),
            None => Proxies::from_env(|name| std::env::var(name).ok()),
        };
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
                read_timeout: self.read_timeout,
                redirects: self.redirects,
                user_agent: self.user_agent,
                decompress: self.decompress && super::decode::ANY_CODING,
                accept_encoding: super::decode::accept_encoding(),
                cookies: self.cookies.then(CookieStore::default),
                proxies,
            }),
        }
    }
}
