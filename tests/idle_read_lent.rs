//! `read_lent`: data, EOF, timeouts, split halves and Unix streams, and no
//! buffer held while waiting.

use std::rc::Rc;
use std::time::Duration;

use sprout::io::{LENT_BUFFER_SIZE, pooled};
use sprout::net::{TcpListener, TcpStream, UnixStream};

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn reads_what_arrived_then_eof() {
    sprout::run(async {
        let (client, server) = pair().await;
        client.write_all(b"hello").await.unwrap();
        let mut data = server.read_lent().await.unwrap();
        assert_eq!(&data[..], b"hello");
        data.make_ascii_uppercase();
        assert_eq!(&data[..], b"HELLO");
        assert!(!data.is_eof());
        drop(data);
        drop(client);
        let eof = server.read_lent().await.unwrap();
        assert!(eof.is_empty() && eof.is_eof());
        // EOF stays for every later read.
        assert!(server.read_lent().await.unwrap().is_empty());
    });
}

#[test]
fn a_message_larger_than_a_buffer_comes_in_several_reads() {
    sprout::run(async {
        let (client, server) = pair().await;
        let message: Vec<u8> = (0..3 * LENT_BUFFER_SIZE + 100).map(|i| i as u8).collect();
        let sender = sprout::spawn({
            let message = message.clone();
            async move {
                client.write_all(&message).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while got.len() < message.len() {
            let data = server.read_lent().await.unwrap();
            assert!(data.len() <= LENT_BUFFER_SIZE);
            got.extend_from_slice(&data);
        }
        assert_eq!(got, message);
        sender.await.unwrap();
    });
}

#[test]
fn the_read_timeout_applies() {
    sprout::run(async {
        let (_client, server) = pair().await;
        server.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        let err = server.read_lent().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    });
}

#[test]
fn waiting_readers_hold_no_buffer() {
    sprout::run(async {
        let mut clients = Vec::new();
        let mut readers = Vec::new();
        // Warm the pool: one buffer taken and given back.
        let (c, s) = pair().await;
        c.write_all(b"x").await.unwrap();
        drop(s.read_lent().await.unwrap());
        let before = pooled();
        for _ in 0..100 {
            let (client, server) = pair().await;
            clients.push(client);
            readers.push(sprout::spawn(async move { server.read_lent().await.unwrap().len() }));
        }
        sprout::sleep(Duration::from_millis(10)).await;
        assert_eq!(pooled(), before, "100 waiting readers took no buffer from the pool");
        for client in &clients {
            client.write_all(b"ping").await.unwrap();
        }
        for reader in readers {
            assert_eq!(reader.await.unwrap(), 4);
        }
        assert!(pooled() >= before, "every buffer came back");
    });
}

#[test]
fn a_cancelled_read_loses_nothing() {
    sprout::run(async {
        let (client, server) = pair().await;
        assert!(sprout::timeout(Duration::from_millis(5), server.read_lent()).await.is_err());
        client.write_all(b"late").await.unwrap();
        assert_eq!(&server.read_lent().await.unwrap()[..], b"late");
    });
}

#[test]
fn split_halves_and_unix_streams_read_lent_too() {
    sprout::run(async {
        let (client, server) = pair().await;
        let (read, write) = server.split();
        client.write_all(b"half").await.unwrap();
        let data = read.read_lent().await.unwrap();
        write.write_all(&data).await.unwrap();
        let mut back = [0; 4];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"half");

        let (a, b) = UnixStream::pair().unwrap();
        let b = Rc::new(b);
        a.write_all(b"unix").await.unwrap();
        assert_eq!(&b.read_lent().await.unwrap()[..], b"unix");
    });
}
