//! The client's [`Error`]: one type, with a question per kind of failure.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use hyper::StatusCode;

use super::UrlError;
use crate::url::target::{Target, UrlErrorKind};

/// Why a request failed.
///
/// Ask it what went wrong with the `is_*` methods (they mirror `requests`'
/// exception classes and reqwest's error methods); its `Display` says it
/// in a sentence that names the host, the limit or the status involved.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    status: Option<StatusCode>,
    source: Box<dyn StdError + Send + Sync>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Url,
    Connect,
    /// The proxy refused or failed the tunnel (a `CONNECT` answered with
    /// anything but 2xx, or not HTTP at all).
    Proxy,
    Tls,
    Timeout,
    /// Setting up a connection took longer than the connect timeout.
    ConnectTimeout,
    Redirects,
    Http,
    /// A request that could not be built (a bad header, a value that
    /// does not serialize).
    Builder,
    /// A body that does not decode: corrupt compressed bytes, or JSON
    /// that does not parse into the type asked for.
    Decode,
    /// [`Response::error_for_status`](super::Response::error_for_status)
    /// on a 4xx or 5xx.
    Status,
    /// A body read whole was larger than its limit.
    BodyTooLarge,
}

impl Error {
    pub(crate) fn new(kind: Kind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error { kind, status: None, source: source.into() }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn url(e: UrlError) -> Error {
        Error::new(Kind::Url, e)
    }

    /// A URL `http::Uri` would not parse.
    pub(crate) fn malformed(url: &str, e: impl fmt::Display) -> Error {
        Error::url(UrlError::new(&url, UrlErrorKind::Malformed(e.to_string())))
    }

    pub(crate) fn connect(key: &Target, e: io::Error) -> Error {
        Error::new(Kind::Connect, format!("cannot connect to {}:{}: {e}", key.host, key.port))
    }

    pub(crate) fn connect_timeout(key: &Target, limit: Duration) -> Error {
        Error::new(Kind::ConnectTimeout, format!("connecting to {}:{} took longer than {limit:?}", key.host, key.port))
    }

    pub(crate) fn proxy(message: String) -> Error {
        Error::new(Kind::Proxy, message)
    }

    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) fn tls(key: &Target, e: io::Error) -> Error {
        Error::new(Kind::Tls, format!("TLS handshake with {}:{} failed: {e}", key.host, key.port))
    }

    pub(crate) fn timeout() -> Error {
        Error::new(Kind::Timeout, "the request timed out")
    }

    pub(crate) fn read_timeout(limit: Duration) -> Error {
        Error::new(Kind::Timeout, format!("no data from the server for {limit:?} (the read timeout)"))
    }

    pub(crate) fn http(e: hyper::Error) -> Error {
        Error::new(Kind::Http, e)
    }

    /// A body read whole passed `limit` bytes.
    pub(crate) fn body_too_large(limit: usize) -> Error {
        Error::new(Kind::BodyTooLarge, crate::BodyTooLarge::new(limit))
    }

    pub(crate) fn builder(e: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error::new(Kind::Builder, e)
    }

    #[cfg_attr(not(any(feature = "json", feature = "gzip", feature = "deflate", feature = "brotli")), allow(dead_code))]
    pub(crate) fn decode(status: StatusCode, e: impl Into<Box<dyn StdError + Send + Sync>>) -> Error {
        Error { kind: Kind::Decode, status: Some(status), source: e.into() }
    }

    pub(crate) fn status_code(status: StatusCode, url: &hyper::Uri) -> Error {
        let kind = if status.is_client_error() { "client error" } else { "server error" };
        Error { kind: Kind::Status, status: Some(status), source: format!("{kind} {status} from {url}").into() }
    }

    /// The URL (of the request, or of a redirect) cannot be used: see
    /// [`url_error`](Self::url_error) for why.
    pub fn is_url(&self) -> bool {
        self.kind == Kind::Url
    }

    /// What was wrong with the URL, for an [`is_url`](Self::is_url) error.
    pub fn url_error(&self) -> Option<&UrlError> {
        self.source.downcast_ref()
    }

    /// The host did not resolve, refused the connection, took longer
    /// than the connect timeout to set it up, or a proxy on the way
    /// refused the tunnel (then [`is_proxy`](Self::is_proxy) too).
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::ConnectTimeout | Kind::Proxy)
    }

    /// The proxy refused to open a tunnel (`CONNECT` answered with 403,
    /// 407 or another status that is not 2xx; the message has it) or
    /// did not answer in HTTP.
    pub fn is_proxy(&self) -> bool {
        self.kind == Kind::Proxy
    }

    /// The TLS handshake failed (a certificate not trusted, say).
    pub fn is_tls(&self) -> bool {
        self.kind == Kind::Tls
    }

    /// A time limit passed: the request's ([`Builder::timeout`](super::Builder::timeout)
    /// or [`RequestBuilder::timeout`](super::RequestBuilder::timeout)),
    /// the read timeout ([`Builder::read_timeout`](super::Builder::read_timeout)),
    /// or the connection's ([`Builder::connect_timeout`](super::Builder::connect_timeout),
    /// then [`is_connect`](Self::is_connect) too).
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout | Kind::ConnectTimeout)
    }

    /// Too many redirects.
    pub fn is_redirect(&self) -> bool {
        self.kind == Kind::Redirects
    }

    /// A body read whole ([`Response::bytes`](super::Response::bytes),
    /// [`text`](super::Response::text), [`json`](super::Response::json))
    /// was larger than its limit.
    pub fn is_body_too_large(&self) -> bool {
        self.kind == Kind::BodyTooLarge
    }

    /// The request could not be built: a header name or value that is
    /// not valid, a value that does not serialize to JSON.
    pub fn is_builder(&self) -> bool {
        self.kind == Kind::Builder
    }

    /// The body did not decode: compressed bytes that are corrupt, or
    /// JSON that does not parse into the type asked for (the message
    /// gives the line and column). [`status`](Self::status) is the
    /// response's.
    pub fn is_decode(&self) -> bool {
        self.kind == Kind::Decode
    }

    /// [`Response::error_for_status`](super::Response::error_for_status)
    /// found a 4xx or 5xx status ([`status`](Self::status) says which).
    pub fn is_status(&self) -> bool {
        self.kind == Kind::Status
    }

    /// The response's status, for an error about a response
    /// ([`is_status`](Self::is_status), [`is_decode`](Self::is_decode)).
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.source()
    }
}
