//! `compat::Tokio` as an I/O adapter: tokio's I/O types used through
//! futures-io on sprout tasks, and sprout's (futures-io) types handed to
//! code that wants tokio's traits.

mod support;

use std::io::SeekFrom;
use std::path::PathBuf;

use futures::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};
use sprout::compat::CompatExt;
use sprout::net::{TcpListener, TcpStream};
use support::run;

/// A fresh path under the temporary directory, unique to this test.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sprout-compat-{}-{name}", std::process::id()))
}

#[test]
fn a_tokio_file_through_futures_io_reads_writes_and_seeks() {
    // tokio's File runs each operation with `spawn_blocking` from inside
    // its poll functions: every adapter call must enter the context.
    let path = scratch("tokio-file");
    run(async move {
        let file =
            async { tokio::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).await }
                .compat()
                .await
                .unwrap();
        let mut file = file.compat();
        file.write_all(b"hello, tokio file").await.unwrap();
        // No flush: the write may still be in flight inside tokio's File,
        // which refuses `start_seek` until it completes.
        assert_eq!(file.seek(SeekFrom::Start(7)).await.unwrap(), 7);
        let mut tail = String::new();
        file.read_to_string(&mut tail).await.unwrap();
        assert_eq!(tail, "tokio file");
        assert_eq!(file.seek(SeekFrom::Current(-4)).await.unwrap(), 13);
        let mut last = [0u8; 4];
        file.read_exact(&mut last).await.unwrap();
        assert_eq!(&last, b"file");
        drop(file);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn a_tokio_socket_through_futures_io_talks_to_a_sprout_server() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sprout::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut line = [0u8; 6];
            stream.read_exact(&mut line).await.unwrap();
            stream.write_all(b"first line\nsecond line\n").await.unwrap();
            line
        });
        let stream = async { tokio::net::TcpStream::connect(addr).await }.compat().await.unwrap();
        let mut stream = tokio::io::BufReader::new(stream).compat();
        stream.write_all(b"hello\n").await.unwrap(); // futures-io's write on tokio's socket
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap(); // futures-io's BufRead on tokio's BufReader
            lines.push(line);
        }
        assert_eq!(lines, ["first line\n", "second line\n"]);
        assert_eq!(&server.await.unwrap(), b"hello\n");
    });
}

#[test]
fn a_sprout_socket_through_tokio_io_talks_to_a_tokio_server() {
    run(async {
        let listener = async { tokio::net::TcpListener::bind("127.0.0.1:0").await }.compat().await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The echo server: tokio's listener and socket, in a bridged future.
        let echo = sprout::spawn(
            async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (mut read, mut write) = stream.split();
                tokio::io::copy(&mut read, &mut write).await.unwrap()
            }
            .compat(),
        );
        // The client: a sprout socket, used through tokio's traits.
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
        let stream = TcpStream::connect(addr).await.unwrap().compat();
        let mut stream = tokio::io::BufReader::new(stream);
        stream.write_all(b"echo me\n").await.unwrap();
        stream.flush().await.unwrap();
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        assert_eq!(line, "echo me\n");
        stream.shutdown().await.unwrap(); // poll_shutdown is futures-io's poll_close
        assert_eq!(echo.await.unwrap(), 8);
    });
}

#[test]
fn a_sprout_file_through_tokio_io_seeks_and_reports_its_position() {
    use tokio::io::{AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _, AsyncWriteExt as _};
    let path = scratch("sprout-file");
    run(async move {
        let file = sprout::fs::File::create(&path).await.unwrap();
        let mut file = file.compat();
        file.write_all(b"0123456789").await.unwrap();
        file.flush().await.unwrap();
        // `poll_complete` with no seek started reports where the file is.
        let here = std::future::poll_fn(|cx| std::pin::Pin::new(&mut file).poll_complete(cx)).await.unwrap();
        assert_eq!(here, 10);
        assert_eq!(file.seek(SeekFrom::Start(3)).await.unwrap(), 3);
        drop(file);
        let mut file = sprout::fs::File::open(&path).await.unwrap().compat();
        assert_eq!(file.seek(SeekFrom::End(-4)).await.unwrap(), 6);
        let mut tail = String::new();
        file.read_to_string(&mut tail).await.unwrap();
        assert_eq!(tail, "6789");
        drop(file);
        std::fs::remove_file(&path).unwrap();
    });
}
