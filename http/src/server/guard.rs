//! A streamed response body's panics, kept from unwinding through hyper.
//!
//! A streamed body is user code, polled by hyper after the handler has
//! returned. [`guard`] polls its first frame before hyper sees the
//! response: a panic (or an error) there answers 500 like a handler's,
//! since nothing has been sent. Once hyper has the response it writes the
//! head before it polls the body again, so a later panic can only end the
//! connection: [`Guarded`] catches it, reports it as a `Panic` through the
//! error hook, and hands hyper an error, which aborts the response (the
//! client sees a cut-short body, never a complete-looking one).
//!
//! Whole bodies (and incoming ones passed on) run no user code and are
//! left as they are: the guard costs nothing on their path.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, SizeHint};

use super::config::OnError;
use super::service::panic_message;
use super::{ErrorKind, ServeError};
use crate::body::{Body, BoxError};

/// Polls `body`'s first frame under `catch_unwind`, then wraps it so that
/// later panics are caught too.
///
/// # Errors
/// The first poll panicked (`Panic`) or failed (`Other`): the response
/// is to be a 500.
#[cold] // off the path of whole bodies, which most responses are
#[inline(never)]
pub(super) fn guard(
    body: &mut Body,
    cx: &mut Context<'_>,
    on_error: &OnError,
    peer: SocketAddr,
) -> Result<(), ServeError> {
    let mut guarded =
        Guarded { body: std::mem::take(body), first: None, ended: false, on_error: on_error.clone(), peer };
    match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut guarded.body).poll_frame(cx))) {
        Err(panic) => return Err(ServeError::new(peer, ErrorKind::Panic, panic_message("the response body", &*panic))),
        Ok(Poll::Ready(Some(Err(e)))) => return Err(ServeError::new(peer, ErrorKind::Other, e)),
        Ok(Poll::Ready(Some(Ok(frame)))) => guarded.first = Some(frame),
        Ok(Poll::Ready(None)) => guarded.ended = true,
        Ok(Poll::Pending) => {}
    }
    *body = Body::wrap(guarded);
    Ok(())
}

/// A streamed body whose panics are caught and reported.
struct Guarded {
    body: Body,
    /// The frame `guard` polled, to hand hyper first.
    first: Option<Frame<Bytes>>,
    /// The body ended (or panicked): never poll it again.
    ended: bool,
    on_error: OnError,
    peer: SocketAddr,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(frame) = this.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut this.body).poll_frame(cx))) {
            Ok(poll) => {
                if let Poll::Ready(None) = poll {
                    this.ended = true;
                }
                poll
            }
            Err(panic) => {
                // The head is out: ending the connection is all that is left.
                this.ended = true;
                let message = panic_message("the response body", &*panic);
                (this.on_error)(&ServeError::new(this.peer, ErrorKind::Panic, message.clone()));
                Poll::Ready(Some(Err(message.into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && (self.ended || self.body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let hint = if self.ended { SizeHint::with_exact(0) } else { self.body.size_hint() };
        let first = self.first.as_ref().and_then(Frame::data_ref).map_or(0, |data| data.len() as u64);
        let mut sum = SizeHint::new();
        if let Some(upper) = hint.upper() {
            sum.set_upper(upper.saturating_add(first));
        }
        sum.set_lower(hint.lower().saturating_add(first));
        sum
    }
}
