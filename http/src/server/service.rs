//! The handler as a hyper `Service`: 500 on an error or a panic, and the
//! connection's clock told when a request starts and when its response
//! has been sent.
//!
//! A streamed response body is user code too, polled by hyper after the
//! handler returned. Its first frame is polled here, before hyper sees the
//! response: a panic (or an error) there answers 500 like a handler's,
//! since nothing has been sent. Once hyper has the response it writes the
//! head before it polls the body again, so a later panic can only end the
//! connection: `Tracked` catches it, reports it as a `Panic`, and hands
//! hyper an error, which aborts the response (the client sees a truncated
//! body, never a complete-looking one).

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
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};

use super::clock::Clock;
use super::framing::BodyLen;
use super::{ErrorKind, IntoResponse, OnError, ServeError, SetupRef};
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
/// use sprout_http::{Body, Response, Server, remote_addr};
///
/// sprout_runtime::run(async {
///     let server = Server::bind("127.0.0.1:0", |_req| async {
///         let peer = remote_addr().expect("inside a handler");
///         Response::new(Body::from(peer.ip().to_string()))
///     })
///     .await
///     .unwrap();
///     let url = format!("http://{}/", server.local_addr().unwrap());
///     let server = server.start();
///     let resp = sprout_http::Client::new().get(&url).await.unwrap();
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
fn with_peer<R>(peer: SocketAddr, f: impl FnOnce() -> R) -> R {
    let outer = PEER.with(|p| p.replace(Some(peer)));
    let result = f();
    PEER.with(|p| p.set(outer));
    result
}

/// The handler, per connection.
pub(crate) struct Svc<H> {
    setup: SetupRef<H>,
    clock: Rc<Clock>,
    peer: SocketAddr,
}

impl<H> Svc<H> {
    pub(crate) fn new(setup: SetupRef<H>, clock: Rc<Clock>, peer: SocketAddr) -> Svc<H> {
        Svc { setup, clock, peer }
    }
}

impl<H, F> hyper::service::Service<Request<Incoming>> for Svc<H>
where
    H: Fn(Request<Incoming>) -> F,
    F: Future,
    F::Output: IntoResponse,
{
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Call<F, H>;

    #[inline]
    fn call(&self, req: Request<Incoming>) -> Call<F, H> {
        self.clock.request_started(body_len(&req));
        // A handler that panics before returning its future answers 500 too.
        let (future, early_panic) =
            match with_peer(self.peer, || catch_unwind(AssertUnwindSafe(|| (self.setup.handler)(req)))) {
                Ok(future) => (Some(future), None),
                Err(panic) => (None, Some(panic_message("the handler", &*panic))),
            };
        Call { future, early_panic, clock: Some(self.clock.clone()), setup: self.setup.clone(), peer: self.peer }
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
        let outcome = match this.future.as_pin_mut() {
            Some(future) => match with_peer(*this.peer, || catch_unwind(AssertUnwindSafe(|| future.poll(cx)))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(output)) => match output.into_response() {
                    Ok(response) => Ok(response),
                    Err(e) => Err(ServeError::new(*this.peer, ErrorKind::Handler, e)),
                },
                Err(panic) => Err(ServeError::new(*this.peer, ErrorKind::Panic, panic_message("the handler", &*panic))),
            },
            None => {
                let message = this.early_panic.take().unwrap_or_else(|| "polled after completion".into());
                Err(ServeError::new(*this.peer, ErrorKind::Panic, message))
            }
        };
        let on_error = &this.setup.config.on_error;
        let response = outcome.and_then(|response| first_frame(response, cx, on_error, *this.peer));
        // Not polled again: hyper drops a finished service future.
        let (response, streamed) = response.unwrap_or_else(|error| {
            on_error(&error);
            (internal_error(), None)
        });
        let clock = this.clock.take();
        Poll::Ready(Ok(response.map(|body| Tracked { body, clock, streamed })))
    }
}

/// A response and, for a streamed body, what `Tracked` keeps of it.
type Prepared = (Response<Body>, Option<Box<Streamed>>);

/// Polls a streamed body's first frame, before hyper sees the response:
/// a panic or an error there is the handler's failure (answered 500).
fn first_frame(
    mut response: Response<Body>,
    cx: &mut Context<'_>,
    on_error: &OnError,
    peer: SocketAddr,
) -> Result<Prepared, ServeError> {
    if !response.body().is_streamed() {
        return Ok((response, None));
    }
    let mut streamed = Streamed { first: None, ended: false, on_error: on_error.clone(), peer };
    match catch_unwind(AssertUnwindSafe(|| Pin::new(response.body_mut()).poll_frame(cx))) {
        Err(panic) => return Err(ServeError::new(peer, ErrorKind::Panic, panic_message("the response body", &*panic))),
        Ok(Poll::Ready(Some(Err(e)))) => return Err(ServeError::new(peer, ErrorKind::Other, e)),
        Ok(Poll::Ready(Some(Ok(frame)))) => streamed.first = Some(frame),
        Ok(Poll::Ready(None)) => streamed.ended = true,
        Ok(Poll::Pending) => {}
    }
    Ok((response, Some(Box::new(streamed))))
}

/// `500 Internal Server Error`, as the answer to a failed handler.
fn internal_error() -> Response<Body> {
    let mut response = Response::new(Body::from("Internal Server Error\n"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// A panic's message, for the report: `who` panicked.
fn panic_message(who: &str, panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    format!("{who} panicked: {message}")
}

/// A response body that tells the connection's clock when it is gone
/// (sent in full, or abandoned), and keeps a streamed body's panics from
/// unwinding through hyper.
pub(crate) struct Tracked {
    body: Body,
    clock: Option<Rc<Clock>>,
    /// For a streamed body only: whole ones cannot panic.
    streamed: Option<Box<Streamed>>,
}

/// What `Tracked` keeps for a streamed body.
struct Streamed {
    /// The frame `first_frame` polled, to hand hyper first.
    first: Option<Frame<Bytes>>,
    /// The body ended (or panicked): never poll it again.
    ended: bool,
    on_error: OnError,
    peer: SocketAddr,
}

impl Streamed {
    #[inline]
    fn poll_frame(&mut self, body: &mut Body, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        match catch_unwind(AssertUnwindSafe(|| Pin::new(body).poll_frame(cx))) {
            Ok(poll) => {
                if let Poll::Ready(None) = poll {
                    self.ended = true;
                }
                poll
            }
            Err(panic) => {
                // The head is out: ending the connection is all that is left.
                self.ended = true;
                let message = panic_message("the response body", &*panic);
                (self.on_error)(&ServeError::new(self.peer, ErrorKind::Panic, message.clone()));
                Poll::Ready(Some(Err(message.into())))
            }
        }
    }

    fn size_hint(&self, body: &Body) -> SizeHint {
        let hint = if self.ended { SizeHint::with_exact(0) } else { body.size_hint() };
        let first = self.first.as_ref().and_then(Frame::data_ref).map_or(0, |data| data.len() as u64);
        let mut sum = SizeHint::new();
        if let Some(upper) = hint.upper() {
            sum.set_upper(upper.saturating_add(first));
        }
        sum.set_lower(hint.lower().saturating_add(first));
        sum
    }
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
        let this = self.get_mut();
        match &mut this.streamed {
            None => Pin::new(&mut this.body).poll_frame(cx),
            Some(streamed) => streamed.poll_frame(&mut this.body, cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.streamed {
            None => self.body.is_end_stream(),
            Some(streamed) => streamed.first.is_none() && (streamed.ended || self.body.is_end_stream()),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.streamed {
            None => self.body.size_hint(),
            Some(streamed) => streamed.size_hint(&self.body),
        }
    }
}
