//! Sharing one `TcpStream` between tasks, as docs/net.md ("Sharing a
//! stream between tasks") tells it: `&TcpStream` methods through an `Rc`,
//! futures-io helpers on `&*rc` inside a task, and owned `split()` halves
//! for helpers that want an owned reader and writer. (That an
//! `Rc<TcpStream>` itself is not `AsyncRead` is a `compile_fail` doctest
//! on `sprout::net`.)

mod support;

use std::rc::Rc;

use futures::StreamExt;
use futures::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use support::{pair, within};

#[test]
fn an_rc_stream_serves_a_reader_task_and_a_writer_task() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        let server = Rc::new(server);

        // The reader: futures' `BufReader` over `&TcpStream`, borrowed from
        // the task's own `Rc` clone.
        let reader = sprout::spawn({
            let server = server.clone();
            async move {
                let mut lines = BufReader::new(&*server).lines();
                let mut got = Vec::new();
                while let Some(line) = lines.next().await {
                    got.push(line.unwrap());
                }
                got
            }
        });
        // The writer: the stream's own `&self` methods, through another clone.
        let writer = sprout::spawn({
            let server = server.clone();
            async move { server.write_all(b"welcome\n").await.unwrap() }
        });

        let mut greeting = [0; 8];
        client.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"welcome\n");
        writer.await.unwrap();

        client.write_all(b"one\ntwo\n").await.unwrap();
        client.shutdown(sprout::net::Shutdown::Write).unwrap();
        assert_eq!(reader.await.unwrap(), ["one", "two"]);
        assert_eq!(Rc::strong_count(&server), 1, "both tasks dropped their clones");
    }));
}

#[test]
fn split_halves_go_to_futures_io_helpers_by_value() {
    sprout::run(within(async {
        let (client, server) = pair().await;
        // `futures::io::copy` takes an owned reader and a writer: the halves
        // move into a task of their own, no borrow to keep alive.
        let (read_half, mut write_half) = server.split();
        let echo = sprout::spawn(async move {
            let copied = futures::io::copy(BufReader::new(read_half), &mut write_half).await.unwrap();
            write_half.close().await.unwrap();
            copied
        });

        client.write_all(b"ping pong").await.unwrap();
        client.shutdown(sprout::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"ping pong");
        assert_eq!(echo.await.unwrap(), 9);
    }));
}
