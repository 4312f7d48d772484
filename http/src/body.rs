//! [`Body`]: one body type for requests and responses, whole or streamed.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use hyper::body::{Frame, Incoming, SizeHint};

/// The error type bodies and handlers may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body: empty, whole (one buffer, sent with a
/// `Content-Length`), or streamed (sent chunked unless the length is known).
///
/// Whole bodies come from strings, byte vectors and [`Bytes`] with `into()`;
/// streamed ones from a [`Stream`] of chunks ([`Body::stream`]), another
/// [`hyper::body::Body`] ([`Body::wrap`]), or an incoming body passed on as
/// it arrives (a proxy).
///
/// A body need not be `Send`: it lives in its connection's green task.
///
/// ```
/// use sprout::http::Body;
///
/// let hello: Body = "hello".into();
/// let chunks = Body::stream(futures_util::stream::iter(["a", "b", "c"].map(Ok::<_, std::io::Error>)));
/// # let _ = (hello, chunks);
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    /// A whole body, taken when sent.
    Full(Option<Bytes>),
    /// A body arriving from a peer.
    Incoming(Incoming),
    /// Anything else.
    Boxed(Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = BoxError>>>),
}

impl Body {
    /// No body (`Content-Length: 0`).
    #[inline]
    pub fn empty() -> Body {
        Body { kind: Kind::Full(None) }
    }

    /// A whole body.
    #[inline]
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body { kind: Kind::Full((!bytes.is_empty()).then_some(bytes)) }
    }

    /// A body streamed from `stream`'s chunks (sent chunked): each chunk
    /// goes out as soon as the stream yields it, and the stream is polled
    /// only as fast as the peer takes the bytes, so a large body is never
    /// held in memory. An `Err` aborts the body (and, in a response, the
    /// connection).
    pub fn stream<S, B, E>(stream: S) -> Body
    where
        S: Stream<Item = Result<B, E>> + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        Body::wrap(StreamBody { stream: Box::pin(stream) })
    }

    /// Any [`hyper::body::Body`] (trailers and size hints pass through).
    pub fn wrap<B>(body: B) -> Body
    where
        B: hyper::body::Body + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        Body { kind: Kind::Boxed(Box::pin(Converted { body })) }
    }
}

impl Body {
    /// Whether this body runs code of its own when polled (a stream, a
    /// wrapped body), which may panic; whole and incoming bodies do not.
    #[inline]
    pub(crate) fn is_streamed(&self) -> bool {
        matches!(self.kind, Kind::Boxed(_))
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f.debug_tuple("Body::Full").field(&bytes.as_ref().map_or(0, Bytes::len)).finish(),
            Kind::Incoming(_) => f.write_str("Body::Incoming"),
            Kind::Boxed(_) => f.write_str("Body::Streamed"),
        }
    }
}

macro_rules! whole {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Body {
            #[inline]
            fn from(value: $ty) -> Body {
                Body::full(value)
            }
        }
    )*};
}

whole!(Bytes, String, Vec<u8>, &'static str, &'static [u8]);

impl From<()> for Body {
    fn from(_: ()) -> Body {
        Body::empty()
    }
}

impl From<Incoming> for Body {
    fn from(incoming: Incoming) -> Body {
        Body { kind: Kind::Incoming(incoming) }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    #[inline]
    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Incoming(incoming) => Pin::new(incoming).poll_frame(cx).map_err(Into::into),
            Kind::Boxed(body) => body.as_mut().poll_frame(cx),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Incoming(incoming) => incoming.is_end_stream(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Incoming(incoming) => incoming.size_hint(),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

pin_project_lite::pin_project! {
    /// Any body with its frames' data turned into `Bytes` and its error
    /// boxed. (http-body-util's `map_frame` would do it but drops the size
    /// hint, and with it a wrapped body's `Content-Length`.)
    struct Converted<B> {
        #[pin]
        body: B,
    }
}

impl<B> hyper::body::Body for Converted<B>
where
    B: hyper::body::Body,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.project()
            .body
            .poll_frame(cx)
            .map(|frame| frame.map(|f| f.map(|f| f.map_data(Into::into)).map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    /// The wrapped body's: turning its data into `Bytes` keeps every byte.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A stream of chunks as a body.
struct StreamBody<S> {
    stream: Pin<Box<S>>,
}

impl<S, B, E> hyper::body::Body for StreamBody<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.stream
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|r| r.map(|b| Frame::data(b.into())).map_err(Into::into)))
    }
}

/// Reads a whole body into one buffer, up to
/// [`limits::MAX_BODY_SIZE`](crate::limits::MAX_BODY_SIZE) (2 MiB): a
/// peer must not be able to make a handler hold what it likes. For
/// another bound, [`to_bytes_limited`]; for any size, read it frame by
/// frame (`http_body_util::BodyExt::frame`).
///
/// ```
/// use sprout::http::{BodyTooLarge, to_bytes};
///
/// sprout::run(async {
///     let small = sprout::http::Body::from("hello");
///     assert_eq!(to_bytes(small).await.unwrap(), "hello");
///     let huge = sprout::http::Body::from(vec![0u8; 3 << 20]);
///     let error = to_bytes(huge).await.unwrap_err();
///     assert!(error.downcast_ref::<BodyTooLarge>().is_some());
/// });
/// ```
///
/// # Errors
/// [`BodyTooLarge`] past the limit (as soon as the body's announced
/// length or the bytes read so far pass it); the body's own error (the
/// peer reset the connection, say).
pub async fn to_bytes<B>(body: B) -> Result<Bytes, BoxError>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    to_bytes_limited(body, crate::limits::MAX_BODY_SIZE).await
}

/// Reads a whole body into one buffer, refusing one of more than `max`
/// bytes (`usize::MAX` for no limit): it holds at most `max` bytes.
///
/// # Errors
/// As [`to_bytes`], with `max` as the limit.
pub async fn to_bytes_limited<B>(body: B, max: usize) -> Result<Bytes, BoxError>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    use bytes::Buf;
    use http_body_util::BodyExt;
    let too_large = || -> BoxError { Box::new(BodyTooLarge::new(max)) };
    if body.size_hint().lower() > max as u64 {
        return Err(too_large());
    }
    let mut body = std::pin::pin!(body);
    // One chunk is kept as it came (no copy); more are gathered in `joined`.
    let mut first: Option<Bytes> = None;
    let mut joined = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(mut data) = frame.map_err(Into::into)?.into_data() else { continue }; // trailers
        let have = first.as_ref().map_or(0, Bytes::len) + joined.len();
        if data.remaining() > max - have {
            return Err(too_large());
        }
        let data = data.copy_to_bytes(data.remaining());
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// A body was longer than the limit it was read with ([`to_bytes`],
/// [`to_bytes_limited`]): nothing past the limit was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyTooLarge {
    limit: usize,
}

impl BodyTooLarge {
    pub(crate) fn new(limit: usize) -> BodyTooLarge {
        BodyTooLarge { limit }
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the body is larger than the limit of {} bytes", self.limit)
    }
}

impl std::error::Error for BodyTooLarge {}

#[cfg(test)]
mod tests {
    use hyper::body::Body as _;

    use super::*;

    /// `Body::wrap` dropped the wrapped body's size hint (http-body-util's
    /// `map_frame` does not forward it), so a wrapped body of known length
    /// went out chunked instead of with a `Content-Length`.
    #[test]
    fn a_wrapped_body_keeps_its_size_hint() {
        let full = http_body_util::Full::new(Bytes::from_static(b"12345"));
        let body = Body::wrap(full);
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
    }
}
