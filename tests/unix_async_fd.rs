//! `io::Async` and `wait_readable` / `wait_writable` on descriptors sprout
//! did not create: pipes and std sockets.

mod support;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use sprout::io::{Async, wait_readable, wait_writable};
use support::within;

fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) just opened both; each is owned exactly once here.
    unsafe { (File::from(OwnedFd::from_raw_fd(fds[0])), File::from(OwnedFd::from_raw_fd(fds[1]))) }
}

#[test]
fn a_pipe_wakes_its_reader() {
    sprout::run(within(async {
        let (reader, writer) = pipe();
        let reader = Async::new(reader).unwrap();
        let mut writer = Async::new(writer).unwrap();
        let task = sprout::spawn(async move {
            let mut buf = [0; 5];
            let mut reader = reader;
            reader.read_exact(&mut buf).await.unwrap();
            buf
        });
        sprout::sleep(Duration::from_millis(10)).await;
        writer.write_all(b"piped").await.unwrap();
        assert_eq!(&task.await.unwrap(), b"piped");
        // Closing the write end reads as EOF.
        drop(writer);
    }));
}

#[test]
fn read_with_and_write_with_fill_and_drain_a_pipe() {
    sprout::run(within(async {
        let (reader, writer) = pipe();
        let (reader, writer) = (Async::new(reader).unwrap(), Async::new(writer).unwrap());
        let total = 1 << 20; // far more than a pipe buffer (64 KiB): writes must wait
        let producer = sprout::spawn(async move {
            let chunk = vec![9u8; 16 * 1024];
            let mut sent = 0;
            while sent < total {
                sent += writer.write_with(|mut f| f.write(&chunk)).await.unwrap();
            }
            sent
        });
        let mut got = 0;
        let mut buf = vec![0; 16 * 1024];
        while got < total {
            got += reader.read_with(|mut f| f.read(&mut buf)).await.unwrap();
        }
        assert!(producer.await.unwrap() >= total);
        let file = reader.into_inner().unwrap();
        drop(file);
    }));
}

#[test]
fn wait_readable_and_writable_on_a_std_socket() {
    sprout::run(within(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        wait_writable(&a).await.unwrap();
        let reader = sprout::spawn(async move {
            wait_readable(&b).await.unwrap();
            let mut buf = [0; 3];
            (&b).read_exact(&mut buf).unwrap();
            buf
        });
        sprout::sleep(Duration::from_millis(10)).await;
        a.write_all(b"fd!").unwrap();
        assert_eq!(&reader.await.unwrap(), b"fd!");
    }));
}

#[test]
fn registering_one_descriptor_twice_is_an_error() {
    sprout::run(within(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let first = Async::new(&a).unwrap();
        let err = Async::new(&a).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        drop(first);
        // Deregistered on drop: it can be registered again.
        Async::new(&a).unwrap();
    }));
}
