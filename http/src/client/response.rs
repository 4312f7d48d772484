//! The client's [`Response`]: the head at once, the body read on demand
//! within the request's time limits.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::body::Incoming;
use hyper::{HeaderMap, StatusCode, Uri, Version};
use sprout_runtime::time::Instant;

use super::Error;
use super::body::{Raw, ResponseBody};
use super::pool::Loan;

/// A response: status and headers at once, the body as it arrives (like
/// `requests`' `stream=True`: nothing is read until asked for).
///
/// Read the body whole with [`text`](Self::text), [`bytes`](Self::bytes)
/// or [`json`](Self::json) (feature `json`), or chunk by chunk with
/// [`chunk`](Self::chunk) (memory stays bounded however large the body).
/// The connection goes back to the client's pool once the body has been
/// read to its end; a response dropped before that with little left
/// unread (at most 64 KiB) has the rest drained in the background so
/// the connection is kept, and a bigger one closes it (docs/http.md,
/// "Keep-alive").
///
/// A compressed body (`Content-Encoding: gzip`, `deflate` or `br`, with
/// the `compression` feature) is decoded as it is read, and the
/// `Content-Encoding` and `Content-Length` headers that described the
/// compressed bytes are removed.
///
/// With a [`Builder::timeout`](super::Builder::timeout), reading the body
/// through these methods fails with [`Error::is_timeout`] once the
/// request's time is up; with a [`Builder::read_timeout`](super::Builder::read_timeout),
/// once the server sends nothing for that long.
pub struct Response {
    head: hyper::http::response::Parts,
    body: ResponseBody,
    url: Uri,
    /// When the request's time limit ends, if it has one.
    deadline: Option<Instant>,
    /// The longest wait for the next chunk.
    read_timeout: Option<Duration>,
}

impl Response {
    /// Wraps hyper's response; decodes the body if `decompress` and the
    /// response names a coding this build decodes.
    pub(crate) fn new(response: hyper::Response<Incoming>, loan: Option<Loan>, url: Uri, decompress: bool) -> Response {
        let (mut head, incoming) = response.into_parts();
        let raw = Raw::new(incoming, loan);
        let body = match decompress.then(|| super::decode::Coding::of(&head.headers)).flatten() {
            // An empty body (204, HEAD) has nothing to decode.
            Some(coding) if !raw.is_end_stream() => {
                head.headers.remove(hyper::header::CONTENT_ENCODING);
                head.headers.remove(hyper::header::CONTENT_LENGTH);
                decoded(raw, coding, head.status)
            }
            _ => ResponseBody::raw(raw),
        };
        Response { head, body, url, deadline: None, read_timeout: None }
    }

    /// Bounds the body's reads by the request's time limit and the read
    /// timeout.
    pub(crate) fn with_limits(mut self, deadline: Option<Instant>, read_timeout: Option<Duration>) -> Response {
        self.deadline = deadline;
        self.read_timeout = read_timeout;
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The HTTP version the server answered with.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The URL this response came from (after redirects).
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The response itself if its status is not an error, else an error
    /// that [`is_status`](Error::is_status) and carries the status
    /// (`requests`' `raise_for_status`, reqwest's `error_for_status`).
    ///
    /// # Errors
    /// A 4xx or 5xx status.
    pub fn error_for_status(self) -> Result<Response, Error> {
        let status = self.head.status;
        if status.is_client_error() || status.is_server_error() {
            return Err(Error::status_code(status, &self.url));
        }
        Ok(self)
    }

    /// The next chunk of the body, `None` at its end.
    ///
    /// # Errors
    /// The connection failed mid-body, the body does not decode, or a
    /// time limit passed.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        use http_body_util::BodyExt;
        loop {
            let frame = self.body.frame();
            match within(self.deadline, self.read_timeout, frame).await? {
                None => return Ok(None),
                Some(Err(e)) => return Err(e),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                    // Trailers: skip.
                }
            }
        }
    }

    /// The whole body, up to
    /// [`limits::MAX_RESPONSE_SIZE`](crate::limits::MAX_RESPONSE_SIZE)
    /// (16 MiB, after decoding): a server must not be able to make the
    /// client hold what it likes. For another bound,
    /// [`bytes_limited`](Self::bytes_limited); for any size,
    /// [`chunk`](Self::chunk).
    ///
    /// # Errors
    /// The body is larger than the limit ([`Error::is_body_too_large`]);
    /// the connection failed mid-body; the request's time limits passed;
    /// the body could not be decoded.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        self.bytes_limited(crate::limits::MAX_RESPONSE_SIZE).await
    }

    /// The whole body, refusing one of more than `max` bytes (`usize::MAX`
    /// for no limit): it holds at most `max` bytes.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes), with `max` as the limit.
    pub async fn bytes_limited(mut self, max: usize) -> Result<Bytes, Error> {
        if hyper::body::Body::size_hint(&self.body).lower() > max as u64 {
            return Err(Error::body_too_large(max));
        }
        let Some(first) = self.chunk().await? else { return Ok(Bytes::new()) };
        if first.len() > max {
            return Err(Error::body_too_large(max));
        }
        let Some(second) = self.chunk().await? else { return Ok(first) }; // one chunk: no copy
        let mut all = BytesMut::with_capacity(first.len() + second.len());
        all.extend_from_slice(&first);
        let mut next = Some(second);
        while let Some(chunk) = next {
            if chunk.len() > max - all.len() {
                return Err(Error::body_too_large(max));
            }
            all.extend_from_slice(&chunk);
            next = self.chunk().await?;
        }
        Ok(all.freeze())
    }

    /// The whole body as text (invalid UTF-8 replaced, as `requests`' `.text` does).
    ///
    /// # Errors
    /// As [`chunk`](Self::chunk).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The whole body, parsed as JSON into a `T` (feature `json`).
    ///
    /// The body is read through [`bytes`](Self::bytes), so the same time
    /// limits apply. The status is not checked: call
    /// [`error_for_status`](Self::error_for_status) first to turn a 4xx or
    /// 5xx into an error.
    ///
    /// ```
    /// # sprout::run(async {
    /// # let server = sprout::http::Server::bind("127.0.0.1:0", |_req| async { sprout::http::Response::new(sprout::http::Body::from(r#"{"id": 7, "tags": ["a"]}"#)) }).await.unwrap();
    /// # let url = format!("http://{}/", server.local_addr().unwrap());
    /// # let server = server.start();
    /// #[derive(serde::Deserialize)]
    /// struct Item {
    ///     id: u32,
    ///     tags: Vec<String>,
    /// }
    /// let item: Item = sprout::http::Client::new().get(&url).await.unwrap().json().await.unwrap();
    /// assert_eq!((item.id, item.tags.len()), (7, 1));
    /// # server.stop();
    /// # });
    /// ```
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes); [`Error::is_decode`] when the body is
    /// not JSON of that shape (the message gives the status, the URL and
    /// serde_json's reason with its line and column).
    #[cfg(feature = "json")]
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let (status, url) = (self.head.status, self.url.clone());
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::decode(status, format!("the body of the {status} response from {url} is not the JSON expected: {e}"))
        })
    }

    /// The body, as a [`hyper::body::Body`] (decoded, without the
    /// request's time limits: bound it with [`sprout::timeout`](sprout_runtime::timeout)
    /// if needed).
    pub fn into_body(self) -> ResponseBody {
        self.body
    }

    /// The response as an `http::Response` (without the request's time
    /// limits, as [`into_body`](Self::into_body)).
    pub fn into_http(self) -> hyper::Response<ResponseBody> {
        hyper::Response::from_parts(self.head, self.body)
    }
}

#[cfg(any(feature = "gzip", feature = "deflate", feature = "brotli"))]
fn decoded(raw: Raw, coding: super::decode::Coding, status: StatusCode) -> ResponseBody {
    ResponseBody::decoded(super::decode::Decoder::new(raw, coding, status))
}

#[cfg(not(any(feature = "gzip", feature = "deflate", feature = "brotli")))]
fn decoded(_raw: Raw, coding: super::decode::Coding, _status: StatusCode) -> ResponseBody {
    match coding {}
}

/// `read`, failing with a timeout error past `deadline` (the request's),
/// past the current deadline (`sprout::deadline`; `timeout_at` takes the
/// earlier), or after `read_timeout` (the wait for this one read).
pub(crate) async fn within<T>(
    deadline: Option<Instant>,
    read_timeout: Option<Duration>,
    read: impl Future<Output = T>,
) -> Result<T, Error> {
    // A limit too far away to represent is no limit.
    let read_by = read_timeout.and_then(|limit| sprout_runtime::time::now().checked_add(limit).map(|at| (at, limit)));
    let deadline = deadline.or_else(sprout_runtime::time::current_deadline);
    match (deadline, read_by) {
        (None, None) => Ok(read.await),
        (Some(total), Some((at, limit))) if at < total => timed(at, read, || Error::read_timeout(limit)).await,
        (Some(total), _) => timed(total, read, Error::timeout).await,
        (None, Some((at, limit))) => timed(at, read, || Error::read_timeout(limit)).await,
    }
}

async fn timed<T>(at: Instant, read: impl Future<Output = T>, error: impl FnOnce() -> Error) -> Result<T, Error> {
    sprout_runtime::time::timeout_at(at, read).await.map_err(|_| error())
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.head.status)
            .field("version", &self.head.version)
            .field("headers", &self.head.headers)
            .finish_non_exhaustive()
    }
}
