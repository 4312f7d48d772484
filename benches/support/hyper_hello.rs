//! The HTTP benchmarks' peer: hyper's http1 server answering
//! `Hello, World!` on every connection, on the tokio runtime it is given
//! (`current_thread` in `http.rs`, `multi_thread(2)` in `scale_http.rs`).

use std::net::SocketAddr;

/// The body every server in the HTTP benchmarks answers with.
pub static HELLO: &[u8] = b"Hello, World!";

/// Binds a loopback port, tells `announce` its address, and serves forever.
pub fn serve(runtime: tokio::runtime::Runtime, announce: fn(SocketAddr)) {
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
