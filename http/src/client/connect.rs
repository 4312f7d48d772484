//! Opening a client connection: DNS off the loop, TCP, TLS, hyper's handshake.

use std::io;
use std::time::Duration;

use sprout_net::TcpStream;

use super::Error;
use super::pool::{Key, Sender};
use crate::rt::Io;

/// What a new connection needs to know.
pub(crate) struct Connector {
    pub(crate) connect_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<futures_rustls::rustls::ClientConfig>>,
}

impl Connector {
    /// Connects to `key`'s origin and runs hyper's handshake; the
    /// connection's driver becomes a green task of its own.
    pub(crate) async fn connect(&self, key: &Key) -> Result<Sender, Error> {
        let stream = self.tcp(key).await?;
        if key.https {
            return self.https(key, stream).await;
        }
        http1(Io::from(stream)).await
    }

    /// A TCP connection to the first address of the host that answers.
    async fn tcp(&self, key: &Key) -> Result<TcpStream, Error> {
        // Off the loop (the blocking pool) unless the host is a literal.
        let addrs = sprout_net::lookup_host((key.host.trim_start_matches('[').trim_end_matches(']'), key.port))
            .await
            .map_err(|e| Error::connect(key, e))?;
        let mut last = None;
        for addr in addrs {
            let attempt = match self.connect_timeout {
                Some(timeout) => TcpStream::connect_timeout(&addr, timeout).await,
                None => TcpStream::connect(addr).await,
            };
            match attempt {
                Ok(stream) => {
                    // Requests go out at once, not after a delayed ACK.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host has no address"));
        Err(Error::connect(key, e))
    }

    #[cfg(feature = "tls")]
    async fn https(&self, key: &Key, stream: TcpStream) -> Result<Sender, Error> {
        let config = match &self.tls {
            Some(config) => config.clone(),
            None => crate::tls::default_client_config(),
        };
        let stream = crate::tls::connect(&key.host, stream, config).await.map_err(|e| Error::tls(key, e))?;
        #[cfg(feature = "http2")]
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            return http2(Io::new(stream)).await;
        }
        http1(Io::new(stream)).await
    }

    #[cfg(not(feature = "tls"))]
    async fn https(&self, key: &Key, _stream: TcpStream) -> Result<Sender, Error> {
        Err(Error::tls(key, io::Error::new(io::ErrorKind::Unsupported, "https needs sprout-http's `tls` feature")))
    }
}

/// hyper's HTTP/1 handshake over `io`.
async fn http1<S>(io: Io<S>) -> Result<Sender, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(Error::http)?;
    // The driver: reads responses, writes requests, ends when the
    // connection closes or every sender is dropped.
    drop(sprout_runtime::spawn(async move {
        let _ = conn.await;
    }));
    Ok(Sender::Http1(sender))
}

/// hyper's HTTP/2 handshake over `io`. The client speaks HTTP/2 only when
/// TLS's ALPN picks it, so without `tls` nothing calls this.
#[cfg(all(feature = "http2", feature = "tls"))]
async fn http2<S>(io: Io<S>) -> Result<Sender, Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
{
    let mut builder = hyper::client::conn::http2::Builder::new(crate::rt::Exec);
    builder.timer(crate::rt::Timer);
    let (sender, conn) = builder.handshake(io).await.map_err(Error::http)?;
    drop(sprout_runtime::spawn(async move {
        let _ = conn.await;
    }));
    Ok(Sender::Http2(sender))
}
