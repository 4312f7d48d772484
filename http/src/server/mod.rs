//! The HTTP server: `gevent.pywsgi` on hyper, a green task per connection.
//!
//! # Design notes
//! - A [`Server`] is a [`StreamServer`] whose connection handler runs hyper
//!   over the accepted stream. Accepting, the connection limit, the
//!   listeners and the [`ServerHandle`] (stop, graceful stop, counts) are
//!   `StreamServer`'s; this module adds HTTP on top.
//! - hyper parses and writes HTTP; sprout keeps the clocks. hyper's own
//!   header-read timer also runs while a keep-alive connection waits for
//!   its next request (so one number would bound both) and allocates a
//!   timer per request; instead, each connection has one sprout timer and
//!   a phase ([`conn`]): *idle* (between requests: the keep-alive timeout),
//!   *head* (bytes of a request have arrived: the header-read timeout) and
//!   *busy* (a handler runs or a response is being sent: no timeout).
//! - The handler's future runs inside the connection's task, under
//!   `catch_unwind`: a panic answers 500 and the connection (and server) go
//!   on ([`service`]). So does a streamed response body's: its first frame
//!   is polled before hyper sees the response (a panic there answers 500);
//!   a later panic closes the connection and is reported.
//! - On a graceful stop each connection asks hyper to finish the request
//!   in flight and then close; idle connections close at once.
//! - Errors a peer causes (a malformed request, EOF mid-request, a header
//!   timeout, a reset) go to the error hook marked as such; the default
//!   hook prints the others only, one line each.

mod clock;
mod config;
mod conn;
mod framing;
mod guard;
pub(crate) mod handler;
mod service;
mod trace;
mod watched;

pub use handler::{BoxHandler, Handler};
pub use service::remote_addr;

use std::cell::OnceCell;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use sprout_net::server::Worker;
use sprout_net::{ServerHandle, StreamServer, TcpListener, TcpStream, ToSocketAddrs};

use crate::body::{Body, BoxError};
use config::{Config, WorkerConfig};

/// What a handler may return: a response, or a `Result` whose error
/// answers `500 Internal Server Error` (and goes to the error hook).
pub trait IntoResponse {
    /// The response, or the error to report.
    fn into_response(self) -> Result<Response<Body>, BoxError>;
}

impl<B: Into<Body>> IntoResponse for Response<B> {
    #[inline]
    fn into_response(self) -> Result<Response<Body>, BoxError> {
        Ok(self.map(Into::into))
    }
}

impl<B: Into<Body>, E: Into<BoxError>> IntoResponse for Result<Response<B>, E> {
    #[inline]
    fn into_response(self) -> Result<Response<Body>, BoxError> {
        self.map(|r| r.map(Into::into)).map_err(Into::into)
    }
}

/// Something that went wrong with one connection or one request, as the
/// [error hook](Server::on_error) sees it.
#[derive(Debug)]
pub struct ServeError {
    peer: SocketAddr,
    kind: ErrorKind,
    error: BoxError,
}

/// What kind of [`ServeError`] this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The peer's doing: a malformed request (answered 400 or 431 by
    /// hyper), EOF mid-request, a reset, a header-read timeout, a failed
    /// TLS handshake. Quiet by default.
    Peer,
    /// The handler returned an error (answered 500).
    Handler,
    /// The handler panicked (answered 500), or a streamed response body
    /// did: answered 500 if it panicked on its first poll, before anything
    /// was sent; the connection is closed if the head had gone out.
    Panic,
    /// Anything else: a streamed response body that failed (answered 500
    /// if it failed on its first poll, else the connection is closed), an
    /// HTTP/2 protocol error on our side.
    Other,
}

impl ServeError {
    pub(crate) fn new(peer: SocketAddr, kind: ErrorKind, error: impl Into<BoxError>) -> ServeError {
        ServeError { peer, kind, error: error.into() }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the peer caused it (see [`ErrorKind::Peer`]).
    pub fn is_peer(&self) -> bool {
        self.kind == ErrorKind::Peer
    }

    /// The underlying error.
    pub fn error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.error
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Peer => "connection",
            ErrorKind::Handler => "handler",
            ErrorKind::Panic => "handler panicked",
            ErrorKind::Other => "connection",
        };
        write!(f, "{} ({what}): {}", self.peer, self.error)
    }
}

impl StdError for ServeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error)
    }
}

/// Starts one more worker's server from the final settings (`Server::workers`).
type StartWorkers = Box<dyn FnOnce(WorkerConfig) -> Box<dyn Fn(Worker) -> ServerHandle + Send + Sync>>;

/// What every connection task shares: the settings, the handler, the
/// server's handle (to see a stop), built once at start.
pub(crate) struct Setup<H> {
    pub(crate) config: Config,
    pub(crate) handler: H,
    pub(crate) handle: ServerHandle,
}

/// A counted reference to a started server's [`Setup`].
pub(crate) type SetupRef<H> = Rc<Setup<H>>;

/// The connection task's future, boxed so the server has a nameable type.
type ConnFuture = Pin<Box<dyn Future<Output = ()>>>;
/// The handler `StreamServer` runs for each connection; also how a
/// started server serves one (`Server::slot`).
type ConnHandler = Box<dyn Fn(TcpStream, SocketAddr) -> ConnFuture>;

/// An HTTP/1.1 server (and HTTP/2 with the `http2` feature): the role of
/// `gevent.pywsgi.WSGIServer`. The handler runs in the connection's green
/// task, once per request, and returns a response (or a `Result`).
///
/// ```
/// use sprout::http::{Incoming, Request, Response};
/// use sprout::http::{Body, Client, Server};
///
/// async fn hello(_req: Request<Incoming>) -> Response<Body> {
///     Response::new("hello, world".into())
/// }
///
/// sprout::run(async {
///     let server = Server::bind("127.0.0.1:0", hello).await.unwrap();
///     let url = format!("http://{}/", server.local_addr().unwrap());
///     let handle = server.start();
///
///     let resp = Client::new().get(&url).await.unwrap();
///     assert_eq!(resp.text().await.unwrap(), "hello, world");
///     handle.stop();
/// });
/// ```
///
/// The handler is a closure or a function ([`bind`](Self::bind),
/// [`new`](Self::new)), a tower service such as an axum `Router`
/// (`bind_tower`, feature `tower`), or any [`Handler`]
/// ([`with_handler`](Self::with_handler)); [`boxed`](Self::boxed) gives
/// every one the same type, `Server<BoxHandler>`.
///
/// Defaults: keep-alive on, a 30 s header-read timeout, a 60 s keep-alive
/// idle timeout, heads up to 16 KiB, no connection limit; HTTP/2 on when
/// the `http2` feature is. Every buffer a client can grow has a cap: see
/// [`limits`](crate::limits).
pub struct Server<H> {
    inner: StreamServer<ConnHandler>,
    /// How connections are served, set by `start` from the settings and
    /// the handler; `inner`'s handler reads it. It does not name `H`, so
    /// that [`boxed`](Self::boxed) can change the handler's type.
    slot: Rc<OnceCell<ConnHandler>>,
    config: Config,
    handler: H,
    /// Set by `workers`: how many, and how each other worker starts.
    workers: Option<(usize, StartWorkers)>,
    /// Set by `tls`; its ALPN list is completed at start, when `http2` is known.
    #[cfg(feature = "tls")]
    tls_config: Option<std::sync::Arc<futures_rustls::rustls::ServerConfig>>,
}

// By hand: the handler is a closure (no `Debug`); the listener says which server.
impl<H> fmt::Debug for Server<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<H, F> Server<H>
where
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    /// A server listening on `addr` (port 0 picks a free port).
    ///
    /// The line that calls it is the spawn site of the server's tasks, as
    /// the task dump and the blocking detector show them; each connection
    /// task is named `conn <peer address>` when the runtime observes its
    /// tasks (see `docs/debugging.md`).
    ///
    /// # Errors
    /// If the address does not resolve or cannot be bound.
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs, handler: H) -> impl Future<Output = io::Result<Server<H>>> {
        // Read here: `#[track_caller]` does not reach into an `async` body.
        Server::bind_at(addr, handler, Location::caller())
    }

    /// A server on an already bound listener; the line that calls it is
    /// the spawn site of the server's tasks.
    #[track_caller]
    pub fn from_listener(listener: TcpListener, handler: H) -> Server<H> {
        Server::with_handler(handler).add_listener(listener)
    }

    /// A server with no listener yet: give it one with
    /// [`listen`](Self::listen) or [`add_listener`](Self::add_listener)
    /// (it serves every listener it is given). With it a function can
    /// build the app, its handler and settings, and leave the address to
    /// its caller (`main`, a test); see [`boxed`](Self::boxed). The line
    /// that calls it is the spawn site of the server's tasks.
    #[track_caller]
    pub fn new(handler: H) -> Server<H> {
        Server::with_handler(handler)
    }
}

impl<H: Handler> Server<H> {
    /// A server with no listener yet (as [`new`](Self::new)) for any
    /// [`Handler`]: a closure, a `Tower` service, a [`BoxHandler`].
    #[track_caller]
    pub fn with_handler(handler: H) -> Server<H> {
        let slot: Rc<OnceCell<ConnHandler>> = Rc::new(OnceCell::new());
        let shared = slot.clone();
        let on_connection: ConnHandler = Box::new(move |stream, peer| match shared.get() {
            Some(serve) => serve(stream, peer),
            // Connections are accepted only after `start` has set it.
            None => Box::pin(async {}),
        });
        Server {
            inner: StreamServer::new(on_connection),
            slot,
            config: Config::default(),
            handler,
            workers: None,
            #[cfg(feature = "tls")]
            tls_config: None,
        }
    }

    /// [`bind`](Self::bind), with the spawn site given.
    pub(crate) async fn bind_at(
        addr: impl ToSocketAddrs,
        handler: H,
        at: &'static Location<'static>,
    ) -> io::Result<Server<H>> {
        let listener = TcpListener::bind(addr).await?;
        let mut server = Server::with_handler(handler).add_listener(listener);
        server.inner = server.inner.spawned_at(at);
        Ok(server)
    }

    /// Binds one more listener on `addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// If the address does not resolve or cannot be bound.
    pub async fn listen(mut self, addr: impl ToSocketAddrs) -> io::Result<Server<H>> {
        self.inner = self.inner.listen(addr).await?;
        Ok(self)
    }

    /// Serves one more, already bound, listener.
    pub fn add_listener(mut self, listener: TcpListener) -> Server<H> {
        self.inner = self.inner.add_listener(listener);
        self
    }

    /// The same server with its handler boxed ([`BoxHandler`]): its type
    /// is then `Server<BoxHandler>` whatever the handler, so a function
    /// that builds the app (routes, settings) can say what it returns, and
    /// `main` and the tests can share it. Settings made before stay.
    ///
    /// ```
    /// use sprout::http::{BoxHandler, Response, Server};
    ///
    /// /// Built once, used by `main` (on its port) and by the tests (on port 0).
    /// fn app() -> Server<BoxHandler> {
    ///     Server::new(|_req| async { Response::new("hello") }).keep_alive(false).boxed()
    /// }
    ///
    /// sprout::run(async {
    ///     let server = app().listen("127.0.0.1:0").await.unwrap();
    ///     let url = format!("http://{}/", server.local_addr().unwrap());
    ///     let handle = server.start();
    ///     let text = sprout::http::Client::new().get(&url).await.unwrap().text().await.unwrap();
    ///     assert_eq!(text, "hello");
    ///     handle.stop();
    /// });
    /// ```
    pub fn boxed(self) -> Server<BoxHandler> {
        Server {
            inner: self.inner,
            slot: self.slot,
            config: self.config,
            handler: BoxHandler::new(self.handler),
            workers: self.workers,
            #[cfg(feature = "tls")]
            tls_config: self.tls_config,
        }
    }

    /// Serves on `n` cores (0: one per CPU the process may use), each
    /// worker a runtime with its own `SO_REUSEPORT` listener on the same
    /// port (on Linux; elsewhere one shared listener) and its own
    /// connections: see [`StreamServer::workers`]. The
    /// default is 1: this runtime alone. Each worker runs its own clone of
    /// the handler (hence `H: Clone + Send`; the futures it returns need not
    /// be `Send`) with the same settings. The [`ServerHandle`] stops them
    /// all. An [`on_error`](Self::on_error) hook sees worker 0's
    /// connections only; the others report with the default hook. Worker
    /// `i` is core `i` of `n` for
    /// [`Core::current()`](sprout_runtime::cores::Core::current), on a thread
    /// named `sprout-server-{i}` (worker 0 is the runtime that starts the
    /// server).
    ///
    /// ```
    /// use sprout::http::Response;
    /// use sprout::http::{Client, Server};
    ///
    /// sprout::run(async {
    ///     let server = Server::bind("127.0.0.1:0", |_req| async {
    ///         let me = sprout::cores::Core::current().expect("a worker is a core");
    ///         Response::new(format!("hello from worker {} of {}", me.id(), me.count()))
    ///     })
    ///     .await
    ///     .unwrap()
    ///     .workers(2);
    ///     let url = format!("http://{}/", server.local_addr().unwrap());
    ///     let handle = server.start();
    ///     assert_eq!(handle.workers(), 2);
    ///     let text = Client::new().get(&url).await.unwrap().text().await.unwrap();
    ///     assert!(text.starts_with("hello from worker") && text.ends_with("of 2"), "{text}");
    ///     handle.stop_graceful(std::time::Duration::from_secs(1)).await;
    /// });
    /// ```
    pub fn workers(self, n: usize) -> Server<H>
    where
        H: Clone + Send,
    {
        // Behind a lock: the closure is shared by the workers' threads
        // (`Sync`) and a handler need only be `Send`.
        let handler = std::sync::Mutex::new(self.handler.clone());
        self.workers_with(n, move |_| handler.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// [`workers`](Self::workers) with state of each worker's own:
    /// `make(i)` builds worker `i`'s handler on worker `i`'s thread, inside
    /// its runtime, for `i` from 1 to `n - 1`, so the handler and what it
    /// captures (an `Rc` cache, a `RefCell`, a client bound to the
    /// worker's runtime) need be neither `Send` nor `Clone`: only `make`
    /// crosses threads. Worker 0 keeps the handler this server was made
    /// with: build it with the same function, `make(0)`, so every worker
    /// starts alike. See [`StreamServer::workers_with`].
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use sprout::http::{BoxHandler, Client, Response, Server};
    ///
    /// /// Worker `i`'s handler, with a hit counter of its own (`!Send`).
    /// fn counter(i: usize) -> BoxHandler {
    ///     let hits = Rc::new(Cell::new(0u64));
    ///     BoxHandler::from_fn(move |_req| {
    ///         hits.set(hits.get() + 1);
    ///         let text = format!("worker {i}: {} hits", hits.get());
    ///         async move { Response::new(text) }
    ///     })
    /// }
    ///
    /// sprout::run(async {
    ///     let server = Server::with_handler(counter(0)).listen("127.0.0.1:0").await.unwrap().workers_with(2, counter);
    ///     let url = format!("http://{}/", server.local_addr().unwrap());
    ///     let handle = server.start();
    ///     let text = Client::new().get(&url).await.unwrap().text().await.unwrap();
    ///     assert!(text.ends_with(": 1 hits"), "{text}");
    ///     handle.stop_graceful(std::time::Duration::from_secs(1)).await;
    /// });
    /// ```
    pub fn workers_with<M>(mut self, n: usize, make: M) -> Server<H>
    where
        M: Fn(usize) -> H + Send + Sync + 'static,
    {
        let start: StartWorkers = Box::new(move |config: WorkerConfig| {
            Box::new(move |worker: Worker| {
                let (max, at) = (worker.max_connections(), worker.spawned_at());
                let mut server = Server::with_handler(make(worker.id()));
                server.inner = server.inner.spawned_at(at);
                server.inner = server.inner.add_worker(worker);
                server.config = config.clone().into_config();
                if let Some(max) = max {
                    server = server.max_connections(max);
                }
                server.start()
            })
        });
        self.workers = Some((n, start));
        self
    }

    /// How the [workers](Self::workers) share the connections: by load
    /// (the default) or by the kernel's `SO_REUSEPORT` hash; see
    /// [`StreamServer::balance`].
    pub fn balance(mut self, balance: sprout_net::server::Balance) -> Server<H> {
        self.inner = self.inner.balance(balance);
        self
    }

    /// Serves at most `max` connections at once; more wait in the kernel's
    /// backlog (see [`StreamServer::max_connections`]).
    pub fn max_connections(mut self, max: usize) -> Server<H> {
        self.inner = self.inner.max_connections(max);
        self
    }

    /// How long a client may take to send a request's head, from its first
    /// byte (and a new connection, from its accept); `None` for no limit.
    /// Default 30 s. When it fires the connection is closed.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Server<H> {
        self.config.header_read_timeout = timeout;
        self
    }

    /// The largest request head accepted, in bytes: the request line and
    /// the headers (HTTP/1), or the header list (HTTP/2, which counts 32
    /// bytes more per header). A larger head is answered `431 Request
    /// Header Fields Too Large` and its connection closed, having cost at
    /// most this much memory. Default 16 KiB ([`limits::MAX_HEADER_SIZE`](crate::limits::MAX_HEADER_SIZE)).
    /// It bounds a chunked request body's trailers too. Whatever their
    /// size, at most 100 headers are accepted (hyper's fixed limit, also
    /// answered 431).
    pub fn max_header_size(mut self, bytes: usize) -> Server<H> {
        self.config.max_header_size = bytes;
        self
    }

    /// How long a keep-alive connection may wait for its next request;
    /// `None` for no limit. Default 60 s.
    pub fn keep_alive_timeout(mut self, timeout: Option<Duration>) -> Server<H> {
        self.config.keep_alive_timeout = timeout;
        self
    }

    /// Whether connections stay open between requests (default true).
    pub fn keep_alive(mut self, on: bool) -> Server<H> {
        self.config.keep_alive = on;
        self
    }

    /// How HTTP/1 responses go out: `false` (the default) copies the body
    /// behind the head and sends both with one `send`; `true` sends them
    /// with one `writev`, without the copy. The copy is cheaper for the
    /// small responses most servers send (a hello-world response costs 5%
    /// fewer instructions, see `docs/benchmarks-http.md`); `writev` saves
    /// copying for servers whose responses are mostly large (files, big
    /// JSON documents).
    pub fn writev(mut self, on: bool) -> Server<H> {
        self.config.writev = on;
        self
    }

    /// Whether to speak HTTP/2: to clients that start with its preface on
    /// cleartext ("prior knowledge"), and to TLS clients that offer `h2`.
    /// On by default when the `http2` feature is.
    #[cfg(feature = "http2")]
    pub fn http2(mut self, on: bool) -> Server<H> {
        self.config.http2 = on;
        self
    }

    /// Serves HTTPS: every connection starts with a TLS handshake (under
    /// the header-read timeout). A configuration without ALPN protocols
    /// gets `h2` (when HTTP/2 is on) and `http/1.1` at start. See
    /// [`crate::tls`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: impl Into<std::sync::Arc<futures_rustls::rustls::ServerConfig>>) -> Server<H> {
        self.tls_config = Some(config.into());
        self
    }

    /// Whether each request gets a `tracing` span (feature `tracing`; on
    /// by default with it): `request`, at DEBUG with target
    /// `sprout::http`, with the fields `method`, `path`, `version`, `peer`,
    /// and `status` and `latency_us` (microseconds until the handler
    /// answered) recorded at the end, when an event, `answered`, carries
    /// them too. The handler runs inside the span, and so does the error
    /// hook for a failed handler. A subscriber's filter decides whether
    /// spans are made (`sprout::http=debug`); turn them off here when
    /// another layer makes the request spans (tower-http's `TraceLayer`).
    /// See docs/debugging.md, "tracing".
    ///
    /// ```
    /// use hyper::Response;
    /// use sprout::http::Server;
    ///
    /// sprout::run(async {
    ///     let server = Server::bind("127.0.0.1:0", |_req| async { Response::new("hi") })
    ///         .await
    ///         .unwrap()
    ///         .trace_requests(false);
    ///     server.start().stop();
    /// });
    /// ```
    #[cfg(feature = "tracing")]
    pub fn trace_requests(mut self, on: bool) -> Server<H> {
        self.config.trace_requests = on;
        self
    }

    /// Calls `hook` for every error on a connection or in a handler,
    /// instead of the default, which prints one line on stderr for each
    /// error that is not the peer's doing ([`ServeError::is_peer`]); with
    /// the `tracing` feature, the default sends an event for each, the
    /// peer's at DEBUG (see `docs/debugging.md`, "tracing").
    pub fn on_error(mut self, hook: impl Fn(&ServeError) + 'static) -> Server<H> {
        self.config.on_error = Rc::new(hook);
        self
    }

    /// The listening address.
    ///
    /// # Errors
    /// If the system cannot report the listener's address (as
    /// [`StreamServer::local_addr`]).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// A handle to stop the server, available before it starts.
    pub fn handle(&self) -> ServerHandle {
        self.inner.handle()
    }

    /// Starts serving in the background and returns the handle: stop it
    /// with [`ServerHandle::stop`] or [`ServerHandle::stop_graceful`] (which
    /// lets requests in flight finish and closes idle connections at once).
    pub fn start(self) -> ServerHandle {
        self.set_up().start()
    }

    /// Serves until stopped (from a handler, a signal task...): gevent's
    /// `serve_forever()`. As [`StreamServer::serve_forever`]: after
    /// [`ServerHandle::stop_graceful`] it returns once the drain is over,
    /// so a program whose main future this is answers the requests in
    /// flight before it ends; dropping this future stops the server.
    pub async fn serve_forever(self) {
        self.set_up().serve_forever().await;
    }

    /// Hands the settings to the connections (and workers): what `start`
    /// and `serve_forever` do before the `StreamServer` starts.
    fn set_up(self) -> StreamServer<ConnHandler> {
        let handle = self.inner.handle();
        #[allow(unused_mut)]
        let mut config = self.config;
        #[cfg(feature = "tls")]
        if let Some(mut tls) = self.tls_config {
            if tls.alpn_protocols.is_empty() {
                // Offer what this server speaks: h2 first when it is on.
                let alpn = &mut std::sync::Arc::make_mut(&mut tls).alpn_protocols;
                if config.http2 {
                    alpn.push(b"h2".to_vec());
                }
                alpn.push(b"http/1.1".to_vec());
            }
            config.tls = Some(futures_rustls::TlsAcceptor::from(tls));
        }
        let mut inner = self.inner;
        if let Some((n, start)) = self.workers {
            let start = start(config.for_workers());
            inner = inner.workers_by(n, start);
        }
        let setup: SetupRef<H> = Rc::new(Setup { config, handler: self.handler, handle });
        let serve: ConnHandler = Box::new(move |stream, peer| Box::pin(conn::serve(stream, peer, setup.clone())));
        if self.slot.set(serve).is_err() {
            unreachable!("a server starts once: start takes self");
        }
        inner
    }
}

/// Serves `handler` on `addr` until stopped: the short form of
/// [`Server::bind`] and [`Server::serve_forever`].
///
/// ```no_run
/// use sprout::http::Response;
///
/// sprout::run(async {
///     sprout::http::serve("127.0.0.1:8080", |_req| async { Response::new("hello") }).await.unwrap();
/// });
/// ```
///
/// The line that calls it is the spawn site of the server's tasks.
///
/// # Errors
/// If the address cannot be bound.
#[track_caller]
pub fn serve<H, F>(addr: impl ToSocketAddrs, handler: H) -> impl Future<Output = io::Result<()>>
where
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    // Read here: `#[track_caller]` does not reach into an `async` body.
    let at = Location::caller();
    async move {
        Server::bind_at(addr, handler, at).await?.serve_forever().await;
        Ok(())
    }
}

/// Serves `handler` over HTTPS on `addr` until stopped: [`serve`] with
/// [`Server::tls`].
///
/// The line that calls it is the spawn site of the server's tasks.
///
/// # Errors
/// If the address cannot be bound.
#[cfg(feature = "tls")]
#[track_caller]
pub fn serve_tls<H, F>(
    addr: impl ToSocketAddrs,
    config: impl Into<std::sync::Arc<futures_rustls::rustls::ServerConfig>>,
    handler: H,
) -> impl Future<Output = io::Result<()>>
where
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    // Read here: `#[track_caller]` does not reach into an `async` body.
    let at = Location::caller();
    async move {
        Server::bind_at(addr, handler, at).await?.tls(config).serve_forever().await;
        Ok(())
    }
}
