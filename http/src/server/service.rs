//! The handler as a hyper `Service`: 500 on an error or a panic, and the
//! connection's clock told when a request starts and when its response
//! has been sent.
//!
//! A streamed response body is user code too: see [`guard`](super::guard).

use std::any::Any;
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};

use super::clock::Clock;
use super::framing::BodyLen;
use super::trace::RequestSpan;
use super::{ErrorKind, Handler, IntoResponse, ServeError, SetupRef, guard};
use crate::body::{Body, BoxError};

thread_local! {
    /// The peer of the request whose handler is running (see `remote_addr`).
    static PEER: Cell<Option<SocketAddr>> = const { Cell::new(None) };
}

/// The address of the client whose request is being handled: WSGI's
/// `REMOTE_ADDR`. Call it from the handler (its `async` body included);
/// `None` elsewhere, such as in a task the handler spawned.
///
/// ```
/// use sprout::http::{Body, Response, Server, remote_addr};
///
/// sprout::run(async {
///     let server = Server::bind("127.0.0.1:0", |_req| async {
///         let peer = remote_addr().expect("inside a handler");
///         Response::new(Body::from(peer.ip().to_string()))
///     })
///     .await
///     .unwrap();
///     let url = format!("http://{}/", server.local_addr().unwrap());
///     let server = server.start();
///     let resp = sprout::http::Client::new().get(&url).await.unwrap();
///     assert_eq!(resp.text().await.unwrap(), "127.0.0.1");
///     server.stop();
/// });
/// ```
pub fn remote_addr() -> Option<SocketAddr> {
    PEER.with(Cell::get)
}

/// Runs `f` with `peer` as the current [`remote_addr`]: a copy into a
/// thread-local and back, per poll of a handler.
#[inline]
pub(super) fn with_peer<R>(peer: SocketAddr, f: impl FnOnce() -> R) -> R {
    let outer = PEER.with(|p| p.replace(Some(peer)));
    let result = f();
    PEER.with(|p| p.set(outer));
    result
}

/// Runs `f` as the handler's code runs: with its peer as [`remote_addr`]
/// and its server as `sprout::net::server::current()` (for HTTP/2, whose
/// streams run in tasks of their own, outside the connection task's poll).
#[inline]
fn with_context<H, R>(setup: &SetupRef<H>, peer: SocketAddr, f: impl FnOnce() -> R) -> R {
    sprout_net::server::with_current(&setup.handle, || with_peer(peer, f))
}

/// The handler, per connection.
pub(crate) struct Svc<H: Handler> {
    setup: SetupRef<H>,
    /// What the handler made for this connection (`Handler::connect`).
    conn: H::Conn,
    clock: Rc<Clock>,
    peer: SocketAddr,
}

impl<H: Handler> Svc<H> {
    pub(crate) fn new(setup: SetupRef<H>, conn: H::Conn, clock: Rc<Clock>, peer: SocketAddr) -> Svc<H> {
        Svc { setup, conn, clock, peer }
    }
}

impl<H: Handler> hyper::service::Service<Request<Incoming>> for Svc<H> {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Call<H::Future, H>;

    #[inline]
    fn call(&self, req: Request<Incoming>) -> Call<H::Future, H> {
        self.clock.request_started(body_len(&req));
        let span = RequestSpan::open(self.setup.config.traces_requests(), &req, self.peer);
        // A handler that panics before returning its future answers 500 too.
        let made = span.in_scope(|| {
            with_context(&self.setup, self.peer, || {
                catch_unwind(AssertUnwindSafe(|| self.setup.handler.call(&self.conn, req)))
            })
        });
        let (future, early_panic) = match made {
            Ok(future) => (Some(future), None),
            Err(panic) => (None, Some(panic_message("the handler", &*panic))),
        };
        Call { future, early_panic, clock: Some(self.clock.clone()), setup: self.setup.clone(), peer: self.peer, span }
    }
}

/// How hyper framed the request's body: its size hint is exact for a
/// `Content-Length` (0 for none) and open for a chunked body.
#[inline]
fn body_len(req: &Request<Incoming>) -> BodyLen {
    use hyper::body::Body as _;
    match req.body().size_hint().exact() {
        Some(n) => BodyLen::Length(n),
        None => BodyLen::Chunked,
    }
}

pin_project_lite::pin_project! {
    /// One request's handler future. Dropped unfinished (the connection
    /// died), it still tells the clock the request is over.
    pub(crate) struct Call<F, H> {
        #[pin]
        future: Option<F>,
        // The panic of a handler that did not even return its future.
        early_panic: Option<String>,
        clock: Option<Rc<Clock>>,
        setup: SetupRef<H>,
        peer: SocketAddr,
        // The request's span (feature `tracing`; empty without it).
        span: RequestSpan,
    }

    impl<F, H> PinnedDrop for Call<F, H> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(clock) = this.project().clock.take() {
                clock.response_done();
            }
        }
    }
}

impl<F, H> Future for Call<F, H>
where
    F: Future,
    F::Output: IntoResponse,
{
    type Output = Result<Response<Tracked>, Infallible>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (future, early_panic, setup, peer) = (this.future, this.early_panic, &*this.setup, *this.peer);
        // Inside the request's span (feature `tracing`), the error hook too.
        let response = match this.span.in_scope(|| poll_handler(future, early_panic, setup, peer, cx)) {
            Poll::Ready(response) => response,
            Poll::Pending => return Poll::Pending,
        };
        this.span.answered(response.status());
        let clock = this.clock.take();
        Poll::Ready(Ok(response.map(|body| Tracked { body, clock })))
    }
}

/// Polls a request's handler (`future`, or the panic of a handler that
/// did not return one); once it is done, its response, or 500 for an
/// error or a panic, which go to the error hook. Not polled again after:
/// hyper drops a finished service future.
#[inline(always)]
fn poll_handler<F, H>(
    future: Pin<&mut Option<F>>,
    early_panic: &mut Option<String>,
    setup: &SetupRef<H>,
    peer: SocketAddr,
    cx: &mut Context<'_>,
) -> Poll<Response<Body>>
where
    F: Future,
    F::Output: IntoResponse,
{
    let mut outcome = match future.as_pin_mut() {
        Some(future) => match with_context(setup, peer, || catch_unwind(AssertUnwindSafe(|| future.poll(cx)))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => match output.into_response() {
                Ok(response) => Ok(response),
                Err(e) => Err(ServeError::new(peer, ErrorKind::Handler, e)),
            },
            Err(panic) => Err(ServeError::new(peer, ErrorKind::Panic, panic_message("the handler", &*panic))),
        },
        None => {
            let message = early_panic.take().unwrap_or_else(|| "polled after completion".into());
            Err(ServeError::new(peer, ErrorKind::Panic, message))
        }
    };
    let on_error = &setup.config.on_error;
    // In place: a response is large, and moving it costs a copy.
    if let Ok(response) = &mut outcome
        && response.body().is_streamed()
        && let Err(error) = guard::guard(response.body_mut(), cx, on_error, peer)
    {
        outcome = Err(error);
    }
    Poll::Ready(outcome.unwrap_or_else(|error| {
        on_error(&error);
        internal_error()
    }))
}

/// `500 Internal Server Error`, as the answer to a failed handler.
fn internal_error() -> Response<Body> {
    let mut response = Response::new(Body::from("Internal Server Error\n"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// A panic's message, for the report: `who` panicked.
pub(super) fn panic_message(who: &str, panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    format!("{who} panicked: {message}")
}

/// A response body that tells the connection's clock when it is gone
/// (sent in full, or abandoned).
pub(crate) struct Tracked {
    body: Body,
    clock: Option<Rc<Clock>>,
}

impl Drop for Tracked {
    #[inline]
    fn drop(&mut self) {
        if let Some(clock) = self.clock.take() {
            clock.response_done();
        }
    }
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
