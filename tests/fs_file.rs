//! `sprout::fs::File`: async read, write, seek; write-behind errors;
//! `futures::io` compatibility.

use std::fs::OpenOptions;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::Context;

use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use futures::task::noop_waker;
use sprout::fs::{self, File};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("sprout-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn write_in_pieces_then_read_in_pieces() {
    let dir = Scratch::new("pieces");
    sprout::run(async {
        let path = dir.0.join("data");
        let mut file = File::create(&path).await.unwrap();
        let mut expected = Vec::new();
        for i in 0..200u32 {
            let line = format!("line {i}\n");
            file.write_all(line.as_bytes()).await.unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        file.sync_all().await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), expected.len() as u64);

        let mut file = File::open(&path).await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 7];
        loop {
            let n = file.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, expected);
        // At the end, reads keep returning 0.
        assert_eq!(file.read(&mut chunk).await.unwrap(), 0);
    });
}

#[test]
fn seek_write_and_read_back_on_one_handle() {
    let dir = Scratch::new("seek");
    sprout::run(async {
        let path = dir.0.join("rw");
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(true);
        let mut file = File::open_with(&path, &options).await.unwrap();
        file.write_all(b"hello world").await.unwrap();
        assert_eq!(file.seek(SeekFrom::Start(6)).await.unwrap(), 6);
        file.write_all(b"WORLD").await.unwrap();
        assert_eq!(file.seek(SeekFrom::Current(-11)).await.unwrap(), 0);
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "hello WORLD");
        assert_eq!(file.seek(SeekFrom::End(-5)).await.unwrap(), 6);
        let mut five = [0u8; 5];
        let n = file.read(&mut five).await.unwrap();
        assert_eq!(&five[..n], &b"WORLD"[..n]);
        file.set_len(5).await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello");
    });
}

#[test]
fn bytes_read_ahead_do_not_move_the_callers_position() {
    let dir = Scratch::new("read-ahead");
    sprout::run(async {
        let path = dir.0.join("abc");
        fs::write(&path, b"abcdefghij").await.unwrap();
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        let mut file = File::open_with(&path, &options).await.unwrap();
        // A big read started and abandoned: it reads all ten bytes ahead.
        let waker = noop_waker();
        let mut big = [0u8; 64];
        let started = futures::AsyncRead::poll_read(Pin::new(&mut file), &mut Context::from_waker(&waker), &mut big);
        // Almost always pending: the read runs on a pool thread. (Should the
        // thread win the race, the bytes went straight to `big`, and there
        // is nothing read ahead to test.)
        if let std::task::Poll::Ready(done) = started {
            assert_eq!(done.unwrap(), 10);
            assert_eq!(&big[..10], b"abcdefghij");
        } else {
            // The next small read is served from what the big one fetched.
            let mut two = [0u8; 2];
            assert_eq!(file.read(&mut two).await.unwrap(), 2);
            assert_eq!(&two, b"ab");
            // The caller is at 2, though the OS read to 10.
            assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 2);
            let mut rest = [0u8; 3];
            file.read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"cde");
            // A write goes where the caller is, not where the OS read to.
            file.write_all(b"XY").await.unwrap();
            file.flush().await.unwrap();
            assert_eq!(fs::read(&path).await.unwrap(), b"abcdeXYhij");
        }
    });
}

#[test]
fn a_failed_write_behind_shows_at_flush() {
    let dir = Scratch::new("write-error");
    sprout::run(async {
        let path = dir.0.join("ro");
        fs::write(&path, b"x").await.unwrap();
        // Opened read-only: the OS refuses the write in the background.
        let mut file = File::open(&path).await.unwrap();
        let accepted = file.write(b"nope").await.unwrap();
        assert_eq!(accepted, 4, "write-behind accepts the bytes first");
        assert!(file.flush().await.is_err());
        // Reported once; the file stays usable.
        file.flush().await.unwrap();
        let mut back = String::new();
        file.read_to_string(&mut back).await.unwrap();
        assert_eq!(back, "x");
    });
}

#[test]
fn works_with_futures_io_helpers() {
    let dir = Scratch::new("futures-io");
    sprout::run(async {
        let path = dir.0.join("copy");
        let mut file = File::create(&path).await.unwrap();
        AsyncWriteExt::write_all(&mut file, b"through futures::io").await.unwrap();
        AsyncWriteExt::close(&mut file).await.unwrap();
        let mut file = File::open(&path).await.unwrap();
        let mut out = Vec::new();
        AsyncReadExt::read_to_end(&mut file, &mut out).await.unwrap();
        assert_eq!(out, b"through futures::io");
        assert_eq!(AsyncSeekExt::seek(&mut file, SeekFrom::Start(8)).await.unwrap(), 8);
        let mut word = [0u8; 7];
        AsyncReadExt::read_exact(&mut file, &mut word).await.unwrap();
        assert_eq!(&word, b"futures");
        let std = file.into_std().await.unwrap();
        assert_eq!(std.metadata().unwrap().len(), 19);
    });
}

#[test]
fn appending_keeps_what_was_there() {
    let dir = Scratch::new("append");
    sprout::run(async {
        let path = dir.0.join("log");
        fs::write(&path, b"one\n").await.unwrap();
        let mut options = OpenOptions::new();
        options.append(true);
        let mut file = File::open_with(&path, &options).await.unwrap();
        file.write_all(b"two\n").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
    });
}
