//! TcpListener: incoming(), the builder's options, cancellation safety.

mod support;

use std::time::Duration;

use futures::StreamExt;
use sprout::net::{TcpListener, TcpStream};
use support::within;

#[test]
fn incoming_yields_connections() {
    sprout::run(within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = sprout::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(TcpStream::connect(addr).await.unwrap());
            }
            v
        });
        let accepted: Vec<TcpStream> = listener.incoming().take(3).map(Result::unwrap).collect().await;
        assert_eq!(accepted.len(), 3);
        drop(clients.await.unwrap());
    }));
}

#[test]
fn a_dropped_accept_loses_no_connection() {
    sprout::run(within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // An accept cancelled while it waits...
        assert!(sprout::timeout(Duration::from_millis(10), listener.accept()).await.is_err());
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        // ...does not swallow the next connection.
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop(server);
    }));
}

#[test]
fn a_cloned_listener_accepts_too() {
    sprout::run(within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clone = listener.try_clone().unwrap();
        assert_eq!(clone.local_addr().unwrap(), listener.local_addr().unwrap());
        drop(listener);
        let client = TcpStream::connect(clone.local_addr().unwrap()).await.unwrap();
        let (_server, peer) = clone.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    }));
}

#[test]
fn builder_options() {
    sprout::run(within(async {
        let a = TcpListener::builder().reuse_port(true).backlog(16).bind("127.0.0.1:0").await.unwrap();
        let port = a.local_addr().unwrap().port();
        // SO_REUSEPORT lets a second socket bind the same port.
        let b = TcpListener::builder().reuse_port(true).bind(("127.0.0.1", port)).await.unwrap();
        assert_eq!(b.local_addr().unwrap().port(), port);
        // Without it, the port is taken.
        let err = TcpListener::builder().bind(("127.0.0.1", port)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        a.set_ttl(9).unwrap();
        assert_eq!(a.ttl().unwrap(), 9);
        assert!(a.take_error().unwrap().is_none());
        // IPv6-only, where the machine has IPv6.
        if let Ok(v6) = TcpListener::builder().only_v6(true).bind("[::1]:0").await {
            assert!(v6.local_addr().unwrap().is_ipv6());
        }
    }));
}
