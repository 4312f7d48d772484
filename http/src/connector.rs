//! A connector for hyper-util's pooled legacy [`Client`](hyper_util::client::legacy::Client),
//! the engine under reqwest: HTTP over sprout's `TcpStream`s, with DNS off
//! the loop.
//!
//! ```
//! use http_body_util::{BodyExt, Empty};
//! use hyper_util::client::legacy::Client;
//! use sprout::http::{Bytes, Response, Server, connector::Connector, rt};
//!
//! sprout::run(async {
//!     let server = Server::bind("127.0.0.1:0", |_req| async { Response::new("pooled") }).await.unwrap();
//!     let url = format!("http://{}/", server.local_addr().unwrap());
//!     let server = server.start();
//!
//!     let client: Client<Connector, Empty<Bytes>> =
//!         Client::builder(rt::Exec).timer(rt::Timer).build(Connector::new());
//!     for _ in 0..2 {
//!         let resp = client.get(url.parse().unwrap()).await.unwrap();
//!         assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "pooled");
//!     }
//!     server.stop();
//! });
//! ```
//!
//! # Why the futures are `Send`
//! hyper-util demands `Send` of the connector's future and of the
//! connection, although sprout runs both on one thread. A sprout
//! `TcpStream` is `Send`: its registration names its runtime, and on any
//! other thread its operations fail with an error instead of touching
//! another runtime's state. It is not `Sync` (its timeouts sit in `Cell`s),
//! so the connect future must never hold a `&TcpStream` across an
//! `.await`; `TcpStream::connect`'s future is written that way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use sprout_net::TcpStream;

use crate::rt::Io;
use crate::url::target::{self, Target};

/// Connects `http://` URIs over sprout's TCP; set it as hyper-util's
/// client connector (with [`Exec`](crate::rt::Exec) and
/// [`Timer`](crate::rt::Timer)).
///
/// A URI it cannot use (another scheme, a port above 65535, an empty or
/// malformed host, credentials) fails with an `InvalidInput` error whose
/// inner error is the [`UrlError`](crate::client::UrlError) saying why.
#[derive(Clone, Copy, Debug, Default)]
pub struct Connector {
    _private: (),
}

impl Connector {
    /// A connector with the defaults: `TCP_NODELAY` on.
    pub fn new() -> Connector {
        Connector { _private: () }
    }
}

/// What hyper-util's pool asks of a connection: nothing special here.
impl Connection for Io<TcpStream> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// The connector's future.
pub type Connecting = Pin<Box<dyn Future<Output = io::Result<Io<TcpStream>>> + Send>>;

impl tower_service::Service<Uri> for Connector {
    type Response = Io<TcpStream>;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        Box::pin(async move {
            // The URL is checked as the Client checks its own (a port above
            // 65535 must not become 80); this connector speaks no TLS.
            let target =
                Target::parse(&uri, target::PLAIN_HTTP).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = TcpStream::connect((target.bare_host(), target.port)).await?;
            stream.set_nodelay(true)?;
            Ok(Io::from(stream))
        })
    }
}
