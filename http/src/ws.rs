//! WebSockets over sprout's streams: async-tungstenite, server and client
//! (the role of gevent-websocket).
//!
//! - [`accept`]: the server's handshake on an accepted stream (a
//!   `TcpStream` from a [`StreamServer`](sprout_net::StreamServer), a TLS
//!   stream from [`tls::accept`](crate::tls::accept)...).
//! - [`connect`]: open `ws://` or `wss://` (with the `tls` feature) URLs.
//!
//! A [`WebSocketStream`] is a `Stream` of incoming [`Message`]s and a
//! `Sink` of outgoing ones (`futures_util::{StreamExt, SinkExt}`); its
//! [`split`](WebSocketStream::split) halves let one task read while
//! another writes. Everything stays on the runtime's thread.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use sprout_http::ws::{self, Message};
//! use sprout_net::StreamServer;
//!
//! sprout_runtime::run(async {
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
//!     let url = format!("ws://{}/", server.local_addr());
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

/// Runs the server's handshake on `stream` (which has sent nothing yet).
///
/// # Errors
/// The handshake's: not a WebSocket request, the peer went away...
pub async fn accept<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    async_tungstenite::accept_async(stream).await
}

/// Opens a WebSocket to `url` (`ws://host[:port]/path`, or `wss://` with
/// the `tls` feature, trusting the Mozilla roots): DNS off the loop, TCP,
/// TLS, then the handshake. A `Request` with extra headers works too.
///
/// # Errors
/// A bad URL, the connection's or the handshake's error.
pub async fn connect(url: impl IntoClientRequest + Unpin) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    let request = url.into_client_request()?;
    let uri = request.uri();
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => return Err(Error::Url(tungstenite::error::UrlError::UnsupportedUrlScheme)),
    };
    let host = uri.host().ok_or(Error::Url(tungstenite::error::UrlError::NoHostName))?.to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await?;
    let _ = tcp.set_nodelay(true);
    let stream = if secure { secure_stream(&host, tcp).await? } else { ClientStream::Plain(tcp) };
    async_tungstenite::client_async(request, stream).await
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
