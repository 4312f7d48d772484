//! The span of one request (feature `tracing`): `request` at DEBUG, target
//! `sprout::http`, with the fields `method`, `path`, `version` and `peer`,
//! and `status` and `latency_us` recorded when the handler answers, with
//! an event (`answered`) that carries them too. The handler (making its
//! future and every poll of it) runs inside the span, and so does the
//! error hook for a failed handler; a task the handler spawns gets it as
//! its parent (sprout-runtime carries the current span into a spawn).
//!
//! Opened only when the server traces requests (`Server::trace_requests`,
//! on by default with the feature) and a subscriber enables the span: the
//! `debug_span!` macro's level test (one relaxed load) is all a request
//! pays otherwise. A request abandoned before the handler answered (its
//! connection closed) gets an event (`abandoned`) instead.
//!
//! Without the feature, [`RequestSpan`] is empty and its methods do
//! nothing, so the service's code is the same in both builds.

use std::net::SocketAddr;

use hyper::{Request, StatusCode};

/// The span of one request, if any: see the module docs.
pub(crate) struct RequestSpan {
    #[cfg(feature = "tracing")]
    open: Option<Open>,
}

#[cfg(feature = "tracing")]
struct Open {
    span: tracing::Span,
    start: std::time::Instant,
    answered: bool,
}

impl RequestSpan {
    /// A span for `req` from `peer`, if `on` (the server traces requests)
    /// and a subscriber enables it.
    #[inline(always)]
    pub(crate) fn open<B>(on: bool, req: &Request<B>, peer: SocketAddr) -> RequestSpan {
        #[cfg(feature = "tracing")]
        {
            let open = on.then(|| open(req, peer)).flatten();
            RequestSpan { open }
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (on, req, peer);
            RequestSpan {}
        }
    }

    /// Runs `f` (a poll of the handler) inside the span.
    #[inline(always)]
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        if let Some(open) = &self.open {
            return open.span.in_scope(f);
        }
        f()
    }

    /// The handler answered with `status`: records it and the latency on
    /// the span, and sends the `answered` event.
    #[inline(always)]
    pub(crate) fn answered(&mut self, status: StatusCode) {
        #[cfg(feature = "tracing")]
        if let Some(open) = &mut self.open {
            open.answered(status);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = status;
    }
}

#[cfg(feature = "tracing")]
fn open<B>(req: &Request<B>, peer: SocketAddr) -> Option<Open> {
    let span = tracing::debug_span!(
        target: "sprout::http",
        "request",
        method = %req.method(),
        path = req.uri().path(),
        version = ?req.version(),
        peer = %peer,
        status = tracing::field::Empty,
        latency_us = tracing::field::Empty,
    );
    (!span.is_disabled()).then(|| Open { span, start: std::time::Instant::now(), answered: false })
}

#[cfg(feature = "tracing")]
impl Open {
    #[cold]
    fn answered(&mut self, status: StatusCode) {
        self.answered = true;
        let latency_us = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let status = status.as_u16();
        self.span.record("status", status);
        self.span.record("latency_us", latency_us);
        self.span.in_scope(|| tracing::debug!(target: "sprout::http", status, latency_us, "answered"));
    }
}

#[cfg(feature = "tracing")]
impl Drop for Open {
    fn drop(&mut self) {
        if !self.answered {
            self.span.in_scope(|| {
                tracing::debug!(target: "sprout::http", "abandoned: the connection closed before the handler answered");
            });
        }
    }
}
