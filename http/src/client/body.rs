//! [`ResponseBody`]: a response's body as it arrives, decoded when the
//! server compressed it.
//!
//! Two layers: [`Raw`] holds hyper's body and the pooled connection it
//! arrives on (given back to the pool at the body's end, or drained in
//! the background when dropped unread: [`super::drain`]); the body the
//! user sees is `Raw` itself or a decoder reading from it
//! ([`super::decode`]).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};

use super::Error;
use super::pool::Loan;

/// A response body as it arrives: hyper's frames, decompressed when the
/// response was (see [`Response`](super::Response)). Its connection goes
/// back to the pool when the last frame has been read.
pub struct ResponseBody {
    inner: Inner,
}

enum Inner {
    Raw(Raw),
    /// Boxed: a decoder's state is three times the size of a plain body,
    /// which need not carry it.
    #[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
    Decoded(Box<super::decode::Decoder>),
}

impl ResponseBody {
    pub(crate) fn raw(raw: Raw) -> ResponseBody {
        ResponseBody { inner: Inner::Raw(raw) }
    }

    #[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
    pub(crate) fn decoded(decoder: super::decode::Decoder) -> ResponseBody {
        ResponseBody { inner: Inner::Decoded(Box::new(decoder)) }
    }
}

impl hyper::body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match &mut self.inner {
            Inner::Raw(raw) => raw.poll_frame(cx).map(|frame| frame.map(|f| f.map_err(Error::http))),
            #[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
            Inner::Decoded(decoder) => decoder.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Raw(raw) => raw.is_end_stream(),
            #[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
            Inner::Decoded(decoder) => decoder.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Raw(raw) => raw.size_hint(),
            // The decoded length is not known until the end.
            #[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
            Inner::Decoded(_) => SizeHint::default(),
        }
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decoded = !matches!(self.inner, Inner::Raw(_));
        f.debug_struct("ResponseBody").field("size_hint", &self.size_hint()).field("decoded", &decoded).finish()
    }
}

/// hyper's body and the connection it arrives on.
pub(crate) struct Raw {
    /// `None` once handed to a drain (only in `drop`).
    incoming: Option<Incoming>,
    /// The HTTP/1 connection, until it goes back to the pool (at the
    /// body's end), is dropped (an error: closed), or is drained.
    loan: Option<Loan>,
}

impl Raw {
    pub(crate) fn new(incoming: Incoming, loan: Option<Loan>) -> Raw {
        let mut raw = Raw { incoming: Some(incoming), loan };
        raw.give_back_if_done();
        raw
    }

    fn give_back_if_done(&mut self) {
        if self.is_end_stream()
            && let Some(loan) = self.loan.take()
        {
            loan.give_back();
        }
    }

    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(incoming) = &mut self.incoming else { return Poll::Ready(None) };
        let poll = Pin::new(incoming).poll_frame(cx);
        match &poll {
            Poll::Ready(None) => {
                if let Some(loan) = self.loan.take() {
                    loan.give_back();
                }
            }
            Poll::Ready(Some(Ok(_))) => self.give_back_if_done(),
            // A failed connection is not worth keeping.
            Poll::Ready(Some(Err(_))) => self.loan = None,
            Poll::Pending => {}
        }
        poll
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        self.incoming.as_ref().is_none_or(Incoming::is_end_stream)
    }

    pub(crate) fn size_hint(&self) -> SizeHint {
        self.incoming.as_ref().map(Incoming::size_hint).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // Dropped with its connection still on loan: the body was not read
        // to its end. A small rest is drained so the connection survives.
        if let (Some(incoming), Some(loan)) = (self.incoming.take(), self.loan.take()) {
            super::drain::start(incoming, loan);
        }
    }
}
