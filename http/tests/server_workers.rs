//! `Server::workers`: the HTTP server on several cores.

use std::collections::HashSet;
use std::time::Duration;

use hyper::Response;
use sprout_http::Server;
use sprout_net::TcpStream;

/// One request on a new connection; returns the body.
async fn get(addr: std::net::SocketAddr) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply.split("\r\n\r\n").nth(1).unwrap().to_owned()
}

#[test]
fn requests_are_served_on_every_worker() {
    sprout_runtime::run(async {
        let server =
            Server::bind("127.0.0.1:0", |_req| async { Response::new(format!("{:?}", std::thread::current().id())) })
                .await
                .unwrap()
                .keep_alive_timeout(Some(Duration::from_secs(5)))
                .workers(3);
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        assert_eq!(handle.workers(), 3);
        let mut threads = HashSet::new();
        for _ in 0..150 {
            threads.insert(get(addr).await);
        }
        assert_eq!(threads.len(), 3, "every worker answered: {threads:?}");
        // A kept-alive idle connection on some worker is closed by the graceful stop.
        let idle = TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut buf = [0; 512];
        assert!(idle.read(&mut buf).await.unwrap() > 0);
        assert_eq!(handle.stop_graceful(Duration::from_secs(2)).await, 0, "idle connections close, not killed");
        assert_eq!(handle.connections(), 0);
        assert!(TcpStream::connect(addr).await.is_err(), "no worker listens any more");
    });
}
