//! Popular crates on sprout's sockets and tasks with no tokio runtime
//! anywhere: the rows of docs/ecosystem.md's table that no other test
//! backs. Each test asserts that no tokio runtime is current, so a pass
//! means the crate really ran on sprout's loop (or, for the smol family,
//! on its own reactor thread), not on a runtime started behind its back.

mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use support::{pair, within};

/// The crate ran with no tokio runtime: `tokio::spawn` or `tokio::time`
/// would have panicked, and a tokio socket could not have been made.
fn assert_no_tokio_runtime() {
    assert!(tokio::runtime::Handle::try_current().is_err(), "a tokio runtime is current");
}

/// tokio-util's codecs frame a sprout `TcpStream` seen through
/// tokio-util's own `compat()` (tokio's I/O traits over futures-io's):
/// recipe 2 of docs/ecosystem.md, "Bound to tokio". A line over the
/// codec's limit is the codec's own error, through the adapter.
#[test]
fn tokio_util_codec_frames_a_sprout_stream() {
    use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
    use tokio_util::compat::FuturesAsyncReadCompatExt;

    sprout::run(within(async {
        assert_no_tokio_runtime();
        let (client, server) = pair().await;
        let upper = sprout::spawn(async move {
            let mut lines = Framed::new(server.compat(), LinesCodec::new_with_max_length(16));
            loop {
                match lines.next().await {
                    Some(Ok(line)) => lines.send(line.to_uppercase()).await.unwrap(),
                    Some(Err(e)) => return Some(e),
                    None => return None,
                }
            }
        });
        let mut lines = Framed::new(client.compat(), LinesCodec::new());
        lines.send("hello").await.unwrap();
        lines.send("green tasks").await.unwrap();
        assert_eq!(lines.next().await.unwrap().unwrap(), "HELLO");
        assert_eq!(lines.next().await.unwrap().unwrap(), "GREEN TASKS");
        lines.send("a line longer than sixteen bytes").await.unwrap();
        let error = upper.await.unwrap().expect("the server's codec refuses the long line");
        assert!(matches!(error, LinesCodecError::MaxLineLengthExceeded), "{error:?}");
    }));
}

/// asynchronous-codec frames futures-io streams directly: length-prefixed
/// frames of 200 KB, larger than the socket buffers, so both ends wait on
/// sprout's readiness many times per frame.
#[test]
fn asynchronous_codec_frames_a_sprout_stream() {
    use asynchronous_codec::{Bytes, Framed, LengthCodec};

    sprout::run(within(async {
        assert_no_tokio_runtime();
        let (client, server) = pair().await;
        support::small_buffers(&client);
        support::small_buffers(&server);
        let echo = sprout::spawn(async move {
            let mut frames = Framed::new(server, LengthCodec);
            let mut echoed = 0;
            while let Some(frame) = frames.next().await {
                frames.send(frame.unwrap()).await.unwrap();
                echoed += 1;
            }
            echoed
        });
        let mut frames = Framed::new(client, LengthCodec);
        for round in 0..3u8 {
            let frame = Bytes::from(vec![round; 200_000]);
            frames.send(frame.clone()).await.unwrap();
            assert_eq!(frames.next().await.unwrap().unwrap(), frame);
        }
        frames.close().await.unwrap();
        drop(frames);
        assert_eq!(echo.await.unwrap(), 3, "the echo task saw every frame, then the end");
    }));
}

/// tokio-tungstenite's handshake and messages over sprout sockets (through
/// tokio-util's `compat()`), both ends on green tasks: tokio-tungstenite
/// needs tokio's I/O traits, not its runtime, once the stream is yours.
#[test]
fn tokio_tungstenite_over_sprout_sockets() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_util::compat::FuturesAsyncReadCompatExt;

    sprout::run(within(async {
        assert_no_tokio_runtime();
        let (client, server) = pair().await;
        let echo = sprout::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(server.compat()).await.unwrap();
            while let Some(message) = ws.next().await {
                match message.unwrap() {
                    Message::Text(text) => ws.send(Message::text(format!("echo: {text}"))).await.unwrap(),
                    Message::Binary(data) => ws.send(Message::Binary(data)).await.unwrap(),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        });
        let (mut ws, response) = tokio_tungstenite::client_async("ws://localhost/chat", client.compat()).await.unwrap();
        assert_eq!(response.status(), 101);
        ws.send(Message::text("hello")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("echo: hello"));
        ws.send(Message::binary(vec![7u8; 100_000])).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(vec![7u8; 100_000]));
        ws.close(None).await.unwrap();
        echo.await.unwrap();
    }));
}

/// tokio's `sync` module needs no runtime: its channels wake whatever
/// waker polls them. A plain OS thread feeds a green task through a
/// bounded `mpsc` (blocking on a full channel), and green tasks hand
/// each other `oneshot` replies and `watch` values.
#[test]
fn tokio_sync_channels_between_green_tasks_and_threads() {
    sprout::run(within(async {
        assert_no_tokio_runtime();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
        let producer = std::thread::spawn(move || {
            for i in 0..100 {
                tx.blocking_send(i).unwrap(); // waits while the green task lags
            }
        });
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
        let (watch_tx, mut watch_rx) = tokio::sync::watch::channel(0u32);
        let summer = sprout::spawn(async move {
            let mut sum = 0;
            while let Some(i) = rx.recv().await {
                sum += i;
                watch_tx.send(sum).unwrap();
            }
            reply_tx.send(sum).unwrap();
        });
        let watcher = sprout::spawn(async move {
            let mut seen = 0;
            while watch_rx.changed().await.is_ok() {
                let now = *watch_rx.borrow_and_update();
                assert!(now >= seen, "watch values only grow");
                seen = now;
            }
            seen
        });
        assert_eq!(reply_rx.await.unwrap(), (0..100).sum::<u32>());
        summer.await.unwrap();
        assert_eq!(watcher.await.unwrap(), (0..100).sum::<u32>(), "the last value reaches the watcher");
        producer.join().unwrap();
    }));
}

/// The smol family (async-io, async-net) brings its own reactor: the
/// first use starts async-io's driver thread, which wakes the green
/// task like any other foreign waker. A sprout listener and a smol
/// client talk on one green thread; smol's `Timer` fires too.
#[test]
fn smol_sockets_and_timers_run_inside_green_tasks() {
    use futures::{AsyncReadExt, AsyncWriteExt};

    sprout::run(within(async {
        assert_no_tokio_runtime();
        let listener = sprout::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = sprout::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            support::echo(stream, true).await.unwrap();
        });
        let mut client = smol::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"smol on sprout").await.unwrap();
        let mut buf = [0; 14];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"SMOL ON SPROUT");
        drop(client);
        server.await.unwrap();
        smol::Timer::after(Duration::from_millis(1)).await;
    }));
}

/// tracing's `Instrument` and tracing-subscriber's fmt layer on green
/// tasks: two tasks interleave at every sleep, and each event is printed
/// inside its own task's span, never the other's.
#[test]
fn tracing_spans_follow_green_tasks_across_switches() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing::Instrument;

    /// tracing-subscriber's writer: appends to a buffer the test reads.
    #[derive(Clone)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let captured = Captured(Arc::new(Mutex::new(Vec::new())));
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_target(false)
        .without_time()
        .with_level(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    sprout::run(within(async {
        let tasks: Vec<_> = (1..=2)
            .map(|id| {
                sprout::spawn(
                    async move {
                        for step in 0..3 {
                            tracing::info!(step, "working");
                            sprout::sleep(Duration::from_millis(1)).await;
                        }
                    }
                    .instrument(tracing::info_span!("conn", id)),
                )
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }));
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.sort_unstable();
    let mut expected: Vec<String> =
        (1..=2).flat_map(|id| (0..3).map(move |step| format!("conn{{id={id}}}: working step={step}"))).collect();
    expected.sort_unstable();
    assert_eq!(lines, expected, "every event in its own task's span:\n{text}");
}
