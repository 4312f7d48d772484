//! The client's [`Response`] and its streamed [`ResponseBody`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::{HeaderMap, StatusCode, Uri, Version};
use sprout_runtime::time::Instant;

use super::Error;
use super::pool::Loan;

/// A response: status and headers at once, the body as it arrives (like
/// `requests`' `stream=True`: nothing is read until asked for).
///
/// Read the body whole with [`text`](Self::text) or [`bytes`](Self::bytes),
/// or chunk by chunk with [`chunk`](Self::chunk) (memory stays bounded
/// however large the body). The connection goes back to the client's pool
/// once the body has been read to its end; a response dropped half-read
/// closes its connection instead.
///
/// With a [`Builder::timeout`](super::Builder::timeout), reading the body
/// through [`chunk`](Self::chunk), [`bytes`](Self::bytes) or
/// [`text`](Self::text) fails with [`Error::is_timeout`] once the
/// request's time is up.
pub struct Response {
    head: hyper::http::response::Parts,
    body: ResponseBody,
    url: Uri,
    /// When the request's time limit ends, if it has one.
    deadline: Option<Instant>,
}

impl Response {
    pub(crate) fn new(response: hyper::Response<Incoming>, loan: Option<Loan>, url: Uri) -> Response {
        let (head, incoming) = response.into_parts();
        let mut body = ResponseBody { incoming, loan };
        body.give_back_if_done();
        Response { head, body, url, deadline: None }
    }

    /// Bounds the body's reads by the request's time limit.
    pub(crate) fn with_deadline(mut self, deadline: Option<Instant>) -> Response {
        self.deadline = deadline;
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

    /// The next chunk of the body, `None` at its end.
    ///
    /// # Errors
    /// The connection failed mid-body, or the request's time limit passed.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        use http_body_util::BodyExt;
        loop {
            match within(self.deadline, self.body.frame()).await? {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::http(e)),
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
    /// (16 MiB): a server must not be able to make the client hold what it
    /// likes. For another bound, [`bytes_limited`](Self::bytes_limited);
    /// for any size, [`chunk`](Self::chunk).
    ///
    /// # Errors
    /// The body is larger than the limit ([`Error::is_body_too_large`]);
    /// the connection failed mid-body, or the request's time limit passed.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        self.bytes_limited(crate::limits::MAX_RESPONSE_SIZE).await
    }

    /// The whole body, refusing one of more than `max` bytes (`usize::MAX`
    /// for no limit).
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes), with `max` as the limit.
    pub async fn bytes_limited(self, max: usize) -> Result<Bytes, Error> {
        within(self.deadline, crate::body::to_bytes_limited(self.body, max)).await?.map_err(Error::body)
    }

    /// The whole body as text (invalid UTF-8 replaced, as `requests`'
    /// `.text` does), up to the limit of [`bytes`](Self::bytes).
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The body, as a [`hyper::body::Body`] (without the request's time
    /// limit: bound it with [`sprout_runtime::timeout`] if needed).
    pub fn into_body(self) -> ResponseBody {
        self.body
    }

    /// The response as an `http::Response` (without the request's time
    /// limit, as [`into_body`](Self::into_body)).
    pub fn into_http(self) -> hyper::Response<ResponseBody> {
        hyper::Response::from_parts(self.head, self.body)
    }
}

/// `read`, failing with a timeout error past `deadline`, or past the
/// current deadline (`sprout::deadline`; `timeout_at` takes the earlier).
async fn within<T>(deadline: Option<Instant>, read: impl Future<Output = T>) -> Result<T, Error> {
    match deadline.or_else(sprout_runtime::time::current_deadline) {
        Some(deadline) => sprout_runtime::time::timeout_at(deadline, read).await.map_err(|_| Error::timeout()),
        None => Ok(read.await),
    }
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

/// A response body as it arrives. Its connection goes back to the pool
/// when the last frame has been read.
pub struct ResponseBody {
    incoming: Incoming,
    loan: Option<Loan>,
}

impl ResponseBody {
    fn give_back_if_done(&mut self) {
        if self.incoming.is_end_stream()
            && let Some(loan) = self.loan.take()
        {
            loan.give_back();
        }
    }
}

impl hyper::body::Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.incoming).poll_frame(cx);
        match &poll {
            Poll::Ready(None) => {
                if let Some(loan) = this.loan.take() {
                    loan.give_back();
                }
            }
            Poll::Ready(Some(Ok(_))) => this.give_back_if_done(),
            // A failed connection is not worth keeping.
            Poll::Ready(Some(Err(_))) => this.loan = None,
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody").field("size_hint", &self.incoming.size_hint()).finish()
    }
}
