//! One call of a tower service: wait until it is ready, call it once
//! ([`Oneshot`]); for a request, turn the response's body into sprout's
//! ([`TowerCall`]).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tower_service::Service;

use crate::body::{Body, BoxError};

pin_project_lite::pin_project! {
    /// Calls a service once: `poll_ready` until it is ready, then `call`
    /// (tower's `Oneshot`, without the rest of tower). The service is
    /// dropped once called, and with it any capacity it held in reserve.
    #[project = OneshotProj]
    pub(crate) enum Oneshot<S: Service<R>, R> {
        /// Waiting for the service to be ready.
        NotReady { service: S, request: Option<R> },
        /// Called: the service's future.
        Called { #[pin] future: S::Future },
        /// Done: the output has been returned.
        Done,
    }
}

impl<S: Service<R>, R> Oneshot<S, R> {
    /// Calls `service` with `request` once it is ready.
    pub(crate) fn new(service: S, request: R) -> Oneshot<S, R> {
        Oneshot::NotReady { service, request: Some(request) }
    }
}

impl<S: Service<R>, R> Future for Oneshot<S, R> {
    type Output = Result<S::Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                OneshotProj::NotReady { service, request } => {
                    // Backpressure: until the service is ready, this
                    // request waits (its waker is the service's to wake).
                    ready!(service.poll_ready(cx))?;
                    let Some(request) = request.take() else { unreachable!("taken only here, then Called") };
                    let future = service.call(request);
                    self.set(Oneshot::Called { future });
                }
                OneshotProj::Called { future } => {
                    let output = ready!(future.poll(cx));
                    self.set(Oneshot::Done);
                    return Poll::Ready(output);
                }
                OneshotProj::Done => panic!("a tower call was polled after it completed"),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// One request to a tower service ([`Tower`](super::Tower),
    /// [`MakeTower`](super::MakeTower)): the call, and its response with
    /// sprout's [`Body`].
    pub struct TowerCall<S: Service<Request<Incoming>>> {
        #[pin]
        call: Oneshot<S, Request<Incoming>>,
    }
}

impl<S: Service<Request<Incoming>>> TowerCall<S> {
    pub(super) fn new(service: S, request: Request<Incoming>) -> TowerCall<S> {
        TowerCall { call: Oneshot::new(service, request) }
    }
}

impl<S, B> Future for TowerCall<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + 'static,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().call.poll(cx).map(|out| out.map(|response| response.map(into_body)).map_err(Into::into))
    }
}

/// `body` as sprout's [`Body`]: as it is if it is one (a service of
/// sprout's own, no box), an incoming body passed on, else wrapped.
fn into_body<B>(body: B) -> Body
where
    B: hyper::body::Body + 'static,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    let mut slot = Some(body);
    let any: &mut dyn Any = &mut slot;
    if let Some(body) = any.downcast_mut::<Option<Body>>().and_then(Option::take) {
        return body;
    }
    if let Some(incoming) = any.downcast_mut::<Option<Incoming>>().and_then(Option::take) {
        return Body::from(incoming);
    }
    match slot {
        Some(body) => Body::wrap(body),
        None => unreachable!("taken only by a matching downcast, which returned"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::convert::Infallible;
    use std::rc::Rc;

    /// A service that is ready on its `ready_after`-th `poll_ready` and
    /// counts its calls.
    #[derive(Clone)]
    struct Gate {
        polls: Rc<Cell<u32>>,
        calls: Rc<Cell<u32>>,
        ready_after: u32,
    }

    impl Service<u32> for Gate {
        type Response = u32;
        type Error = Infallible;
        type Future = std::future::Ready<Result<u32, Infallible>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.polls.set(self.polls.get() + 1);
            if self.polls.get() < self.ready_after {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, n: u32) -> Self::Future {
            self.calls.set(self.calls.get() + 1);
            std::future::ready(Ok(n * 2))
        }
    }

    #[test]
    fn a_oneshot_calls_only_once_the_service_is_ready() {
        let (polls, calls) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let gate = Gate { polls: polls.clone(), calls: calls.clone(), ready_after: 3 };
        let mut call = std::pin::pin!(Oneshot::new(gate, 21));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(call.as_mut().poll(&mut cx).is_pending());
        assert!(call.as_mut().poll(&mut cx).is_pending());
        assert_eq!(calls.get(), 0, "not called before it is ready");
        assert_eq!(call.as_mut().poll(&mut cx), Poll::Ready(Ok(42)));
        assert_eq!((polls.get(), calls.get()), (3, 1));
    }

    #[test]
    fn a_body_of_sprouts_own_is_not_wrapped() {
        assert!(!into_body(Body::from("whole")).is_streamed());
        let wrapped = into_body(http_body_util::Full::new(Bytes::from("other")));
        assert!(wrapped.is_streamed());
    }
}
