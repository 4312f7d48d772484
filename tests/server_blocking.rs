//! Issue 18, bug 10: a `StreamServer` handler that blocks the thread is
//! reported with the connection's name (its peer's address), the line that
//! made the server as its spawn site, and the blocked thread's stack down
//! to the handler's sleep call, not with sprout's own files.
//!
//! The report goes to stderr, so the test re-runs itself in a child
//! process and reads the child's stderr (`support::blocking_report`).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use sprout::net::{StreamServer, TcpStream};
use support::blocking_report;

/// Answers after blocking the runtime thread, until the detector has
/// reported it: the bug the report must find.
async fn slow_handler(stream: TcpStream, _peer: SocketAddr) -> std::io::Result<()> {
    let mut request = [0; 4];
    stream.read_exact(&mut request).await?;
    while !blocking_report::reported() {
        std::thread::sleep(Duration::from_millis(10)); // BLOCKS
    }
    stream.write_all(b"done").await
}

#[test]
fn a_blocking_handler_is_reported_with_its_connection_spawn_site_and_stack() {
    blocking_report::run(
        "a_blocking_handler_is_reported_with_its_connection_spawn_site_and_stack",
        file!(),
        include_str!("server_blocking.rs"),
        "slow_handler",
        // The child: one request to the slow handler.
        || async {
            let server = StreamServer::bind("127.0.0.1:0", slow_handler).await.unwrap(); // BIND
            let addr = server.local_addr().unwrap();
            let handle = server.start();
            let client = TcpStream::connect(addr).await.unwrap();
            blocking_report::client_at(client.local_addr().unwrap());
            client.write_all(b"ping").await.unwrap();
            let mut reply = [0; 4];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"done");
            handle.stop();
        },
    );
}
