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

use blocking_report::{Expected, line_of};
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
    if blocking_report::is_child() {
        return serve_one_slow_request();
    }
    let stderr =
        blocking_report::stderr_of_child("a_blocking_handler_is_reported_with_its_connection_spawn_site_and_stack");
    let peer = stderr.lines().find_map(|l| l.strip_prefix("child: client at ")).expect("the child's client address");
    let source = include_str!("http_blocking.rs");
    blocking_report::check(
        &stderr,
        &Expected {
            file: file!(),
            bind_line: line_of(source, "// BIND"),
            sleep_line: line_of(source, "// BLOCKS"),
            handler: "slow_handler",
            peer,
        },
    );
}

fn serve_one_slow_request() {
    // The handler blocks until the report is out.
    let rt = blocking_report::runtime();
    rt.block_on(async {
        let server = Server::bind("127.0.0.1:0", slow_handler).await.unwrap(); // BIND
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = TcpStream::connect(addr).await.unwrap();
        eprintln!("child: client at {}", client.local_addr().unwrap());
        client.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut reply = Vec::new();
        let mut buf = [0; 1024];
        while let Ok(n @ 1..) = client.read(&mut buf).await {
            reply.extend_from_slice(&buf[..n]);
        }
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("done"), "{reply}");
        handle.stop();
    });
    // Dropping the runtime joins the monitor, which prints what is queued.
    drop(rt);
}
