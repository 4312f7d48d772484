//! `File`: an open file whose reads, writes and seeks run on the pool.
//!
//! # Design notes
//!
//! The file is shared (`Arc<std::fs::File>`) with at most one operation in
//! flight on the pool, which owns the file's buffer while it runs:
//!
//! - A read fills the buffer with up to `len(dst)` bytes (at most 2 MiB);
//!   what the caller does not take now is served by later reads. The OS
//!   position is then ahead of the caller's by the unread bytes, so a seek
//!   or a write first steps back over them.
//! - A write copies the caller's bytes into the buffer and returns at once
//!   ("write-behind"); the pool writes them meanwhile. Its error, if any,
//!   comes back from the next write or flush. `flush` waits for it.

use std::fmt;
use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::asyncify;
use crate::blocking::{WorkFuture, spawn_blocking};
use crate::task::coop;

/// The most bytes one trip to the pool reads or writes.
const MAX_BUF: usize = 2 * 1024 * 1024;

/// An open file with async reads, writes and seeks: `std::fs::File` for
/// green tasks, and `futures_io`'s `AsyncRead`, `AsyncWrite` and `AsyncSeek`,
/// so `futures::io::AsyncReadExt` and friends work on it.
///
/// Writes return once the bytes are copied, before they reach the file:
/// call [`flush`](File::flush) (or [`sync_all`](File::sync_all) for the
/// disk) to wait for them and see their errors. Dropping a `File` with a
/// write in flight lets the write finish in the background.
///
/// ```
/// use std::io::SeekFrom;
/// use sprout::{fs::File, run};
///
/// run(async {
///     let path = std::env::temp_dir().join(format!("sprout-file-doc-{}", std::process::id()));
///     let mut file = File::create(&path).await.unwrap();
///     file.write_all(b"green tasks").await.unwrap();
///     file.flush().await.unwrap();
///
///     let mut file = File::open(&path).await.unwrap();
///     file.seek(SeekFrom::Start(6)).await.unwrap();
///     let mut rest = String::new();
///     file.read_to_string(&mut rest).await.unwrap();
///     assert_eq!(rest, "tasks");
///     sprout::fs::remove_file(&path).await.unwrap();
/// });
/// ```
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// A write-behind failed: the next write or flush reports it.
    last_write_err: Option<io::Error>,
}

enum State {
    Idle(Option<Buf>),
    Busy(WorkFuture<(Operation, Buf)>),
}

enum Operation {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

/// Bytes read and not yet taken (`data[pos..]`), or bytes to write.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn is_empty(&self) -> bool {
        self.pos == self.data.len()
    }

    fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.data.len() - self.pos);
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.clear();
        }
        n
    }

    fn copy_from(&mut self, src: &[u8]) -> usize {
        debug_assert!(self.is_empty());
        let n = src.len().min(MAX_BUF);
        self.data.extend_from_slice(&src[..n]);
        n
    }

    /// Drops the unread bytes; returns the offset that moves the OS
    /// position back to the caller's.
    fn discard_read(&mut self) -> i64 {
        let back = -((self.data.len() - self.pos) as i64);
        self.clear();
        back
    }

    fn read_from(&mut self, mut file: &std::fs::File, max: usize) -> io::Result<usize> {
        self.data.resize(max, 0);
        self.pos = 0;
        let result = loop {
            match file.read(&mut self.data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.data.truncate(*result.as_ref().unwrap_or(&0));
        result
    }

    fn write_to(&mut self, mut file: &std::fs::File) -> io::Result<()> {
        let result = file.write_all(&self.data[self.pos..]);
        self.clear();
        result
    }
}

impl File {
    /// Opens a file for reading: [`std::fs::File::open`].
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        asyncify(move || std::fs::File::open(path)).await.map(File::from_std)
    }

    /// Creates (or truncates) a file for writing: [`std::fs::File::create`].
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        asyncify(move || std::fs::File::create(path)).await.map(File::from_std)
    }

    /// Opens a file with the given options (append, create_new, ...).
    pub async fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> io::Result<File> {
        let (path, options) = (path.as_ref().to_owned(), options.clone());
        asyncify(move || options.open(path)).await.map(File::from_std)
    }

    /// Wraps an open `std::fs::File`.
    pub fn from_std(file: std::fs::File) -> File {
        File { std: Arc::new(file), state: State::Idle(Some(Buf::default())), last_write_err: None }
    }

    /// Waits for the operation in flight and returns the file, with its
    /// position where this `File`'s reads and writes left it.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.flush().await?;
        self.rewind_unread().await?;
        Ok(Arc::try_unwrap(self.std)
            .unwrap_or_else(|shared| shared.try_clone().expect("no operation holds the file once flushed")))
    }

    /// Reads some bytes into `buf`; 0 means the end of the file.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, buf)).await
    }

    /// Reads to the end of the file, appending to `buf`; returns the bytes read.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.flush().await?;
        let mut taken = 0;
        if let State::Idle(Some(unread)) = &mut self.state {
            taken = unread.data.len() - unread.pos;
            buf.extend_from_slice(&unread.data[unread.pos..]);
            unread.clear();
        }
        let file = self.std.clone();
        let rest = asyncify(move || {
            let mut rest = Vec::new();
            (&*file).read_to_end(&mut rest).map(|_| rest)
        })
        .await?;
        buf.extend_from_slice(&rest);
        Ok(taken + rest.len())
    }

    /// Reads to the end of the file, appending to `buf`; fails (and leaves
    /// `buf` as it was) if the bytes are not UTF-8.
    pub async fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut bytes = Vec::new();
        let n = self.read_to_end(&mut bytes).await?;
        let text = String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        buf.push_str(&text);
        Ok(n)
    }

    /// Writes some of `buf` (up to 2 MiB) and returns how much; the bytes
    /// reach the file in the background (see the type's docs).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_write(cx, buf)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits until every write has reached the OS, and reports a write
    /// error if one happened.
    pub async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Moves the position: [`std::io::Seek::seek`]. Returns the new
    /// position from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_seek(cx, pos)).await
    }

    /// Flushes, then waits until data and metadata are on disk:
    /// [`std::fs::File::sync_all`].
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.flush().await?;
        let file = self.std.clone();
        asyncify(move || file.sync_all()).await
    }

    /// Flushes, then waits until the data is on disk:
    /// [`std::fs::File::sync_data`].
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.flush().await?;
        let file = self.std.clone();
        asyncify(move || file.sync_data()).await
    }

    /// Flushes, then truncates or extends the file: [`std::fs::File::set_len`].
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.flush().await?;
        let file = self.std.clone();
        asyncify(move || file.set_len(size)).await
    }

    /// The file's metadata: [`std::fs::File::metadata`]. A write still in
    /// flight may not show in it yet.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let file = self.std.clone();
        asyncify(move || file.metadata()).await
    }

    /// Steps the OS position back over bytes read ahead and not taken.
    async fn rewind_unread(&mut self) -> io::Result<()> {
        if let State::Idle(Some(buf)) = &mut self.state
            && !buf.is_empty()
        {
            let back = buf.discard_read();
            let file = self.std.clone();
            asyncify(move || (&*file).seek(SeekFrom::Current(back))).await?;
        }
        Ok(())
    }

    /// Waits for the operation in flight; back to idle afterwards, even if
    /// the pool failed it (then the buffer is lost and the error returned).
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Operation>>> {
        let State::Busy(work) = &mut self.state else { return Poll::Ready(Ok(None)) };
        let (op, buf) = match Pin::new(work).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(done)) => done,
            Poll::Ready(Err(e)) => {
                self.state = State::Idle(Some(Buf::default()));
                return Poll::Ready(Err(e.into()));
            }
        };
        self.state = State::Idle(Some(buf));
        Poll::Ready(Ok(Some(op)))
    }

    fn idle_buf(&mut self) -> &mut Option<Buf> {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("idle_buf while busy"),
        }
    }

    fn start(&mut self, op: impl FnOnce(&std::fs::File, &mut Buf) -> Operation + Send + 'static) {
        let mut buf = self.idle_buf().take().expect("a buffer while idle");
        let file = self.std.clone();
        self.state = State::Busy(spawn_blocking(move || {
            let op = op(&file, &mut buf);
            (op, buf)
        }));
    }
}

impl AsyncRead for File {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            match this.poll_done(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(Some(Operation::Read(result)))) => {
                    // A fresh read: hand over what it got (0 at the end).
                    return Poll::Ready(result.map(|_| this.idle_buf().as_mut().expect("idle").copy_to(dst)));
                }
                Poll::Ready(Ok(Some(Operation::Write(Err(e))))) => this.last_write_err = Some(e),
                Poll::Ready(Ok(Some(Operation::Write(Ok(())) | Operation::Seek(_)) | None)) => {}
            }
            let buf = this.idle_buf().as_mut().expect("idle");
            if !buf.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let max = dst.len().min(MAX_BUF);
            this.start(move |file, buf| Operation::Read(buf.read_from(file, max)));
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(e) = this.last_write_err.take() {
            return Poll::Ready(Err(e));
        }
        match this.poll_done(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e) | Ok(Some(Operation::Write(Err(e))))) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => {}
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let buf = this.idle_buf().as_mut().expect("idle");
        // Bytes read ahead: the write belongs where the caller's reads stopped.
        let back = if buf.is_empty() { None } else { Some(buf.discard_read()) };
        let n = buf.copy_from(src);
        this.start(move |mut file, buf| {
            let seek = match back {
                Some(back) => file.seek(SeekFrom::Current(back)).map(drop),
                None => Ok(()),
            };
            Operation::Write(seek.and_then(|()| buf.write_to(file)))
        });
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(e) = this.last_write_err.take() {
            return Poll::Ready(Err(e));
        }
        match this.poll_done(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e) | Ok(Some(Operation::Write(Err(e))))) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    /// Seeks once the operation in flight is done. As with every
    /// `AsyncSeek`, call it again with the same `pos` until it is ready: a
    /// seek abandoned half-way still moves the position.
    fn poll_seek(mut self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        let this = &mut *self;
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            match this.poll_done(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(Some(Operation::Seek(result)))) => return Poll::Ready(result),
                Poll::Ready(Ok(Some(Operation::Write(Err(e))))) => this.last_write_err = Some(e),
                Poll::Ready(Ok(Some(_) | None)) => {}
            }
            let buf = this.idle_buf().as_mut().expect("idle");
            let mut pos = pos;
            if !buf.is_empty() {
                let back = buf.discard_read();
                if let SeekFrom::Current(offset) = &mut pos {
                    *offset += back;
                }
            }
            this.start(move |mut file, _| Operation::Seek(file.seek(pos)));
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File").field("std", &self.std).field("busy", &matches!(self.state, State::Busy(_))).finish()
    }
}
