//! tower services on sprout's [`Server`] (feature `tower`): an axum
//! `Router`, a service wrapped in tower-http's layers, any
//! `tower::Service<Request<Incoming>>`, with no tokio runtime.
//!
//! - [`serve_tower`]`(addr, app)` and [`Server::bind_tower`]`(addr, app)`:
//!   [`serve`](crate::serve) and [`Server::bind`] for a tower service.
//! - [`Tower`]: a service as a server [`Handler`]. Each request gets its own
//!   clone of the service, which is asked `poll_ready` before it is called,
//!   as hyper-util's `TowerToHyperService` does: a service that is not
//!   ready (a concurrency limit reached) makes that request wait, the
//!   connection's task with it, and no other.
//! - [`MakeTower`]: a make-service, called once per connection with the
//!   client's address, such as axum's
//!   `Router::into_make_service_with_connect_info::<SocketAddr>()`, which
//!   makes axum's `ConnectInfo<SocketAddr>` extractor work.
//! - [`RemoteAddr`]: the client's address, in every request's extensions
//!   (axum: `Extension<RemoteAddr>`); [`remote_addr`](crate::remote_addr)
//!   works in a service's futures too.
//! - [`TimeoutLayer`]: a request timeout on sprout's timer that answers
//!   `408 Request Timeout`, for tower-http's `TimeoutLayer`, which needs
//!   tokio's timer.
//!
//! ```
//! use axum::{Router, routing::get};
//! use sprout::http::{Client, Server};
//!
//! sprout::run(async {
//!     let app = Router::new().route("/", get(|| async { "hello from axum" }));
//!     let server = Server::bind_tower("127.0.0.1:0", app).await.unwrap();
//!     let url = format!("http://{}/", server.local_addr().unwrap());
//!     let handle = server.start();
//!     assert_eq!(Client::new().get(&url).await.unwrap().text().await.unwrap(), "hello from axum");
//!     handle.stop();
//! });
//! ```
//!
//! A service's futures run in the connection's green task, so they need
//! not be `Send`, nor the service (with one worker; several workers clone
//! it across threads, see [`Server::workers`]). A service's error answers
//! `500 Internal Server Error` and goes to the error hook, as a handler's
//! does; so does a panic.
//!
//! # tower-http's layers
//! Most of tower-http is runtime-neutral and works as it is: `Trace`,
//! `Compression` and `Decompression` (async-compression through tokio's
//! I/O *traits*, which need no runtime), `Cors`, `SetHeader`,
//! `RequestId`, `CatchPanic`, `Limit`, `NormalizePath`... Three parts use
//! tokio's runtime and panic on sprout without it: `TimeoutLayer`,
//! `RequestBodyTimeoutLayer` and `ResponseBodyTimeoutLayer` (tokio's
//! timer), `ServeDir` and `ServeFile` (`tokio::fs`, which runs on tokio's
//! blocking pool), and the metrics' `InFlightRequestsCounter::run_emitter`
//! (a tokio interval). For a request timeout, use [`TimeoutLayer`] from
//! here; for the others, wrap the service in `sprout::compat`'s bridge
//! (feature `tokio` of the `sprout` crate: `app.compat()`, or its
//! `TokioLayer` outermost), which polls it inside a tokio context.

mod call;
mod timeout;

use std::future::{Future, Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use sprout_net::ToSocketAddrs;
use tower_service::Service;

use crate::body::BoxError;
use crate::server::Server;
use crate::server::handler::{Handler, sealed::Sealed};
use call::Oneshot;
pub use call::TowerCall;
pub use timeout::{Timeout, TimeoutFuture, TimeoutLayer};

/// The client's address, which the server puts in the extensions of every
/// request it hands a tower service ([`Tower`], [`MakeTower`]). In axum:
/// `Extension(RemoteAddr(peer)): Extension<RemoteAddr>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemoteAddr(pub SocketAddr);

/// A tower service as a server [`Handler`]: see the [module docs](self).
/// Usually made for you by [`Server::bind_tower`] or [`serve_tower`].
///
/// `Clone` and `Send` when the service is, so [`Server::workers`] runs
/// one clone per worker.
#[derive(Clone, Debug)]
pub struct Tower<S> {
    service: S,
}

impl<S> Tower<S> {
    /// Wraps `service`.
    pub fn new(service: S) -> Tower<S> {
        Tower { service }
    }

    /// The service.
    pub fn into_inner(self) -> S {
        self.service
    }
}

impl<S, B> Sealed for Tower<S>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + 'static,
    S::Error: Into<BoxError>,
    S::Future: 'static,
    B: hyper::body::Body + 'static,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    /// The client's address.
    type Conn = SocketAddr;
    type Connect = Ready<Result<SocketAddr, BoxError>>;
    type Future = TowerCall<S>;

    fn connect(&self, peer: SocketAddr) -> Self::Connect {
        ready(Ok(peer))
    }

    fn call(&self, peer: &SocketAddr, mut req: Request<Incoming>) -> TowerCall<S> {
        req.extensions_mut().insert(RemoteAddr(*peer));
        // A clone per request: its `poll_ready` reservation is this
        // request's alone, even when HTTP/2 runs several at once.
        TowerCall::new(self.service.clone(), req)
    }
}

/// A tower *make-service* as a server [`Handler`]: for each connection,
/// once ready, it is called with the client's address and returns that
/// connection's service, which then serves the connection's requests as
/// [`Tower`] does (a clone per request, `poll_ready` first). A
/// make-service that fails or panics closes the connection before its
/// first request; the error hook hears of it.
///
/// axum's `ConnectInfo<SocketAddr>` extractor needs one (and axum's
/// `tokio` feature, which compiles tokio but runs none of it here):
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{Router, extract::ConnectInfo, routing::get};
/// use sprout::http::{Client, MakeTower, Server};
///
/// async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
///     peer.ip().to_string()
/// }
///
/// sprout::run(async {
///     let app = Router::new().route("/", get(whoami));
///     let make = MakeTower::new(app.into_make_service_with_connect_info::<SocketAddr>());
///     let server = Server::bind_tower("127.0.0.1:0", make).await.unwrap();
///     let url = format!("http://{}/", server.local_addr().unwrap());
///     let handle = server.start();
///     assert_eq!(Client::new().get(&url).await.unwrap().text().await.unwrap(), "127.0.0.1");
///     handle.stop();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct MakeTower<M> {
    make: M,
}

impl<M> MakeTower<M> {
    /// Wraps `make`, a `Service<SocketAddr>` whose response is a service.
    pub fn new(make: M) -> MakeTower<M> {
        MakeTower { make }
    }

    /// The make-service.
    pub fn into_inner(self) -> M {
        self.make
    }
}

impl<M> Sealed for MakeTower<M>
where
    M: Service<SocketAddr> + Clone + 'static,
    M::Error: Into<BoxError>,
    M::Future: 'static,
    M::Response: 'static,
    // The connection's service serves its requests as a `Tower`.
    Tower<M::Response>: Sealed<Conn = SocketAddr>,
{
    /// The connection's service and the client's address.
    type Conn = (Tower<M::Response>, SocketAddr);
    type Connect = MakeCall<M>;
    type Future = <Tower<M::Response> as Sealed>::Future;

    fn connect(&self, peer: SocketAddr) -> MakeCall<M> {
        MakeCall { call: Oneshot::new(self.make.clone(), peer), peer }
    }

    fn call(&self, (service, peer): &(Tower<M::Response>, SocketAddr), req: Request<Incoming>) -> Self::Future {
        service.call(peer, req)
    }
}

pin_project_lite::pin_project! {
    /// [`MakeTower`]'s per-connection step: the make-service's call.
    pub struct MakeCall<M: Service<SocketAddr>> {
        #[pin]
        call: Oneshot<M, SocketAddr>,
        peer: SocketAddr,
    }
}

impl<M> Future for MakeCall<M>
where
    M: Service<SocketAddr>,
    M::Error: Into<BoxError>,
{
    type Output = Result<(Tower<M::Response>, SocketAddr), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let peer = *this.peer;
        this.call.poll(cx).map(|made| made.map(|service| (Tower::new(service), peer)).map_err(Into::into))
    }
}

/// What [`Server::bind_tower`] and [`serve_tower`] take: a tower service of
/// `Request<Incoming>` (an axum `Router`, a `ServiceBuilder` stack), made
/// a [`Tower`]; or a [`MakeTower`].
pub trait IntoTower {
    /// The server handler it becomes.
    type Handler: Handler;

    /// Makes the handler.
    fn into_handler(self) -> Self::Handler;
}

impl<S> IntoTower for S
where
    S: Service<Request<Incoming>>,
    Tower<S>: Handler,
{
    type Handler = Tower<S>;

    fn into_handler(self) -> Tower<S> {
        Tower::new(self)
    }
}

impl<M> IntoTower for MakeTower<M>
where
    MakeTower<M>: Handler,
{
    type Handler = MakeTower<M>;

    fn into_handler(self) -> MakeTower<M> {
        self
    }
}

impl<H: Handler> Server<H> {
    /// A server for a tower service on `addr` (port 0 picks a free port):
    /// [`bind`](Self::bind) for an axum `Router` or any
    /// `tower::Service<Request<Incoming>>` (see [`IntoTower`]). The line
    /// that calls it is the spawn site of the server's tasks.
    ///
    /// # Errors
    /// If the address does not resolve or cannot be bound.
    #[track_caller]
    pub fn bind_tower<T>(addr: impl ToSocketAddrs, app: T) -> impl Future<Output = io::Result<Server<H>>>
    where
        T: IntoTower<Handler = H>,
    {
        // Read here: `#[track_caller]` does not reach into an `async` body.
        Server::bind_at(addr, app.into_handler(), Location::caller())
    }
}

/// Serves a tower service (an axum `Router`...) on `addr` until stopped:
/// [`serve`](crate::serve) for tower, the short form of
/// [`Server::bind_tower`] and [`Server::serve_forever`].
///
/// ```no_run
/// use axum::{Router, routing::get};
///
/// sprout::run(async {
///     let app = Router::new().route("/", get(|| async { "hello" }));
///     sprout::http::serve_tower("127.0.0.1:3000", app).await.unwrap();
/// });
/// ```
///
/// The line that calls it is the spawn site of the server's tasks.
///
/// # Errors
/// If the address cannot be bound.
#[track_caller]
pub fn serve_tower<T: IntoTower>(addr: impl ToSocketAddrs, app: T) -> impl Future<Output = io::Result<()>> {
    // Read here: `#[track_caller]` does not reach into an `async` body.
    let at = Location::caller();
    async move {
        Server::bind_at(addr, app.into_handler(), at).await?.serve_forever().await;
        Ok(())
    }
}
