//! TcpStream basics: connect, read, write, peek, options, std conversions,
//! futures-io traits, name resolution.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use sprout::net::{Shutdown, TcpListener, TcpStream};
use support::{pair, within};

#[test]
fn round_trip_and_addresses() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
        assert_eq!(client.local_addr().unwrap(), server.peer_addr().unwrap());
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        server.write_all(b"world").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(client.read(&mut []).await.unwrap(), 0);
        client.flush().await.unwrap();
    }));
}

#[test]
fn peek_leaves_the_data_queued() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        client.write_all(b"abc").await.unwrap();
        let mut buf = [0; 8];
        let mut n = 0;
        while n < 3 {
            n = server.peek(&mut buf).await.unwrap();
        }
        assert_eq!(&buf[..3], b"abc");
        server.read_exact(&mut buf[..3]).await.unwrap();
        assert_eq!(&buf[..3], b"abc");
    }));
}

#[test]
fn read_to_end_after_shutdown() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let writer = sprout::spawn({
            let payload = payload.clone();
            async move {
                client.write_all(&payload).await.unwrap();
                client.shutdown(Shutdown::Write).unwrap();
                client
            }
        });
        let mut got = Vec::new();
        assert_eq!(server.read_to_end(&mut got).await.unwrap(), payload.len());
        assert_eq!(got, payload);
        drop(writer.await.unwrap());
        let mut text = String::new();
        assert_eq!(server.read_to_string(&mut text).await.unwrap(), 0);
    }));
}

#[test]
fn vectored_io() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let n = client.write_vectored(&[std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")]).await.unwrap();
        assert_eq!(n, 4);
        let (mut a, mut b) = ([0; 1], [0; 3]);
        let mut bufs = [std::io::IoSliceMut::new(&mut a[..]), std::io::IoSliceMut::new(&mut b[..])];
        // One writev, one segment: loopback delivers the 4 bytes together.
        assert_eq!(server.read_vectored(&mut bufs).await.unwrap(), 4);
        assert_eq!((&a, &b), (b"a", b"bcd"));
    }));
}

#[test]
fn connect_refused_and_timeout_errors() {
    sprout::run(within(async {
        // A port nobody listens on: bind one, note it, close it.
        let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        let err = TcpStream::connect_timeout(&addr, Duration::ZERO).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }));
}

#[test]
fn connect_tries_every_address() {
    sprout::run(within(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let addrs: Vec<SocketAddr> = vec![dead, listener.local_addr().unwrap()];
        let stream = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addrs[1]);
    }));
}

#[test]
fn host_names_resolve_off_the_loop() {
    sprout::run(within(async {
        let listener = TcpListener::bind(("localhost", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let addrs: Vec<_> = sprout::net::lookup_host(format!("localhost:{port}")).await.unwrap().collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.port() == port));
        // The listener got one of them; connecting by name reaches it.
        let client = TcpStream::connect(("localhost", port)).await;
        if let Ok(client) = client {
            let (server, _) = listener.accept().await.unwrap();
            assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        }
        let err = sprout::net::lookup_host("no-port-here").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }));
}

#[test]
fn socket_options() {
    sprout::run(within(async {
        let (client, _server) = pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        client.set_linger(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(1)));
        client.set_keepalive(Some(Duration::from_secs(60))).unwrap();
        assert!(client.keepalive().unwrap());
        client.set_keepalive(None).unwrap();
        assert!(!client.keepalive().unwrap());
        assert!(client.take_error().unwrap().is_none());
        assert_eq!(client.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
        client.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(client.read_timeout().unwrap(), Some(Duration::from_secs(3)));
        client.set_write_timeout(None).unwrap();
        assert_eq!(client.write_timeout().unwrap(), None);
    }));
}

#[test]
fn std_conversions_and_clone() {
    sprout::run(within(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::from_std(std::net::TcpStream::connect(addr).unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let clone = client.try_clone().unwrap();
        clone.write_all(b"via clone").await.unwrap();
        let mut buf = [0; 9];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"via clone");
        // Back to std: blocking mode, still connected.
        let mut std_server = server.into_std().unwrap();
        drop(clone);
        client.write_all(b"x").await.unwrap();
        let mut one = [0; 1];
        std::io::Read::read_exact(&mut std_server, &mut one).unwrap();
        assert_eq!(&one, b"x");
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    }));
}

#[test]
fn futures_io_traits_work_with_copy_and_bufreader() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let relay = sprout::spawn(async move {
            // Echo through futures::io::copy on the two halves.
            let (reader, mut writer) = server.split();
            futures::io::copy(reader, &mut writer).await.unwrap()
        });
        let (mut reader, mut writer) = (&client, &client);
        writer.write_all(b"line one\nline two\n").await.unwrap();
        writer.close().await.unwrap(); // shutdown(Write): the relay sees EOF
        let mut lines = BufReader::new(&mut reader).lines();
        assert_eq!(lines.next().await.unwrap().unwrap(), "line one");
        assert_eq!(lines.next().await.unwrap().unwrap(), "line two");
        assert!(lines.next().await.is_none());
        assert_eq!(relay.await.unwrap(), 18);
        let mut rest = Vec::new();
        assert_eq!(AsyncReadExt::read_to_end(&mut &client, &mut rest).await.unwrap(), 0);
    }));
}

#[test]
fn using_a_socket_outside_its_runtime_is_an_error_not_a_panic() {
    let stream = sprout::run(async { pair().await.0 });
    // The runtime is gone: the registration is stale.
    let result = sprout::run(async move { stream.write(b"x").await });
    assert!(result.is_err());
}
