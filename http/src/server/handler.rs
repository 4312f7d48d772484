//! [`Handler`]: what a [`Server`](super::Server) calls for each request,
//! and [`BoxHandler`], any handler behind one nameable type.
//!
//! A handler has two steps (its sealed supertrait's): once per connection
//! (`connect`, where a tower make-service builds the connection's
//! service) and once per request (`call`). A closure has nothing to do per
//! connection: its `connect` is a ready `()`, and the server's
//! per-request path is the closure's call, statically dispatched.

use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;

use hyper::body::Incoming;
use hyper::{Request, Response};

use super::IntoResponse;
use crate::body::{Body, BoxError};

pub(crate) mod sealed {
    use std::future::Future;
    use std::net::SocketAddr;

    use hyper::Request;
    use hyper::body::Incoming;

    use super::IntoResponse;
    use crate::body::BoxError;

    /// A [`Handler`](super::Handler)'s two steps, in a supertrait users
    /// cannot name: they are the server's business and may change, and so
    /// are not API (nor implementable outside this crate).
    pub trait Sealed: 'static {
        /// What the handler keeps for one connection: `()` for a closure, the
        /// connection's service for a make-service.
        type Conn: 'static;
        /// The per-connection step's future.
        type Connect: Future<Output = Result<Self::Conn, BoxError>> + 'static;
        /// One request's future.
        type Future: Future<Output: IntoResponse> + 'static;

        /// Called once per connection, with the client's address, before its
        /// first request is read.
        fn connect(&self, peer: SocketAddr) -> Self::Connect;

        /// Called for each request of the connection `conn` was made for.
        fn call(&self, conn: &Self::Conn, req: Request<Incoming>) -> Self::Future;
    }
}

/// What a [`Server`](super::Server) runs for each request. Implemented
/// for:
///
/// - closures and functions `Fn(Request<Incoming>) -> impl Future`, whose
///   output is a [`Response`] or a `Result` ([`IntoResponse`]): what
///   [`Server::bind`](super::Server::bind) takes;
/// - tower services, through `Tower` and `MakeTower` (feature `tower`):
///   what `Server::bind_tower` takes;
/// - [`BoxHandler`]: any of them behind one type, to name a server's type
///   (`Server<BoxHandler>`) in a function's signature.
///
/// It is sealed: its methods are the server's business.
pub trait Handler: sealed::Sealed {}

impl<H: sealed::Sealed> Handler for H {}

impl<H, F> sealed::Sealed for H
where
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    type Conn = ();
    type Connect = Ready<Result<(), BoxError>>;
    type Future = F;

    #[inline]
    fn connect(&self, _peer: SocketAddr) -> Self::Connect {
        ready(Ok(()))
    }

    #[inline]
    fn call(&self, _conn: &(), req: Request<Incoming>) -> F {
        self(req)
    }
}

/// A boxed future, as a [`BoxHandler`] returns them.
type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// Any [`Handler`] behind one type: a closure, a tower service, a
/// `BoxHandler` itself. With it a server's type can be written down,
/// `Server<BoxHandler>`, so one function can build the server (its
/// routes and settings) for `main` and for the tests alike; see
/// [`Server::boxed`](super::Server::boxed).
///
/// It costs an allocation per request (its future, boxed) and two per
/// connection (the connection's part of the handler, and the future that
/// makes it). It is neither
/// `Send` nor `Clone` (the handler it holds need not be): to run one on
/// several workers, build one per worker with
/// [`Server::workers_with`](super::Server::workers_with).
///
/// ```
/// use sprout::http::{BoxHandler, Client, Request, Incoming, Response, Server};
///
/// /// The app, shared by `main` and the tests: its routes and settings.
/// fn app() -> Server<BoxHandler> {
///     Server::new(|req: Request<Incoming>| async move { Response::new(format!("you asked for {}", req.uri().path())) })
///         .keep_alive_timeout(Some(std::time::Duration::from_secs(5)))
///         .boxed()
/// }
///
/// sprout::run(async {
///     let server = app().listen("127.0.0.1:0").await.unwrap();
///     let url = format!("http://{}/hi", server.local_addr().unwrap());
///     let handle = server.start();
///     assert_eq!(Client::new().get(&url).await.unwrap().text().await.unwrap(), "you asked for /hi");
///     handle.stop();
/// });
/// ```
pub struct BoxHandler(Rc<dyn Erased>);

impl BoxHandler {
    /// Boxes `handler`.
    pub fn new(handler: impl Handler) -> BoxHandler {
        BoxHandler(Rc::new(handler))
    }

    /// Boxes a closure handler (as [`Server::bind`](super::Server::bind)
    /// takes them), with the closure's argument type known to the compiler.
    pub fn from_fn<H, F>(handler: H) -> BoxHandler
    where
        H: Fn(Request<Incoming>) -> F + 'static,
        F: Future + 'static,
        F::Output: IntoResponse,
    {
        BoxHandler::new(handler)
    }
}

impl std::fmt::Debug for BoxHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxHandler")
    }
}

/// A handler with its types erased: the per-connection step, which keeps
/// the handler (an `Rc`) for the connection's requests.
trait Erased {
    fn connect(self: Rc<Self>, peer: SocketAddr) -> Boxed<Result<Box<dyn ErasedConn>, BoxError>>;
}

/// One connection's part of an erased handler.
#[doc(hidden)]
pub trait ErasedConn {
    fn call(&self, req: Request<Incoming>) -> Boxed<Result<Response<Body>, BoxError>>;
}

impl<H: Handler> Erased for H {
    fn connect(self: Rc<Self>, peer: SocketAddr) -> Boxed<Result<Box<dyn ErasedConn>, BoxError>> {
        let connect = sealed::Sealed::connect(&*self, peer);
        Box::pin(async move {
            let conn = connect.await?;
            Ok(Box::new(Bound { handler: self, conn }) as Box<dyn ErasedConn>)
        })
    }
}

/// A handler and what it made for one connection.
struct Bound<H: Handler> {
    handler: Rc<H>,
    conn: H::Conn,
}

impl<H: Handler> ErasedConn for Bound<H> {
    fn call(&self, req: Request<Incoming>) -> Boxed<Result<Response<Body>, BoxError>> {
        let future = self.handler.call(&self.conn, req);
        Box::pin(async move { future.await.into_response() })
    }
}

impl sealed::Sealed for BoxHandler {
    type Conn = Box<dyn ErasedConn>;
    type Connect = Boxed<Result<Box<dyn ErasedConn>, BoxError>>;
    type Future = Boxed<Result<Response<Body>, BoxError>>;

    fn connect(&self, peer: SocketAddr) -> Self::Connect {
        self.0.clone().connect(peer)
    }

    fn call(&self, conn: &Box<dyn ErasedConn>, req: Request<Incoming>) -> Self::Future {
        conn.call(req)
    }
}
