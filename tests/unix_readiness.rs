//! The readiness rule: every readiness loop handles the error and hang-up
//! bits, and returns `Pending` after a `WouldBlock` instead of spinning.
//! End-of-file stays sticky for stream reads.
//!
//! Some tests drive `IoSource` with an operation that answers `WouldBlock`
//! whatever the socket's state, and count its calls: a loop that retried
//! would call it again at once, so the count (and a panic at 100 calls)
//! catches a spin without hanging. The others use real sockets, under
//! `support::watchdog`, since a spin inside one poll freezes the runtime
//! (its timers included).

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::io::{self, ErrorKind, Write};
use std::net::Shutdown;
use std::task::Poll;
use std::time::Duration;

use mio::net::UnixStream as MioUnixStream;
use sprout::io::IoSource;
use sprout::net::{UnixDatagram, UnixStream};
use support::{ticker, watchdog, within};

const HANG: Duration = Duration::from_secs(30);

/// An operation that always says `WouldBlock`, counting its calls.
fn would_block(calls: &Cell<usize>) -> impl FnMut(&MioUnixStream) -> io::Result<()> + '_ {
    move |_| {
        calls.set(calls.get() + 1);
        assert!(calls.get() < 100, "the readiness loop spins: {} calls in one poll", calls.get());
        Err(io::Error::from(ErrorKind::WouldBlock))
    }
}

/// Polls a read and a write on `source` once each with an operation that
/// blocks: each must run its syscall at most once and return `Pending`.
async fn assert_would_block_waits(source: &IoSource<MioUnixStream>) {
    let calls = Cell::new(0);
    let read = poll_fn(|cx| Poll::Ready(source.poll_read_with(cx, would_block(&calls)))).await;
    assert!(read.is_pending(), "{read:?}");
    assert_eq!(calls.get(), 1, "one syscall, then Pending");
    calls.set(0);
    let write = poll_fn(|cx| Poll::Ready(source.poll_write_with(cx, would_block(&calls)))).await;
    assert!(write.is_pending(), "{write:?}");
    assert_eq!(calls.get(), 1, "one syscall, then Pending");
    // Cleared: the next poll waits without a syscall at all.
    calls.set(0);
    let again = poll_fn(|cx| Poll::Ready(source.poll_read_with(cx, would_block(&calls)))).await;
    assert!(again.is_pending());
    assert_eq!(calls.get(), 0);
}

#[test]
fn hang_up_bits_do_not_make_a_blocked_operation_spin() {
    sprout::run(within(async {
        let (a, b) = MioUnixStream::pair().unwrap();
        let a = IoSource::new(a).unwrap();
        drop(b); // hang-up: READ_CLOSED and WRITE_CLOSED, sticky until a WouldBlock
        a.readable().await.unwrap();
        a.writable().await.unwrap();
        assert_would_block_waits(&a).await;
    }));
}

#[test]
fn the_error_bit_does_not_make_a_blocked_operation_spin() {
    sprout::run(within(async {
        let (a, b) = MioUnixStream::pair().unwrap();
        let a = IoSource::new(a).unwrap();
        // Closing a socket with unread data resets its peer: ERROR as well.
        let mut writer = a.get_ref();
        writer.write_all(b"never read").unwrap();
        drop(b);
        a.readable().await.unwrap();
        assert_would_block_waits(&a).await;
    }));
}

#[test]
fn end_of_file_stays_sticky_for_stream_reads() {
    sprout::run(within(async {
        let (a, b) = UnixStream::pair().unwrap();
        a.write_all(b"abc").await.unwrap();
        drop(a);
        let mut buf = [0; 64];
        // A short read clears the data bit only: the EOF behind it is
        // still seen, at once and every time.
        assert_eq!(b.read(&mut buf).await.unwrap(), 3);
        for _ in 0..3 {
            assert_eq!(b.read(&mut buf).await.unwrap(), 0);
        }
        b.readable().await.unwrap();
    }));
}

#[test]
fn a_datagram_socket_shut_for_reading_waits_instead_of_spinning() {
    // After shutdown(Read), epoll reports a Unix datagram socket readable
    // and read-closed for good, while a non-blocking receive says
    // WouldBlock: `recv` must wait, not spin on the sticky bit.
    watchdog(HANG, || {
        sprout::run(within(async {
            let (_a, b) = UnixDatagram::pair().unwrap();
            b.shutdown(Shutdown::Read).unwrap();
            let (ticks, _ticker) = ticker();
            let mut buf = [0; 8];
            assert!(sprout::timeout(Duration::from_millis(100), b.recv(&mut buf)).await.is_err());
            assert!(ticks.get() > 0, "the loop kept turning");
        }))
    });
}

#[test]
fn a_send_blocked_after_an_error_waits_for_room() {
    // The write side of the same rule, with real sockets: `b` gets an
    // error (its peer `a` reconnects elsewhere, dropping a datagram from
    // `b` unread), then sends to a receiver that never reads until its
    // queue is full. The error and write-closed bits must be cleared, or
    // the blocked send would spin.
    watchdog(HANG, || {
        sprout::run(within(async {
            let dir = std::env::temp_dir().join(format!("sprout-readiness-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("slow.sock");
            let _ = std::fs::remove_file(&path);
            let slow = UnixDatagram::bind(&path).unwrap();

            let (a, b) = UnixDatagram::pair().unwrap();
            b.send(b"dropped").await.unwrap();
            a.connect(&path).unwrap();
            let mut buf = [0; 16];
            assert_eq!(b.recv(&mut buf).await.unwrap_err().kind(), ErrorKind::ConnectionReset);

            let (ticks, _ticker) = ticker();
            let mut sent = 0;
            loop {
                match sprout::timeout(Duration::from_millis(100), b.send_to(b"x", &path)).await {
                    Ok(Ok(_)) => sent += 1,
                    Ok(Err(e)) => panic!("send {sent} failed: {e}"),
                    Err(_) => break, // blocked, and waiting quietly
                }
                assert!(sent < 100_000, "the receiver's queue never filled");
            }
            assert!(ticks.get() > 0, "the loop kept turning");
            // Room again once the receiver reads: the blocked sender wakes.
            let sender = sprout::spawn(async move { b.send_to(b"y", &path).await.map(|_| b) });
            slow.recv(&mut buf).await.unwrap();
            sender.await.unwrap().unwrap();
            drop(a);
            let _ = std::fs::remove_dir_all(&dir);
        }))
    });
}
