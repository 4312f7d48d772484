//! The echo server against the peers the issue lists: many at once, half
//! closes, resets, floods, and clients that never read.

mod support;

use std::cell::Cell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use sprout::net::{Shutdown, StreamServer, TcpStream};
use support::{connections_that_fit, echo, echo_server, pair, small_buffers, within};

#[test]
fn many_concurrent_connections() {
    let conns = connections_that_fit(1_000);
    sprout::run(within(async move {
        let (addr, handle) = echo_server().await;
        // Connect them all first, so they are open at once.
        let mut streams = Vec::new();
        for _ in 0..conns {
            streams.push(TcpStream::connect(addr).await.unwrap());
        }
        let done = Rc::new(Cell::new(0));
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, stream)| {
                let done = done.clone();
                sprout::spawn(async move {
                    let msg = format!("message {i:05} from its own connection");
                    for _ in 0..3 {
                        stream.write_all(msg.as_bytes()).await.unwrap();
                        let mut back = vec![0; msg.len()];
                        stream.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg.as_bytes());
                    }
                    done.set(done.get() + 1);
                    stream
                })
            })
            .collect();
        let streams = sprout::joinall(tasks).await;
        assert_eq!(done.get(), conns);
        assert_eq!(handle.connections(), conns, "every connection is still open on the server");
        drop(streams);
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    }));
}

#[test]
fn half_close_gets_everything_echoed_then_the_close() {
    sprout::run(within(async {
        let (addr, handle) = echo_server().await;
        let client = TcpStream::connect(addr).await.unwrap();
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        // Write everything and half-close while a second task reads back:
        // the server must echo every byte, then close.
        let (reader, writer) = client.split();
        let sender = sprout::spawn({
            let payload = payload.clone();
            async move {
                writer.write_all(&payload).await.unwrap();
                writer.shutdown().unwrap();
                writer
            }
        });
        let mut echoed = Vec::new();
        reader.read_to_end(&mut echoed).await.unwrap();
        assert_eq!(echoed.len(), payload.len());
        assert!(echoed == payload);
        drop(sender.await.unwrap());
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    }));
}

#[test]
fn a_peer_that_sends_nothing_costs_nothing() {
    sprout::run(within(async {
        let (addr, handle) = echo_server().await;
        let silent = TcpStream::connect(addr).await.unwrap();
        let chatty = TcpStream::connect(addr).await.unwrap();
        sprout::sleep(Duration::from_millis(20)).await;
        chatty.write_all(b"still served").await.unwrap();
        let mut buf = [0; 12];
        chatty.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still served");
        assert_eq!(handle.connections(), 2);
        drop(silent);
        drop(chatty);
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    }));
}

#[test]
fn a_reset_wakes_both_the_reader_and_the_writer() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        small_buffers(&server);
        let server = Rc::new(server);
        // The writer fills the buffers (the client never reads) and waits.
        let writer = sprout::spawn({
            let server = server.clone();
            async move {
                let chunk = vec![7u8; 64 * 1024];
                loop {
                    if let Err(e) = server.write(&chunk).await {
                        return e;
                    }
                }
            }
        });
        // The reader waits for data that never comes.
        let reader = sprout::spawn({
            let server = server.clone();
            async move {
                let mut buf = [0; 16];
                server.read(&mut buf).await
            }
        });
        sprout::sleep(Duration::from_millis(50)).await;
        assert!(!writer.is_finished() && !reader.is_finished(), "both wait");
        // Reset: SO_LINGER 0, then close.
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        let write_err = writer.await.unwrap();
        assert!(
            matches!(write_err.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
            "writer saw {write_err:?}"
        );
        match reader.await.unwrap() {
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
            Ok(n) => assert_eq!(n, 0, "a reset reads as an error or EOF"),
        }
        // Every later call fails at once instead of hanging.
        assert!(server.write(b"x").await.is_err());
    }));
}

#[test]
fn the_echo_server_survives_a_reset_mid_stream() {
    sprout::run(within(async {
        let (addr, handle) = echo_server().await;
        let rude = TcpStream::connect(addr).await.unwrap();
        rude.write_all(b"bye").await.unwrap();
        rude.set_linger(Some(Duration::ZERO)).unwrap();
        drop(rude);
        let polite = TcpStream::connect(addr).await.unwrap();
        polite.write_all(b"hi").await.unwrap();
        let mut buf = [0; 2];
        polite.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
        drop(polite);
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
        assert_eq!(handle.connections(), 0);
    }));
}

#[test]
fn a_client_that_never_reads_is_held_back() {
    sprout::run(within(async {
        // The echo handler, on sockets with fixed (not autotuned) buffers so
        // that the test moves megabytes, not hundreds of them.
        let server = StreamServer::bind("127.0.0.1:0", |stream, _| async move {
            small_buffers(&stream);
            echo(stream, false).await
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let handle = server.start();
        let client = TcpStream::connect(addr).await.unwrap();
        small_buffers(&client);
        client.set_write_timeout(Some(Duration::from_millis(200))).unwrap();
        // Push until a write makes no progress for 200 ms: the server has
        // stopped reading because its echoes do not drain.
        let chunk = vec![1u8; 64 * 1024];
        let mut sent = 0usize;
        loop {
            match client.write(&chunk).await {
                Ok(n) => sent += n,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut);
                    break;
                }
            }
            assert!(sent < 4 << 20, "the server kept reading from a client that never reads");
        }
        // Bounded: four 16 KiB kernel buffers (the kernel doubles what is
        // asked) plus one 8 KiB buffer in the handler.
        assert!(sent > 0);
        assert_eq!(handle.connections(), 1);
        // Now read: every byte comes back, nothing was dropped.
        client.set_write_timeout(None).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).await.unwrap();
        assert_eq!(echoed.len(), sent);
        assert!(echoed.iter().all(|&b| b == 1));
        assert_eq!(handle.stop_graceful(Duration::from_secs(10)).await, 0);
    }));
}

#[test]
fn a_flooding_peer_yields_to_the_others_and_loses_nothing() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        // 32 KiB sit in the server's receive queue before it reads: 512
        // reads of 64 bytes in a row, each one ready, none short. Only the
        // operation budget can make the reader let another task in.
        const TOTAL: usize = 32 * 1024;
        let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
        client.write_all(&data).await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        sprout::sleep(Duration::from_millis(20)).await;
        let other_ran = Rc::new(Cell::new(false));
        let reader = sprout::spawn({
            let other_ran = other_ran.clone();
            async move {
                let mut got = Vec::with_capacity(TOTAL);
                let mut buf = [0; 64];
                let mut ran_midway = false;
                while got.len() < TOTAL {
                    let n = server.read(&mut buf).await.unwrap();
                    assert!(n > 0, "EOF after {} bytes", got.len());
                    got.extend_from_slice(&buf[..n]);
                    ran_midway |= other_ran.get();
                }
                // The rest is the EOF, at once and for good.
                assert_eq!(server.read(&mut buf).await.unwrap(), 0);
                assert_eq!(server.read(&mut buf).await.unwrap(), 0);
                (got, ran_midway)
            }
        });
        // Queued behind the reader: it runs when the reader yields.
        sprout::spawn({
            let other_ran = other_ran.clone();
            async move { other_ran.set(true) }
        });
        let (got, ran_midway) = reader.await.unwrap();
        assert!(ran_midway, "another task ran while the flood was being read");
        assert!(got == data, "every byte arrived, in order");
    }));
}
