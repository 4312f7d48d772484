//! Issue 18, bug 10: an HTTP handler that blocks the thread is reported
//! with the connection's name (its peer's address), the line that made
//! the server as its spawn site, and the blocked thread's stack down to
//! the handler's sleep call.
//!
//! The report goes to stderr, so the test re-runs itself in a child
//! process and reads the child's stderr (the root crate's
//! `tests/support/blocking_report.rs`, included by path).

#[path = "../../tests/support/blocking_report.rs"]
mod blocking_report;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use sprout_http::rt::{Exec, Io};
use sprout_http::{Body, Incoming, Request, Response, Server};
use sprout_net::TcpStream;

/// Answers after blocking the runtime thread, until the detector has
/// reported it: the bug the report must find.
async fn slow_handler(_req: Request<Incoming>) -> Response<Body> {
    while !blocking_report::reported() {
        std::thread::sleep(Duration::from_millis(10)); // BLOCKS
    }
    Response::new("done".into())
}

#[test]
fn a_blocking_handler_is_reported_with_its_connection_spawn_site_and_stack() {
    blocking_report::run(
        "a_blocking_handler_is_reported_with_its_connection_spawn_site_and_stack",
        file!(),
        include_str!("http_blocking.rs"),
        "slow_handler",
        || one_slow_request(false),
    );
}

/// The same over HTTP/2, where hyper runs the handler in a task of its
/// own per stream (spawned through sprout-http's executor), not in the
/// connection's task.
#[test]
fn a_blocking_http2_handler_is_reported_with_its_connection_spawn_site_and_stack() {
    blocking_report::run(
        "a_blocking_http2_handler_is_reported_with_its_connection_spawn_site_and_stack",
        file!(),
        include_str!("http_blocking.rs"),
        "slow_handler",
        || one_slow_request(true),
    );
}

/// The child: one request to the slow handler, over HTTP/1.1 or HTTP/2
/// (prior knowledge).
async fn one_slow_request(http2: bool) {
    let server = Server::bind("127.0.0.1:0", slow_handler).await.unwrap(); // BIND
    let addr = server.local_addr().unwrap();
    let handle = server.start();
    let client = TcpStream::connect(addr).await.unwrap();
    blocking_report::client_at(client.local_addr().unwrap());
    let reply = if http2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(Exec, Io::new(client)).await.unwrap();
        sprout_runtime::spawn(conn);
        let req = hyper::Request::get(format!("http://{addr}/")).body(Empty::<Bytes>::new()).unwrap();
        let resp = send.send_request(req).await.unwrap();
        assert_eq!(resp.version(), hyper::Version::HTTP_2);
        String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned()
    } else {
        client.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut reply = Vec::new();
        let mut buf = [0; 1024];
        while let Ok(n @ 1..) = client.read(&mut buf).await {
            reply.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&reply).into_owned()
    };
    assert!(reply.ends_with("done"), "{reply}");
    handle.stop();
}
