//! Read and write timeouts give `TimedOut`, as std's blocking sockets do.

mod support;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use futures::io::AsyncReadExt;
use support::{pair, small_buffers, within};

#[test]
fn read_timeout() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        server.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
        let start = Instant::now();
        let mut buf = [0; 8];
        let err = server.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(30));
        // The stream still works, and data in time beats the timer.
        client.write_all(b"late").await.unwrap();
        server.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"late");
        // The same through AsyncRead, whose timer lives in the stream.
        let start = Instant::now();
        let err = AsyncReadExt::read(&mut &server, &mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(30));
        client.write_all(b"ok").await.unwrap();
        assert_eq!(AsyncReadExt::read(&mut &server, &mut buf).await.unwrap(), 2);
        // Peek and readable obey it too.
        assert_eq!(server.peek(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(server.readable().await.unwrap_err().kind(), ErrorKind::TimedOut);
        // None waits forever again.
        server.set_read_timeout(None).unwrap();
        let reader = sprout::spawn(async move {
            let mut buf = [0; 3];
            server.read_exact(&mut buf).await.map(|()| buf)
        });
        sprout::sleep(Duration::from_millis(50)).await;
        client.write_all(b"end").await.unwrap();
        assert_eq!(&reader.await.unwrap().unwrap(), b"end");
    }));
}

#[test]
fn write_timeout() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        small_buffers(&client);
        small_buffers(&server);
        client.set_write_timeout(Some(Duration::from_millis(30))).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let start = Instant::now();
        let err = loop {
            if let Err(e) = client.write(&chunk).await {
                break e;
            }
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(client.writable().await.unwrap_err().kind(), ErrorKind::TimedOut);
        // Draining the peer makes room again.
        let mut sink = vec![0; 1 << 20];
        let _ = server.read(&mut sink).await.unwrap();
        drop(server);
    }));
}

/// A read cancelled before its timeout does not pass what is left of its
/// deadline to the next read: the next one waits its own full 40 ms.
#[test]
fn a_timeout_in_a_dropped_read_does_not_leak_into_the_next() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        server.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
        let mut buf = [0; 4];
        // Start a read (its 40 ms begin), let 30 ms pass, then drop it
        // without polling it again: it cannot have seen its timeout.
        let mut first = Box::pin(server.read(&mut buf));
        assert!(futures::poll!(first.as_mut()).is_pending());
        sprout::sleep(Duration::from_millis(30)).await;
        drop(first);
        // A new read times out after its own 40 ms, not the 10 ms left.
        let start = Instant::now();
        assert_eq!(server.read(&mut buf).await.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(40), "timed out after {:?}", start.elapsed());
        // And data that is there is read at once.
        client.write_all(b"data").await.unwrap();
        assert_eq!(server.read(&mut buf).await.unwrap(), 4);
    }));
}
