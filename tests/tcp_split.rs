//! Split halves used by two tasks at once; independent read and write waits.

mod support;

use std::time::Duration;

use sprout::net::TcpStream;
use support::{pair, within};

#[test]
fn two_tasks_read_and_write_the_same_connection() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let (reader, writer) = server.split();
        // The server's reader waits on the client while its writer streams
        // to it: neither blocks the other.
        let total = 2_000_000usize;
        let writing = sprout::spawn(async move {
            let chunk = vec![3u8; 32 * 1024];
            let mut sent = 0;
            while sent < total {
                let n = (total - sent).min(chunk.len());
                writer.write_all(&chunk[..n]).await.unwrap();
                sent += n;
            }
            writer
        });
        let reading = sprout::spawn(async move {
            let mut buf = [0; 5];
            reader.read_exact(&mut buf).await.unwrap();
            (reader, buf)
        });
        // The client reads everything first, and only then writes.
        let mut got = 0;
        let mut buf = vec![0; 64 * 1024];
        while got < total {
            got += client.read(&mut buf).await.unwrap();
        }
        assert!(!reading.is_finished(), "the reader still waits for the client");
        client.write_all(b"hello").await.unwrap();
        let (reader, msg) = reading.await.unwrap();
        assert_eq!(&msg, b"hello");
        let writer = writing.await.unwrap();
        let server: TcpStream = reader.reunite(writer).unwrap();
        server.write_all(b"!").await.unwrap();
        client.read_exact(&mut buf[..1]).await.unwrap();
        assert_eq!(buf[0], b'!');
    }));
}

#[test]
fn dropping_the_write_half_sends_eof() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let (reader, writer) = server.split();
        writer.write_all(b"last words").await.unwrap();
        drop(writer);
        let mut text = String::new();
        client.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "last words");
        // The read half still works.
        client.write_all(b"reply").await.unwrap();
        let mut buf = [0; 5];
        reader.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"reply");
    }));
}

#[test]
fn reunite_refuses_halves_of_different_streams() {
    sprout::run(within(async {
        let (a, b) = pair().await;
        let (ra, wa) = a.split();
        let (rb, wb) = b.split();
        let err = ra.reunite(wb).unwrap_err();
        assert!(err.to_string().contains("not from the same stream"));
        let (ra, wb) = (err.0, err.1);
        assert!(rb.reunite(wa).is_err());
        drop((ra, wb));
        sprout::sleep(Duration::from_millis(1)).await;
    }));
}
