//! [`TimeoutLayer`]: tower-http's request timeout, on sprout's timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::{Request, Response, StatusCode};
use sprout_runtime::Sleep;
use tower_layer::Layer;
use tower_service::Service;

/// A tower layer that gives each request `timeout` to be answered, on
/// sprout's timer: past it, the inner service's future is dropped and the
/// client gets `408 Request Timeout` (or the status of
/// [`with_status_code`](Self::with_status_code)) with an empty body. It
/// is tower-http's `TimeoutLayer` without tokio: tower-http's creates a
/// `tokio::time::Sleep` for every request and so panics on a sprout
/// server (unless the service runs under `sprout::compat`'s bridge).
///
/// The clock starts when the service is called, after `poll_ready`, and
/// stops when the response's head is ready: a streamed body may take
/// longer. It follows the runtime's clock, so paused (virtual) time
/// moves it too.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use sprout::http::{Client, Server, StatusCode, TimeoutLayer};
///
/// sprout::run(async {
///     let app = Router::new()
///         .route("/slow", get(|| async { sprout::sleep(Duration::from_secs(60)).await; "late" }))
///         .layer(TimeoutLayer::new(Duration::from_millis(20)));
///     let server = Server::bind_tower("127.0.0.1:0", app).await.unwrap();
///     let url = format!("http://{}/slow", server.local_addr().unwrap());
///     let handle = server.start();
///     assert_eq!(Client::new().get(&url).await.unwrap().status(), StatusCode::REQUEST_TIMEOUT);
///     handle.stop();
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer {
    timeout: Duration,
    status: StatusCode,
}

impl TimeoutLayer {
    /// Requests answered `408 Request Timeout` after `timeout`.
    pub fn new(timeout: Duration) -> TimeoutLayer {
        TimeoutLayer { timeout, status: StatusCode::REQUEST_TIMEOUT }
    }

    /// Requests answered `status` after `timeout` (tower-http's
    /// constructor, same arguments): `503 Service Unavailable`, say, or
    /// `504 Gateway Timeout` in a proxy.
    pub fn with_status_code(status: StatusCode, timeout: Duration) -> TimeoutLayer {
        TimeoutLayer { timeout, status }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout { inner, timeout: self.timeout, status: self.status }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Clone, Copy, Debug)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
    status: StatusCode,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Timeout<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        TimeoutFuture { inner: self.inner.call(req), sleep: sprout_runtime::sleep(self.timeout), status: self.status }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Timeout`]: the inner service's, or the timeout's
    /// answer.
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        sleep: Sleep,
        status: StatusCode,
    }
}

impl<F, B, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The answer first: one that is ready when the timer fires wins.
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => {
                let mut response = Response::new(B::default());
                *response.status_mut() = *this.status;
                Poll::Ready(Ok(response))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
