//! Opening a client connection: DNS off the loop, TCP, a proxy's tunnel,
//! TLS, hyper's handshake.
//!
//! | route | steps |
//! | --- | --- |
//! | direct | TCP to the origin, TLS for `https`, hyper |
//! | `http://` through a proxy | TCP to the proxy (TLS for an `https://` proxy), hyper; requests then go in absolute form |
//! | `https://` through a proxy | TCP to the proxy (TLS for an `https://` proxy), `CONNECT` ([`super::proxy::tunnel`]), TLS to the origin inside the tunnel, hyper |
//!
//! The connect timeout bounds all of it as one deadline: a server that
//! accepts TCP and never answers the TLS handshake fails like one that
//! never accepts. Within it, each of the host's addresses gets an equal
//! share of the time left when its turn comes (as hyper-util's connector
//! does), so one black-holed address does not use up the chances of the
//! next.

use std::io;
use std::time::Duration;

use sprout_net::TcpStream;
use sprout_runtime::time::Instant;

use super::Error;
use super::pool::{Key, Sender};
use super::proxy::{Endpoint, tunnel};
use crate::rt::Io;

/// What a new connection needs to know.
pub(crate) struct Connector {
    pub(crate) connect_timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<futures_rustls::rustls::ClientConfig>>,
}

impl Connector {
    /// Connects to `key`'s origin and runs hyper's handshake, within the
    /// connect timeout; the connection's driver becomes a green task of
    /// its own.
    pub(crate) async fn connect(&self, key: &Key, via: Option<&Endpoint>) -> Result<Sender, Error> {
        // A limit too far away to represent is no limit.
        let deadline = self.connect_timeout.and_then(|t| sprout_runtime::time::now().checked_add(t));
        match (deadline, self.connect_timeout) {
            (Some(deadline), Some(limit)) => {
                sprout_runtime::time::timeout_at(deadline, self.establish(key, via, Some(deadline)))
                    .await
                    .map_err(|_| Error::connect_timeout(key, limit))?
            }
            _ => self.establish(key, via, None).await,
        }
    }

    /// Whether a connection to `key` may turn out HTTP/2 (then requests
    /// that arrive while it is set up wait for it: `share`).
    pub(crate) fn may_negotiate_h2(&self, key: &Key) -> bool {
        #[cfg(all(feature = "tls", feature = "http2"))]
        if key.tls {
            return self.tls_config().alpn_protocols.iter().any(|p| p == b"h2");
        }
        let _ = key;
        false
    }

    async fn establish(&self, key: &Key, via: Option<&Endpoint>, deadline: Option<Instant>) -> Result<Sender, Error> {
        let Some(proxy) = via else {
            let stream = self.tcp(key, deadline).await?;
            if key.tls {
                return self.https(key, stream).await;
            }
            return http1(Io::from(stream)).await;
        };
        let at = &proxy.target;
        let mut stream = self.tcp(at, deadline).await.map_err(|e| Error::proxy(format!("proxy {proxy:?}: {e}")))?;
        if !at.tls {
            if key.tls {
                tunnel::open(&mut stream, proxy, key).await?;
                return self.https(key, stream).await;
            }
            return http1(Io::from(stream)).await;
        }
        #[cfg(feature = "tls")]
        {
            // HTTP/1.1 to the proxy: `CONNECT` and absolute-form requests
            // are HTTP/1 here, whatever ALPN would pick.
            let mut config = (*self.tls_config()).clone();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let stream = crate::tls::connect(&at.host, stream, std::sync::Arc::new(config))
                .await
                .map_err(|e| Error::proxy(format!("proxy {proxy:?}: {}", Error::tls(at, e))))?;
            self.through(key, proxy, stream).await
        }
        #[cfg(not(feature = "tls"))]
        Err(Error::proxy(format!("proxy {proxy:?}: an https:// proxy needs sprout-http's `tls` feature")))
    }

    /// The origin's protocol over `stream`, a TLS connection to `proxy`.
    #[cfg(feature = "tls")]
    async fn through<S>(&self, key: &Key, proxy: &Endpoint, mut stream: S) -> Result<Sender, Error>
    where
        S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
    {
        if key.tls {
            tunnel::open(&mut stream, proxy, key).await?;
            return self.https(key, stream).await;
        }
        http1(Io::new(stream)).await
    }

    /// A TCP connection to the first address of the host that answers.
    async fn tcp(&self, key: &Key, deadline: Option<Instant>) -> Result<TcpStream, Error> {
        // Off the loop (the blocking pool) unless the host is a literal.
        let addrs: Vec<_> =
            sprout_net::lookup_host((key.bare_host(), key.port)).await.map_err(|e| Error::connect(key, e))?.collect();
        let mut last = None;
        for (i, addr) in addrs.iter().enumerate() {
            let attempt = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(sprout_runtime::time::now());
                    // `addrs.len() - i` is at least 1 and at most the list's length.
                    let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
                    TcpStream::connect_timeout(addr, share).await
                }
                None => TcpStream::connect(*addr).await,
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
    fn tls_config(&self) -> std::sync::Arc<futures_rustls::rustls::ClientConfig> {
        match &self.tls {
            Some(config) => config.clone(),
            None => crate::tls::default_client_config(),
        }
    }

    #[cfg(feature = "tls")]
    async fn https<S>(&self, key: &Key, stream: S) -> Result<Sender, Error>
    where
        S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
    {
        let stream = crate::tls::connect(&key.host, stream, self.tls_config()).await.map_err(|e| Error::tls(key, e))?;
        #[cfg(feature = "http2")]
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            return http2(Io::new(stream)).await;
        }
        http1(Io::new(stream)).await
    }

    #[cfg(not(feature = "tls"))]
    async fn https<S>(&self, key: &Key, _stream: S) -> Result<Sender, Error> {
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

/// hyper's HTTP/2 handshake over `io` (the client speaks it over TLS only).
#[cfg(all(feature = "tls", feature = "http2"))]
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
