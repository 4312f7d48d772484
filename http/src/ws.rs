//! WebSockets over sprout's streams: async-tungstenite, server and client
//! (the role of gevent-websocket).
//!
//! - [`upgrade`]: a WebSocket on a request of [`Server`](crate::Server),
//!   next to the other routes (gevent-websocket's `wsgi.websocket`).
//! - [`accept`]: the server's handshake on an accepted stream (a
//!   `TcpStream` from a [`StreamServer`](sprout_net::StreamServer), a TLS
//!   stream from [`tls::accept`](crate::tls::accept)...).
//! - [`connect`]: open `ws://` or `wss://` (with the `tls` feature) URLs.
//!
//! Each has a `_with_config` twin taking a [`Config`]: the limits on what
//! the peer may make this side hold. The defaults are safe for a server
//! facing the internet: 4 MiB per message and per frame
//! ([`limits::MAX_WS_MESSAGE_SIZE`](crate::limits::MAX_WS_MESSAGE_SIZE),
//! [`limits::MAX_WS_FRAME_SIZE`](crate::limits::MAX_WS_FRAME_SIZE)), where
//! tungstenite's own are 64 MiB and 16 MiB.
//!
//! A [`WebSocketStream`] is a `Stream` of incoming [`Message`]s and a
//! `Sink` of outgoing ones (`futures_util::{StreamExt, SinkExt}`); its
//! [`split`](WebSocketStream::split) halves let one task read while
//! another writes. Everything stays on the runtime's thread.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use sprout::ws::{self, Message};
//! use sprout::net::StreamServer;
//!
//! sprout::run(async {
//!     // An echo server: every text message comes back upper-cased.
//!     let server = StreamServer::bind("127.0.0.1:0", |stream, _peer| async move {
//!         let mut socket = ws::accept(stream).await?;
//!         while let Some(msg) = socket.next().await {
//!             if let Message::Text(text) = msg? {
//!                 socket.send(Message::text(text.to_uppercase())).await?;
//!             }
//!         }
//!         Ok::<_, ws::Error>(())
//!     })
//!     .await
//!     .unwrap();
//!     let url = format!("ws://{}/", server.local_addr().unwrap());
//!     let server = server.start();
//!
//!     let (mut socket, _response) = ws::connect(&url).await.unwrap();
//!     socket.send(Message::text("hello")).await.unwrap();
//!     let reply = socket.next().await.unwrap().unwrap();
//!     assert_eq!(reply.into_text().unwrap(), "HELLO");
//!     server.stop();
//! });
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::Response;
pub use async_tungstenite::tungstenite::{self, Error, Message};
use futures_io::{AsyncRead, AsyncWrite};
use sprout_net::TcpStream;

/// A WebSocket reached through [`upgrade`]: over the HTTP server's connection.
pub type UpgradedSocket = WebSocketStream<UpgradedIo>;

/// The stream under an [`UpgradedSocket`]: the HTTP connection, handed
/// over by hyper, holding a [`Lease`](sprout_net::server::Lease) on the
/// server that accepted it, so that the server counts the WebSocket as a
/// connection and a graceful stop waits for it. Once the stop's deadline
/// ends the lease, reads and writes fail with `ConnectionAborted`, and the
/// task talking on the socket sees an error and finishes.
pub struct UpgradedIo {
    io: crate::rt::Io<hyper::upgrade::Upgraded>,
    /// `None` when the upgrade happened outside a server's handler.
    lease: Option<sprout_net::server::Lease>,
}

impl UpgradedIo {
    /// `Err(ConnectionAborted)` once the server's graceful stop has ended the lease.
    fn check(&self, cx: &mut Context<'_>) -> io::Result<()> {
        match &self.lease {
            Some(lease) if lease.poll_ended(cx).is_ready() => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server's graceful stop reached its deadline: the WebSocket is closed",
            )),
            _ => Ok(()),
        }
    }
}

impl AsyncRead for UpgradedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for UpgradedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

impl std::fmt::Debug for UpgradedIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradedIo").field("lease", &self.lease).finish()
    }
}

/// Whether `req` asks to become a WebSocket (`Upgrade: websocket`).
pub fn is_upgrade_request<B>(req: &hyper::Request<B>) -> bool {
    header_has(req.headers(), hyper::header::UPGRADE, "websocket")
}

/// Answers a WebSocket request on a [`Server`](crate::Server): returns the
/// `101 Switching Protocols` response, for the handler to return, and the
/// future of the WebSocket, which resolves once that response is out.
/// Spawn a task that awaits it, then talks:
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use sprout::ws::{self, Message};
/// use sprout::http::{Body, Incoming, Request, Response, Server};
///
/// async fn app(mut req: Request<Incoming>) -> Response<Body> {
///     if !ws::is_upgrade_request(&req) {
///         return Response::new(Body::from("a plain page"));
///     }
///     match ws::upgrade(&mut req) {
///         Ok((response, socket)) => {
///             sprout::spawn(async move {
///                 let mut socket = socket.await?;
///                 while let Some(msg) = socket.next().await {
///                     socket.send(msg?).await?; // echo
///                 }
///                 Ok::<_, ws::Error>(())
///             });
///             response
///         }
///         Err(e) => Response::builder().status(400).body(Body::from(e.to_string())).unwrap(),
///     }
/// }
///
/// sprout::run(async {
///     let server = Server::bind("127.0.0.1:0", app).await.unwrap();
///     let url = format!("ws://{}/chat", server.local_addr().unwrap());
///     let server = server.start();
///     let (mut socket, _) = ws::connect(&url).await.unwrap();
///     socket.send(Message::text("ping")).await.unwrap();
///     assert_eq!(socket.next().await.unwrap().unwrap().into_text().unwrap(), "ping");
///     server.stop();
/// });
/// ```
///
/// The WebSocket lives in the task you spawn, but it still counts as one
/// of the server's connections ([`UpgradedIo`]): a graceful stop waits for
/// it, and at the stop's deadline its reads and writes fail. To close it
/// cleanly when the stop begins, take the server's
/// [`stopping`](sprout_net::server::stopping) token in the handler and
/// watch it in the task:
///
/// ```
/// use futures_util::{SinkExt, StreamExt};
/// use sprout::ws::{self, Message};
/// use sprout::http::{Body, Incoming, Request, Response};
///
/// async fn app(mut req: Request<Incoming>) -> Response<Body> {
///     let Ok((response, socket)) = ws::upgrade(&mut req) else {
///         return Response::builder().status(400).body(Body::empty()).unwrap();
///     };
///     let stop = sprout::net::server::stopping().expect("inside a handler");
///     sprout::spawn(async move {
///         let mut socket = socket.await?;
///         loop {
///             match stop.run_until_cancelled(socket.next()).await {
///                 Some(Some(msg)) => socket.send(msg?).await?, // echo
///                 Some(None) => return Ok(()),                 // the client left
///                 None => break,                               // the server is stopping
///             }
///         }
///         socket.close(None).await // a Close frame, then the end
///     });
///     response
/// }
/// # let _ = app;
/// # fn main() {}
/// ```
///
/// # Errors
/// A request that is not a valid WebSocket handshake (not a GET, no
/// `Sec-WebSocket-Key`, a version other than 13...): answer it with 400.
#[allow(clippy::result_large_err)] // tungstenite's own error type, as `accept` and `connect` return
pub fn upgrade<B>(
    req: &mut hyper::Request<B>,
) -> Result<
    (hyper::Response<crate::Body>, impl std::future::Future<Output = Result<UpgradedSocket, Error>> + use<B>),
    Error,
> {
    upgrade_with_config(req, Config::default())
}

/// [`upgrade`] with the limits of `config` instead of the defaults.
///
/// ```
/// use sprout::ws;
/// # fn app(mut req: sprout::http::Request<sprout::http::Incoming>) -> sprout::http::Response<sprout::http::Body> {
/// // A chat server: small messages only.
/// let config = ws::Config::default().max_message_size(Some(64 * 1024)).max_frame_size(Some(64 * 1024));
/// match ws::upgrade_with_config(&mut req, config) {
///     Ok((response, socket)) => {
///         sprout::spawn(async move { /* socket.await?, then talk */ drop(socket) });
///         response
///     }
///     Err(e) => sprout::http::Response::builder().status(400).body(e.to_string().into()).unwrap(),
/// }
/// # }
/// ```
///
/// # Errors
/// As [`upgrade`].
#[allow(clippy::result_large_err)] // as `upgrade`
pub fn upgrade_with_config<B>(
    req: &mut hyper::Request<B>,
    config: Config,
) -> Result<
    (hyper::Response<crate::Body>, impl std::future::Future<Output = Result<UpgradedSocket, Error>> + use<B>),
    Error,
> {
    use hyper::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
    use tungstenite::error::ProtocolError;
    if req.method() != hyper::Method::GET {
        return Err(Error::Protocol(ProtocolError::WrongHttpMethod));
    }
    if !header_has(req.headers(), CONNECTION, "upgrade") {
        return Err(Error::Protocol(ProtocolError::MissingConnectionUpgradeHeader));
    }
    if !is_upgrade_request(req) {
        return Err(Error::Protocol(ProtocolError::MissingUpgradeWebSocketHeader));
    }
    if req.headers().get(SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
        return Err(Error::Protocol(ProtocolError::MissingSecWebSocketVersionHeader));
    }
    let key = req.headers().get(SEC_WEBSOCKET_KEY).ok_or(Error::Protocol(ProtocolError::MissingSecWebSocketKey))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let response = hyper::Response::builder()
        .status(hyper::StatusCode::SWITCHING_PROTOCOLS)
        .header(CONNECTION, "upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_ACCEPT, accept)
        .body(crate::Body::empty())
        .map_err(|e| Error::Io(io::Error::other(e)))?;
    let on_upgrade = hyper::upgrade::on(req);
    // Taken now, in the handler: from here the server counts the socket.
    let lease = sprout_net::server::current().map(|server| server.lease());
    let socket = async move {
        let upgraded = on_upgrade.await.map_err(|e| Error::Io(io::Error::other(e)))?;
        let io = UpgradedIo { io: crate::rt::Io::new(upgraded), lease };
        Ok(WebSocketStream::from_raw_socket(io, tungstenite::protocol::Role::Server, Some(config.inner)).await)
    };
    Ok((response, socket))
}

/// Whether a comma-separated header holds `token` (case-insensitive).
fn header_has(headers: &hyper::HeaderMap, name: hyper::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Runs the server's handshake on `stream` (which has sent nothing yet).
///
/// # Errors
/// The handshake's: not a WebSocket request, the peer went away...
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with_config(stream, Config::default()).await
}

/// [`accept`] with the limits of `config` instead of the defaults.
///
/// # Errors
/// As [`accept`].
pub async fn accept_with_config<S>(stream: S, config: Config) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    async_tungstenite::accept_async_with_config(stream, Some(config.inner)).await
}

/// Opens a WebSocket to `url` (`ws://host[:port]/path`, or `wss://` with
/// the `tls` feature, trusting the Mozilla roots): DNS off the loop, TCP,
/// TLS, then the handshake. A `Request` with extra headers works too.
///
/// The URL is checked before anything connects, as the
/// [`Client`](crate::Client) checks its own: a port above 65535, an empty
/// or malformed host, credentials in the URL fail with `Error::Url`.
///
/// # Errors
/// A bad URL (`Error::Url`: `UnsupportedUrlScheme`, `NoHostName`,
/// `EmptyHostName`, or `UnableToConnect` with the reason, such as
/// `ws://h:99999/: port 99999 is out of range (1 to 65535)`), the
/// connection's or the handshake's error.
pub async fn connect(url: impl IntoClientRequest + Unpin) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with the limits of `config` instead of the defaults: what
/// the server may make this client hold.
///
/// # Errors
/// As [`connect`].
pub async fn connect_with_config(
    url: impl IntoClientRequest + Unpin,
    config: Config,
) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    let request = url.into_client_request()?;
    let target = crate::url::target::Target::parse(request.uri(), crate::url::target::WS).map_err(url_error)?;
    let tcp = TcpStream::connect((target.bare_host(), target.port)).await?;
    let _ = tcp.set_nodelay(true);
    let stream = if target.tls { secure_stream(&target.host, tcp).await? } else { ClientStream::Plain(tcp) };
    async_tungstenite::client_async_with_config(request, stream, Some(config.inner)).await
}

/// A URL that cannot be used, as tungstenite's error.
fn url_error(e: crate::url::UrlError) -> Error {
    use crate::url::UrlErrorKind;
    use tungstenite::error::UrlError;
    Error::Url(match e.kind() {
        UrlErrorKind::UnsupportedScheme(_) => UrlError::UnsupportedUrlScheme,
        UrlErrorKind::NotAbsolute => UrlError::NoHostName,
        UrlErrorKind::EmptyHost => UrlError::EmptyHostName,
        _ => UrlError::UnableToConnect(e.to_string()),
    })
}

#[cfg(feature = "tls")]
async fn secure_stream(host: &str, tcp: TcpStream) -> io::Result<ClientStream> {
    // HTTP/2 is not for WebSockets: offer HTTP/1.1 only.
    let mut config = (*crate::tls::default_client_config()).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = crate::tls::connect(host, tcp, std::sync::Arc::new(config)).await?;
    Ok(ClientStream::Tls(Box::new(tls)))
}

#[cfg(not(feature = "tls"))]
async fn secure_stream(_host: &str, _tcp: TcpStream) -> io::Result<ClientStream> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "wss:// needs sprout-http's `tls` feature"))
}

/// The stream under a client WebSocket: plain TCP or TLS over it.
#[derive(Debug)]
pub enum ClientStream {
    /// `ws://`
    Plain(TcpStream),
    /// `wss://`
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::ClientTlsStream<TcpStream>>),
}

impl AsyncRead for ClientStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "tls")]
            ClientStream::Tls(s) => Pin::new(&mut **s).poll_close(cx),
        }
    }
}

/// What a WebSocket's peer may make this side hold: the largest message
/// and frame it accepts (by default
/// [`limits::MAX_WS_MESSAGE_SIZE`](crate::limits::MAX_WS_MESSAGE_SIZE) and
/// [`limits::MAX_WS_FRAME_SIZE`](crate::limits::MAX_WS_FRAME_SIZE), 4 MiB
/// each). Pass it to [`upgrade_with_config`], [`accept_with_config`] or
/// [`connect_with_config`].
///
/// A frame whose header announces more than `max_frame_size` is refused
/// before its payload is read; a message whose frames add up to more than
/// `max_message_size` is refused as the frame that crosses the line
/// arrives. Either way the socket's next item is
/// `Err(Error::Capacity(..))` (`MessageTooLong`) and the connection is
/// done: drop it (it closes), or send a close frame with code 1009
/// (`CloseCode::Size`) first. So one connection holds at most about
/// `max_message_size + max_frame_size` of a peer's data (a message being
/// assembled and the frame being read), besides its read buffer.
///
/// ```
/// use sprout::ws::Config;
///
/// let default = Config::default();
/// assert_eq!(default.get_max_message_size(), Some(sprout::http::limits::MAX_WS_MESSAGE_SIZE));
/// let small = Config::default().max_message_size(Some(64 * 1024)).max_frame_size(Some(16 * 1024));
/// assert_eq!(small.get_max_frame_size(), Some(16 * 1024));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Config {
    inner: tungstenite::protocol::WebSocketConfig,
}

impl Config {
    /// The largest message (the payloads of its frames together) to
    /// accept; `None` for no limit.
    #[must_use]
    pub fn max_message_size(mut self, max: Option<usize>) -> Config {
        self.inner.max_message_size = max;
        self
    }

    /// The largest frame payload to accept; `None` for no limit.
    #[must_use]
    pub fn max_frame_size(mut self, max: Option<usize>) -> Config {
        self.inner.max_frame_size = max;
        self
    }

    /// The largest message accepted.
    pub fn get_max_message_size(&self) -> Option<usize> {
        self.inner.max_message_size
    }

    /// The largest frame accepted.
    pub fn get_max_frame_size(&self) -> Option<usize> {
        self.inner.max_frame_size
    }

    /// tungstenite's settings, for what this type does not cover (buffer
    /// sizes, unmasked frames).
    pub fn into_tungstenite(self) -> tungstenite::protocol::WebSocketConfig {
        self.inner
    }
}

impl Default for Config {
    fn default() -> Config {
        let inner = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(crate::limits::MAX_WS_MESSAGE_SIZE))
            .max_frame_size(Some(crate::limits::MAX_WS_FRAME_SIZE));
        Config { inner }
    }
}

/// tungstenite's settings as they are, limits included.
impl From<tungstenite::protocol::WebSocketConfig> for Config {
    fn from(inner: tungstenite::protocol::WebSocketConfig) -> Config {
        Config { inner }
    }
}
