//! [`Tokio`] as a tower `Service`, and [`TokioLayer`], the layer that wraps
//! one.
//!
//! tower middleware built on tokio does its tokio work in all three places
//! a service is driven: `poll_ready` (a rate limit's sleep), `call`
//! (tower-http's `Timeout` creates its `tokio::time::Sleep` there) and the
//! response future. Each is entered; the response future is itself a
//! [`Tokio`].

use std::task::{Context, Poll};

use tokio::runtime::Handle;

use crate::Tokio;

impl<S, R> tower_service::Service<R> for Tokio<S>
where
    S: tower_service::Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Tokio<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let (handle, inner) = self.split_mut();
        let _context = handle.enter();
        inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Tokio<S::Future> {
        let (handle, inner) = self.split_mut();
        let _context = handle.enter();
        let future = inner.call(request);
        Tokio::with_handle(future, handle.clone())
    }
}

/// A tower `Layer` that wraps a service in [`Tokio`], so the middleware
/// under it may use tokio (tower-http's `TimeoutLayer`, tower's rate
/// limit) on a server that is not tokio's.
///
/// Put it outermost (last in a `ServiceBuilder`, or `.layer(...)` last on
/// an axum `Router`), so every tokio-bound layer is inside it:
///
/// ```
/// use std::time::Duration;
/// use sprout::compat::TokioLayer;
/// use tower_http::timeout::TimeoutLayer;
///
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(10)))
///     .layer(TokioLayer::new());
/// # let _ = app;
/// ```
///
/// `.compat()` on the finished service does the same.
#[derive(Clone, Debug, Default)]
pub struct TokioLayer {
    handle: Option<Handle>,
}

impl TokioLayer {
    /// A layer for the side runtime.
    pub fn new() -> TokioLayer {
        TokioLayer { handle: None }
    }

    /// A layer for the runtime of `handle`.
    pub fn with_handle(handle: Handle) -> TokioLayer {
        TokioLayer { handle: Some(handle) }
    }
}

impl<S> tower_layer::Layer<S> for TokioLayer {
    type Service = Tokio<S>;

    fn layer(&self, inner: S) -> Tokio<S> {
        match &self.handle {
            Some(handle) => Tokio::with_handle(inner, handle.clone()),
            None => Tokio::new(inner),
        }
    }
}
