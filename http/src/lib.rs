//! HTTP, TLS and WebSockets on sprout's green tasks: hyper 1.x, rustls
//! and tungstenite, glued to sprout's sockets, spawner and timers.
//!
//! - [`Server`], [`serve`]: an HTTP/1.1 server (HTTP/2 with the `http2`
//!   feature), in the role of `gevent.pywsgi`: a green task per
//!   connection, keep-alive, a connection limit, graceful stop, header-read
//!   and keep-alive timeouts, 500 for a handler that panics.
//! - [`Client`]: an HTTP client in the role of `requests` under gevent:
//!   per-host keep-alive pools, DNS off the loop, redirects, total and
//!   read timeouts, streamed bodies, `https://` with the `tls` feature,
//!   JSON (`json`), decompression (`compression`), cookies, proxies,
//!   multipart uploads ([`client`]).
//! - [`Body`]: the body type of both, whole or streamed.
//! - [`limits`]: the default caps on every buffer a peer can grow.
//! - [`rt`]: hyper's runtime traits on sprout, for driving hyper (or any
//!   crate built on hyper's traits) by hand.
//! - `tls` (feature `tls`): rustls through futures-rustls, with the ring
//!   provider; server and client configurations; `serve_tls`.
//! - `ws` (feature `ws`): WebSockets through async-tungstenite, server
//!   and client.
//! - `connector` (feature `hyper-util`): a connector for hyper-util's
//!   pooled `Client`, the engine under reqwest.
//! - `tower` (feature `tower`): tower services on the server, an axum
//!   `Router` among them (`serve_tower`, `Server::bind_tower`), and a
//!   request `TimeoutLayer` on sprout's timer.
//!
//! ```
//! use sprout::http::{Incoming, Request, Response};
//! use sprout::http::{Body, Client, Server};
//!
//! sprout::run(async {
//!     let server = Server::bind("127.0.0.1:0", |req: Request<Incoming>| async move {
//!         Response::new(Body::from(format!("you asked for {}", req.uri().path())))
//!     })
//!     .await
//!     .unwrap();
//!     let url = format!("http://{}/hello", server.local_addr().unwrap());
//!     let handle = server.start();
//!
//!     let client = Client::new();
//!     let resp = client.get(&url).await.unwrap();
//!     assert_eq!(resp.status(), 200);
//!     assert_eq!(resp.text().await.unwrap(), "you asked for /hello");
//!     handle.stop();
//! });
//! ```
//!
//! Everything runs on the runtime's thread: handlers, bodies and the
//! client need not be `Send`.

#![warn(missing_docs)]

mod body;
pub mod client;
#[cfg(feature = "hyper-util")]
pub mod connector;
pub mod limits;
pub mod rt;
mod server;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod url;
#[cfg(feature = "ws")]
pub mod ws;

pub use body::{Body, BodyTooLarge, BoxError, to_bytes, to_bytes_limited};
pub use client::Client;
#[cfg(feature = "tls")]
pub use server::serve_tls;
pub use server::{BoxHandler, ErrorKind, Handler, IntoResponse, ServeError, Server, remote_addr, serve};
#[cfg(feature = "tower")]
pub use tower::{MakeTower, RemoteAddr, TimeoutLayer, Tower, serve_tower};

pub use bytes::Bytes;
pub use hyper::{self, Method, Request, Response, StatusCode, Uri, body::Incoming, header};
