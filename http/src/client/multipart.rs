//! `multipart/form-data` uploads (RFC 7578): what an HTML form with a
//! file input sends, and what `requests.post(url, files=...)` builds.
//!
//! ```
//! use sprout::http::client::multipart::{Form, Part};
//! use sprout::http::Client;
//!
//! # sprout::run(async {
//! # let server = sprout::http::Server::bind("127.0.0.1:0", |_req| async { sprout::http::Response::new(sprout::http::Body::from("ok")) }).await.unwrap();
//! # let url = format!("http://{}/upload", server.local_addr().unwrap());
//! # let server = server.start();
//! let form = Form::new()
//!     .text("title", "holiday")
//!     .part("photo", Part::bytes(vec![0xff, 0xd8, 0xff]).file_name("beach.jpg").mime("image/jpeg"));
//! let resp = Client::new().post(&url, ()).multipart(form).await.unwrap();
//! # assert_eq!(resp.status(), 200);
//! # server.stop();
//! # });
//! ```
//!
//! The body is streamed: parts are sent one after the other as the
//! connection takes them, a [`Part::file`] read from disk chunk by chunk,
//! so a large upload is never held in memory. When every part's length
//! is known (text, bytes, files) the body goes out with a
//! `Content-Length`; a [`Part::stream`] of unknown length makes it chunked.

use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use hyper::body::{Frame, SizeHint};

use crate::body::{Body, BoxError};

/// A `multipart/form-data` body: named text fields and file parts.
///
/// Send it with [`RequestBuilder::multipart`](super::RequestBuilder::multipart),
/// which also sets the `Content-Type` with the boundary.
pub struct Form {
    boundary: String,
    parts: Vec<(String, Part)>,
}

/// One part of a [`Form`]: its content, and optionally a file name and
/// a media type.
pub struct Part {
    content: Content,
    file_name: Option<String>,
    mime: Option<String>,
}

enum Content {
    Whole(Bytes),
    Stream { stream: Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>>>>, length: Option<u64> },
}

impl Default for Form {
    fn default() -> Form {
        Form::new()
    }
}

impl Form {
    /// An empty form with a fresh random boundary.
    pub fn new() -> Form {
        Form { boundary: boundary(), parts: Vec::new() }
    }

    /// Adds a text field.
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Form {
        self.part(name, Part::text(value))
    }

    /// Adds a part (a file, bytes, a stream, or text with a type).
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Form {
        self.parts.push((name.into(), part));
        self
    }

    /// The boundary between parts (`--` and this start each one).
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body: each part's head, its content, and the closing boundary.
    pub fn into_body(self) -> Body {
        let mut pieces = VecDeque::new();
        let mut length = Some(0u64);
        for (name, part) in self.parts {
            let mut head = format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"", self.boundary, escape(&name));
            if let Some(file_name) = &part.file_name {
                head.push_str(&format!("; filename=\"{}\"", escape(file_name)));
            }
            head.push_str("\r\n");
            if let Some(mime) = &part.mime {
                head.push_str(&format!("Content-Type: {mime}\r\n"));
            }
            head.push_str("\r\n");
            let part_length = match &part.content {
                Content::Whole(bytes) => Some(bytes.len() as u64),
                Content::Stream { length, .. } => *length,
            };
            length = length.zip(part_length).map(|(sum, part)| sum + head.len() as u64 + part + 2);
            pieces.push_back(Piece::Bytes(Bytes::from(head)));
            pieces.push_back(match part.content {
                Content::Whole(bytes) => Piece::Bytes(bytes),
                Content::Stream { stream, length } => Piece::Stream(stream, length),
            });
            pieces.push_back(Piece::Bytes(Bytes::from_static(b"\r\n")));
        }
        let end = format!("--{}--\r\n", self.boundary);
        length = length.map(|sum| sum + end.len() as u64);
        pieces.push_back(Piece::Bytes(Bytes::from(end)));
        Body::wrap(FormBody { pieces, length, sent: 0 })
    }
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Form")
            .field("boundary", &self.boundary)
            .field("parts", &self.parts.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .finish()
    }
}

impl Part {
    /// Text (sent without a `Content-Type`, which means `text/plain`).
    pub fn text(value: impl Into<String>) -> Part {
        Part::bytes(value.into())
    }

    /// Bytes held in memory.
    pub fn bytes(value: impl Into<Bytes>) -> Part {
        Part { content: Content::Whole(value.into()), file_name: None, mime: None }
    }

    /// Content streamed from `stream` as the connection takes it. With
    /// `length` (the exact byte count the stream yields) the form keeps
    /// a `Content-Length`; with `None` it is sent chunked. A stream that
    /// yields a different count than it promised fails the request.
    pub fn stream<S, B, E>(stream: S, length: Option<u64>) -> Part
    where
        S: Stream<Item = Result<B, E>> + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        use futures_util::StreamExt;
        let stream = stream.map(|item| item.map(Into::into).map_err(Into::into));
        Part { content: Content::Stream { stream: Box::pin(stream), length }, file_name: None, mime: None }
    }

    /// The file at `path`, read chunk by chunk as it is sent, named by
    /// its file name, typed `application/octet-stream` (change it with
    /// [`mime`](Self::mime)).
    ///
    /// # Errors
    /// The file cannot be opened or its size read.
    pub async fn file(path: impl AsRef<Path>) -> io::Result<Part> {
        let path = path.as_ref();
        let file = sprout_runtime::fs::File::open(path).await?;
        let length = file.metadata().await?.len();
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; 64 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let part = Part::stream(chunks, Some(length)).mime("application/octet-stream");
        Ok(match name {
            Some(name) => part.file_name(name),
            None => part,
        })
    }

    /// The `filename` the server sees.
    pub fn file_name(mut self, name: impl Into<String>) -> Part {
        self.file_name = Some(name.into());
        self
    }

    /// The part's `Content-Type` (`image/png`, `application/json`). A
    /// value with a line break is refused (it would end the part's head):
    /// the type is then left out.
    pub fn mime(mut self, mime: &str) -> Part {
        self.mime = (!mime.contains(['\r', '\n'])).then(|| mime.to_owned());
        self
    }
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part").field("file_name", &self.file_name).field("mime", &self.mime).finish_non_exhaustive()
    }
}

/// A name inside `"..."` as browsers write it (the HTML standard's
/// form-data encoding): `"`, CR and LF percent-encoded, the rest as is.
fn escape(name: &str) -> String {
    name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// 32 random hex digits: no part's content can contain the boundary by
/// chance (a 2^-128 collision), so the content is never scanned.
fn boundary() -> String {
    let state = RandomState::new();
    let (a, b) = (state.hash_one(0u8), state.hash_one(1u8));
    format!("sprout-boundary-{a:016x}{b:016x}")
}

/// What is left to send.
enum Piece {
    Bytes(Bytes),
    Stream(Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>>>>, Option<u64>),
}

/// The form on the wire, piece by piece.
struct FormBody {
    pieces: VecDeque<Piece>,
    /// The length still to send, when every part's is known.
    length: Option<u64>,
    /// Bytes of the current stream part so far, checked against its promise.
    sent: u64,
}

impl hyper::body::Body for FormBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            match this.pieces.front_mut() {
                None => return Poll::Ready(None),
                Some(Piece::Bytes(_)) => {
                    let Some(Piece::Bytes(bytes)) = this.pieces.pop_front() else { unreachable!() };
                    if !bytes.is_empty() {
                        return Poll::Ready(Some(Ok(this.frame(bytes))));
                    }
                }
                Some(Piece::Stream(stream, promised)) => match stream.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(Some(Ok(bytes))) => {
                        this.sent += bytes.len() as u64;
                        if promised.is_some_and(|p| this.sent > p) {
                            return Poll::Ready(Some(Err(length_mismatch(*promised, this.sent))));
                        }
                        return Poll::Ready(Some(Ok(this.frame(bytes))));
                    }
                    Poll::Ready(None) => {
                        if promised.is_some_and(|p| this.sent != p) {
                            return Poll::Ready(Some(Err(length_mismatch(*promised, this.sent))));
                        }
                        this.sent = 0;
                        this.pieces.pop_front();
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(length) => SizeHint::with_exact(length),
            None => SizeHint::default(),
        }
    }
}

impl FormBody {
    fn frame(&mut self, bytes: Bytes) -> Frame<Bytes> {
        self.length = self.length.map(|left| left.saturating_sub(bytes.len() as u64));
        Frame::data(bytes)
    }
}

fn length_mismatch(promised: Option<u64>, sent: u64) -> BoxError {
    format!("a multipart part promised {} bytes and gave at least {sent}", promised.unwrap_or_default()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(form: Form) -> Result<(Vec<u8>, Option<u64>), BoxError> {
        use hyper::body::Body as _;
        let body = form.into_body();
        let length = body.size_hint().exact();
        Ok((crate::to_bytes(body).await?.to_vec(), length))
    }

    #[test]
    fn the_wire_format_and_its_length() {
        sprout_runtime::run(async {
            let form = Form { boundary: "B".into(), parts: Vec::new() }
                .text("a", "1")
                .part("f\"ile", Part::bytes("xy").file_name("a\r\nb.txt").mime("text/plain"));
            let (bytes, length) = collect(form).await.unwrap();
            let want = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
                        --B\r\nContent-Disposition: form-data; name=\"f%22ile\"; filename=\"a%0D%0Ab.txt\"\r\n\
                        Content-Type: text/plain\r\n\r\nxy\r\n--B--\r\n";
            assert_eq!(String::from_utf8(bytes).unwrap(), want);
            assert_eq!(length, Some(want.len() as u64));
        });
    }

    #[test]
    fn streams_with_and_without_a_length() {
        sprout_runtime::run(async {
            let chunks = || futures_util::stream::iter(["ab", "cd"].map(Ok::<_, io::Error>));
            let form = Form::new().part("s", Part::stream(chunks(), None));
            let (bytes, length) = collect(form).await.unwrap();
            assert_eq!(length, None, "unknown: chunked");
            assert!(String::from_utf8(bytes).unwrap().contains("\r\n\r\nabcd\r\n--"));
            let form = Form::new().part("s", Part::stream(chunks(), Some(4)));
            assert!(collect(form).await.unwrap().1.is_some());
            let err = collect(Form::new().part("s", Part::stream(chunks(), Some(3)))).await.unwrap_err();
            assert!(err.to_string().contains("promised 3 bytes"), "{err}");
            let err = collect(Form::new().part("s", Part::stream(chunks(), Some(5)))).await.unwrap_err();
            assert!(err.to_string().contains("promised 5 bytes"), "{err}");
        });
    }

    #[test]
    fn boundaries_differ_and_a_bad_mime_is_left_out() {
        assert_ne!(Form::new().boundary(), Form::new().boundary());
        assert_eq!(Part::text("x").mime("text/plain\r\nX-Evil: 1").mime, None);
    }
}
