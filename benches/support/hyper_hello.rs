//! The HTTP benchmarks' servers answering `Hello, World!` on every
//! connection: hyper's http1 server on the tokio runtime it is given
//! (`current_thread` in `http.rs`, `multi_thread(2)` in `scale_http.rs`),
//! and sprout's hello route (`http.rs`, `compat.rs`). Each bench uses
//! some of them.
#![allow(dead_code)]

use std::net::SocketAddr;

/// The body every server in the HTTP benchmarks answers with.
pub(crate) static HELLO: &[u8] = b"Hello, World!";

/// Binds a loopback port, tells `announce` its address, and serves forever.
pub(crate) fn serve(runtime: tokio::runtime::Runtime, announce: fn(SocketAddr)) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper_util::rt::{TokioIo, TokioTimer};
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap());
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let hello = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from_static(HELLO))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), hello)
                    .await;
            });
        }
    });
}

/// sprout: `examples/http_server.rs`'s hello route on `sprout::http::Server`;
/// tells `announce` its address, and serves forever.
pub(crate) fn serve_sprout(announce: fn(SocketAddr)) {
    use sprout::http::{Body, Response, Server};
    sprout::run(async {
        let server = Server::bind("127.0.0.1:0", |_req| async { Response::new(Body::from(HELLO)) }).await.unwrap();
        announce(server.local_addr().unwrap());
        server.serve_forever().await;
    });
}
