//! Unix streams, listeners and datagram sockets.

mod support;

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use sprout::net::{UnixDatagram, UnixListener, UnixStream};
use support::within;

/// A fresh socket path in a per-test directory.
fn socket_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sprout-unix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("s.sock")
}

#[test]
fn listener_and_stream_echo() {
    let path = socket_path("echo");
    sprout::run(within(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = sprout::spawn(async move {
            for _ in 0..3 {
                let (stream, _) = listener.accept().await.unwrap();
                sprout::spawn(async move {
                    let mut buf = [0; 256];
                    loop {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        stream.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        for i in 0..3 {
            let client = UnixStream::connect(&path).await.unwrap();
            let msg = format!("hello {i}");
            client.write_all(msg.as_bytes()).await.unwrap();
            let mut back = vec![0; msg.len()];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, msg.as_bytes());
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0);
        }
        server.await.unwrap();
    }));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connecting_to_nothing_fails_cleanly() {
    let path = socket_path("nothing");
    sprout::run(within(async {
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }));
}

#[test]
fn stream_pair_timeouts_and_std_conversion() {
    sprout::run(within(async {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0; 4];
        assert_eq!(b.read(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        a.write_all(b"data").await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"data");
        let mut std_a = a.into_std().unwrap();
        std::io::Write::write_all(&mut std_a, b"std!").unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std!");
        let b = UnixStream::from_std(b.into_std().unwrap()).unwrap();
        drop(std_a);
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    }));
}

#[test]
fn datagrams_bound_and_paired() {
    let path = socket_path("dgram");
    sprout::run(within(async {
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.send_to(b"first", &path).await.unwrap();
        let mut buf = [0; 16];
        let (n, _) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"first");
        client.connect(&path).unwrap();
        client.send(b"second").await.unwrap();
        assert_eq!(server.recv(&mut buf).await.unwrap(), 6);
        assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(path.as_path()));

        let (a, b) = UnixDatagram::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        assert_eq!(b.recv(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        a.send(b"x").await.unwrap();
        assert_eq!(b.recv(&mut buf).await.unwrap(), 1);
    }));
    std::fs::remove_file(&path).unwrap();
}
