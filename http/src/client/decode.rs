//! Transparent decompression of response bodies (features `gzip`,
//! `deflate`, `brotli`; `compression` for all three).
//!
//! A client with any of them (and without
//! [`Builder::no_decompression`](super::Builder::no_decompression)) sends
//! `Accept-Encoding` with the codings it has, on every request that sets
//! neither that header nor `Range` (a range of compressed bytes cannot
//! be decoded alone). A response whose `Content-Encoding` is exactly one
//! of them (`gzip` or `x-gzip`, `deflate`, `br`) is decoded as it is read,
//! by async-compression's `futures-io` decoders, and loses its
//! `Content-Encoding` and `Content-Length` headers, which described the
//! compressed bytes (reqwest does the same). Any other coding, or
//! several stacked, is passed through as it came.
//!
//! `deflate` is the zlib format (RFC 9110 §8.4.1.2), not a bare deflate
//! stream. A gzip body may hold several members one after the other
//! (RFC 1952 §2.2); all are decoded. A body that does not decode fails
//! its read with an error that is [`is_decode`](super::Error::is_decode)
//! and names the coding; a broken connection under it stays an HTTP
//! error. An empty body (a 204, a `HEAD`) is empty, not an error.

use hyper::HeaderMap;
use hyper::header::{self, HeaderValue};

/// Whether this build can decode anything.
pub(crate) const ANY_CODING: bool = cfg!(any(feature = "gzip", feature = "deflate", feature = "brotli"));

/// The codings this build decodes, in `Accept-Encoding` form.
pub(crate) fn accept_encoding() -> HeaderValue {
    let codings: &[(&str, bool)] =
        &[("gzip", cfg!(feature = "gzip")), ("deflate", cfg!(feature = "deflate")), ("br", cfg!(feature = "brotli"))];
    let list: Vec<&str> = codings.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect();
    HeaderValue::from_str(&list.join(", ")).unwrap_or_else(|_| HeaderValue::from_static("identity"))
}

/// A coding this build decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    #[cfg(feature = "gzip")]
    Gzip,
    #[cfg(feature = "deflate")]
    Deflate,
    #[cfg(feature = "brotli")]
    Brotli,
}

impl Coding {
    /// The coding of a response with these headers, if there is exactly
    /// one and this build decodes it.
    pub(crate) fn of(headers: &HeaderMap) -> Option<Coding> {
        let mut values = headers.get_all(header::CONTENT_ENCODING).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None; // stacked codings: passed through
        }
        let value = value.to_str().ok()?.trim();
        #[cfg(feature = "gzip")]
        if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
            return Some(Coding::Gzip);
        }
        #[cfg(feature = "deflate")]
        if value.eq_ignore_ascii_case("deflate") {
            return Some(Coding::Deflate);
        }
        #[cfg(feature = "brotli")]
        if value.eq_ignore_ascii_case("br") {
            return Some(Coding::Brotli);
        }
        let _ = value;
        None
    }

    #[cfg_attr(not(any(feature = "gzip", feature = "deflate", feature = "brotli")), allow(dead_code))]
    fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
            #[cfg(feature = "deflate")]
            Coding::Deflate => "deflate",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "brotli",
        }
    }
}

#[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
pub(crate) use decoder::Decoder;

#[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
mod decoder {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};

    use bytes::{Bytes, BytesMut};
    use futures_io::{AsyncBufRead, AsyncRead};
    use hyper::StatusCode;
    use hyper::body::Frame;

    use super::Coding;
    use crate::client::Error;
    use crate::client::body::Raw;

    /// How much decoded output one frame holds at most: small enough to
    /// keep memory flat, large enough that a frame is worth a poll.
    const FRAME: usize = 16 * 1024;

    /// A body decoded as it is read.
    pub(crate) struct Decoder {
        codec: Codec,
        coding: Coding,
        /// The response's, for errors.
        status: StatusCode,
        /// Room for decoded output, reused across polls (a `Pending` poll
        /// allocates nothing); each frame is split off its front.
        buf: BytesMut,
        done: bool,
    }

    enum Codec {
        #[cfg(feature = "gzip")]
        Gzip(async_compression::futures::bufread::GzipDecoder<Source>),
        #[cfg(feature = "deflate")]
        Deflate(async_compression::futures::bufread::ZlibDecoder<Source>),
        #[cfg(feature = "brotli")]
        Brotli(async_compression::futures::bufread::BrotliDecoder<Source>),
    }

    impl Decoder {
        pub(crate) fn new(raw: Raw, coding: Coding, status: StatusCode) -> Decoder {
            let source = Source { raw, chunk: Bytes::new(), seen: 0, ended: false, failed: None };
            let codec = match coding {
                #[cfg(feature = "gzip")]
                Coding::Gzip => {
                    let mut gzip = async_compression::futures::bufread::GzipDecoder::new(source);
                    gzip.multiple_members(true);
                    Codec::Gzip(gzip)
                }
                #[cfg(feature = "deflate")]
                Coding::Deflate => Codec::Deflate(async_compression::futures::bufread::ZlibDecoder::new(source)),
                #[cfg(feature = "brotli")]
                Coding::Brotli => Codec::Brotli(async_compression::futures::bufread::BrotliDecoder::new(source)),
            };
            Decoder { codec, coding, status, buf: BytesMut::new(), done: false }
        }

        fn source(&mut self) -> &mut Source {
            match &mut self.codec {
                #[cfg(feature = "gzip")]
                Codec::Gzip(d) => d.get_mut(),
                #[cfg(feature = "deflate")]
                Codec::Deflate(d) => d.get_mut(),
                #[cfg(feature = "brotli")]
                Codec::Brotli(d) => d.get_mut(),
            }
        }

        fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let buf = &mut self.buf;
            buf.resize(FRAME, 0);
            match &mut self.codec {
                #[cfg(feature = "gzip")]
                Codec::Gzip(d) => Pin::new(d).poll_read(cx, buf),
                #[cfg(feature = "deflate")]
                Codec::Deflate(d) => Pin::new(d).poll_read(cx, buf),
                #[cfg(feature = "brotli")]
                Codec::Brotli(d) => Pin::new(d).poll_read(cx, buf),
            }
        }

        pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
            if self.done {
                return Poll::Ready(None);
            }
            let result = ready!(self.poll_read(cx));
            if let Ok(n @ 1..) = result {
                return Poll::Ready(Some(Ok(Frame::data(self.buf.split_to(n).freeze()))));
            }
            let (status, coding) = (self.status, self.coding);
            let source = self.source();
            let outcome = match result {
                Ok(_) => None,
                // The connection failed under the decoder: that error, as is.
                Err(_) if source.failed.is_some() => source.failed.take().map(|e| Err(Error::http(e))),
                // Nothing at all arrived: an empty body, not a corrupt one.
                Err(_) if source.seen == 0 && source.ended => None,
                Err(e) => Some(Err(Error::decode(
                    status,
                    format!("the {} body of a {status} response does not decode: {e}", coding.name()),
                ))),
            };
            self.done = true;
            Poll::Ready(outcome)
        }

        pub(crate) fn is_end_stream(&self) -> bool {
            self.done
        }
    }

    /// The raw body as an `AsyncBufRead`, what the decoders read from.
    struct Source {
        raw: Raw,
        /// The frame being read, from its first unread byte.
        chunk: Bytes,
        /// Compressed bytes read so far.
        seen: u64,
        /// The raw body has ended.
        ended: bool,
        /// The connection's error, kept to return it as such (the
        /// decoder only passes an `io::Error` on).
        failed: Option<hyper::Error>,
    }

    impl AsyncRead for Source {
        fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            let available = ready!(self.as_mut().poll_fill_buf(cx))?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            self.consume(n);
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncBufRead for Source {
        fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
            let this = self.get_mut();
            while this.chunk.is_empty() {
                match ready!(this.raw.poll_frame(cx)) {
                    None => {
                        this.ended = true;
                        break;
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            this.seen += data.len() as u64;
                            this.chunk = data;
                        }
                    }
                    Some(Err(e)) => {
                        let message = e.to_string();
                        this.failed = Some(e);
                        return Poll::Ready(Err(io::Error::other(message)));
                    }
                }
            }
            Poll::Ready(Ok(&this.chunk))
        }

        fn consume(mut self: Pin<&mut Self>, amount: usize) {
            let amount = amount.min(self.chunk.len());
            let _ = self.chunk.split_to(amount);
        }
    }
}
