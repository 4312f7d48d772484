//! The child's standard streams, seen from the parent: [`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`].
//!
//! Each is the parent's end of a pipe, switched to non-blocking mode and
//! registered with the reactor (edge-triggered, in one direction), so a
//! read or write that would block switches to another green task. The
//! methods mirror `std::io::Read` / `Write` and sprout's sockets (`read`,
//! `read_exact`, `read_to_end`, `write_all`...), and the types implement
//! the `futures-io` traits, so `futures::io::BufReader`, `lines()` and
//! `copy` work on them.
//!
//! As on sockets, a short transfer (fewer bytes than asked, more than none)
//! means the pipe is drained (or full): readiness is cleared at once, so
//! the next call waits for the next edge instead of paying for a syscall
//! that would say `WouldBlock`.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::unix::pipe::{Receiver, Sender};
use sprout_runtime::__net::{Direction, SourceRegistration};
use sprout_runtime::io::{Interest, IoSource};

/// The parent's end of a pipe, registered for one direction.
struct Pipe<S: Source> {
    io: IoSource<S>,
}

/// The two ends of a mio pipe, for what `Pipe` needs of either.
trait PipeEnd: Source + AsFd + Into<OwnedFd> {
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
}

impl PipeEnd for Sender {
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        Sender::set_nonblocking(self, on)
    }
}

impl PipeEnd for Receiver {
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        Receiver::set_nonblocking(self, on)
    }
}

impl<S: PipeEnd> Pipe<S> {
    fn register(end: S, interest: Interest) -> io::Result<Pipe<S>> {
        end.set_nonblocking(true)?;
        Ok(Pipe { io: IoSource::with_interest(end, interest)? })
    }

    /// Runs the transfer `op` (moving at most `len` bytes) once `dir` is
    /// ready; see the module docs for the short-transfer rule.
    #[inline]
    fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        op: impl FnOnce(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        // The one readiness loop (`Registration::poll_io_drained`): budget,
        // readiness, one syscall, and a short transfer clears the data bits.
        let pipe = self.io.get_ref();
        self.io.registration().poll_io_drained(cx, dir, || op(pipe), |&n| n > 0 && n < len)
    }

    /// `poll_transfer` as a future, for the async methods: a transfer
    /// cancelled while it waits (by a timeout, say) forgets its waiter, so
    /// nothing keeps `sprout::wait()` waiting (as a socket's, see
    /// `crate::evented`).
    async fn transfer(
        &self,
        dir: Direction,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        let pipe = self.io.get_ref();
        let mut waiter = self.io.registration().waiter(dir);
        poll_fn(|cx| waiter.poll_io_drained(cx, || op(pipe), |&n| n > 0 && n < len)).await
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }

    /// Deregisters the pipe and hands back its descriptor, in blocking
    /// mode again (a child given it expects the usual blocking pipe).
    fn into_owned_fd(self) -> io::Result<OwnedFd> {
        let end = self.io.into_inner()?;
        end.set_nonblocking(false)?;
        Ok(end.into())
    }
}

impl Pipe<Receiver> {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_transfer(cx, Direction::Read, buf.len(), |mut r| r.read(buf))
    }

    fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        self.poll_transfer(cx, Direction::Read, len, |mut r| r.read_vectored(bufs))
    }

    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.transfer(Direction::Read, buf.len(), |mut r| r.read(buf)).await
    }

    async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.transfer(Direction::Read, len, |mut r| r.read_vectored(bufs)).await
    }

    async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the child closed the pipe")),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        crate::read_all::read_to_end(buf, async |b| self.read(b).await).await
    }

    async fn read_to_string(&self, buf: &mut String) -> io::Result<usize> {
        crate::read_all::read_to_string(buf, "the child's output", async |b| self.read(b).await).await
    }
}

impl Pipe<Sender> {
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_transfer(cx, Direction::Write, buf.len(), |mut w| w.write(buf))
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        self.poll_transfer(cx, Direction::Write, len, |mut w| w.write_vectored(bufs))
    }

    async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.transfer(Direction::Write, buf.len(), |mut w| w.write(buf)).await
    }

    async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.transfer(Direction::Write, len, |mut w| w.write_vectored(bufs)).await
    }
}

/// Writes `buf` through `write` until done; `WriteZero` if it stalls.
async fn write_all_with(stdin: &ChildStdin, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match stdin.write(buf).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// The parent's end of the child's standard input, from
/// [`Child::stdin`](super::Child::stdin) after
/// [`Command::stdin`](super::Command::stdin)`(Stdio::piped())`.
///
/// Dropping it (or [`AsyncWrite::poll_close`](futures_io::AsyncWrite::poll_close))
/// closes the pipe, and the child reads end-of-file. If the child has
/// closed its end (it exited, or closed stdin), writes fail with
/// `io::ErrorKind::BrokenPipe` (see the module docs about `SIGPIPE`).
///
/// ```
/// use sprout::process::{Command, Stdio};
///
/// sprout::run(async {
///     let mut child = Command::new("tr").arg("a-z").arg("A-Z")
///         .stdin(Stdio::piped()).stdout(Stdio::piped())
///         .spawn().unwrap();
///     let stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"shout\n").await.unwrap();
///     drop(stdin); // EOF: tr finishes
///     let out = child.wait_with_output().await.unwrap();
///     assert_eq!(out.stdout, b"SHOUT\n");
/// });
/// ```
pub struct ChildStdin {
    /// `None` once closed by `poll_close`.
    pipe: Option<Pipe<Sender>>,
}

impl ChildStdin {
    /// Wraps the stdin of a child spawned with `std::process::Command`,
    /// switching it to non-blocking mode.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if the pipe cannot be registered.
    pub fn from_std(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin { pipe: Some(Pipe::register(Sender::from(stdin), Interest::WRITABLE)?) })
    }

    fn pipe(&self) -> io::Result<&Pipe<Sender>> {
        self.pipe.as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed"))
    }

    /// Writes some bytes from `buf` and returns how many, waiting until the
    /// pipe has room: `std::io::Write::write`, only async.
    ///
    /// # Errors
    /// `BrokenPipe` once the child has closed its end.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.pipe()?.write(buf).await
    }

    /// Writes from several buffers at once (`writev`).
    pub async fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.pipe()?.write_vectored(bufs).await
    }

    /// Writes all of `buf`, waiting for room as often as needed.
    ///
    /// Not cancellation-safe: if the future is dropped midway, an unknown
    /// prefix of `buf` has been written.
    ///
    /// # Errors
    /// `BrokenPipe` if the child closes its end first.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        write_all_with(self, buf).await
    }

    /// Does nothing: bytes reach the pipe on every `write`.
    pub async fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Waits until a write would not block (room, or the child gone).
    pub async fn writable(&self) -> io::Result<()> {
        self.pipe()?.io.writable().await
    }

    /// Deregisters the pipe and hands back its descriptor (blocking again).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.pipe
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed"))?
            .into_owned_fd()
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe: the child reads end-of-file. Later writes fail with
    /// `BrokenPipe`.
    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.pipe.take());
        Poll::Ready(Ok(()))
    }
}

/// Generates a read stream type over `Pipe<Receiver>`: `ChildStdout` and
/// `ChildStderr` differ only in name and docs.
macro_rules! reader {
    ($(#[$doc:meta])* $name:ident, $std:ty, $what:literal) => {
        $(#[$doc])*
        pub struct $name {
            pipe: Pipe<Receiver>,
        }

        impl $name {
            #[doc = concat!("Wraps the ", $what, " of a child spawned with `std::process::Command`,")]
            /// switching it to non-blocking mode.
            ///
            /// # Errors
            /// Outside a sprout runtime, or if the pipe cannot be registered.
            pub fn from_std(end: $std) -> io::Result<$name> {
                Ok($name { pipe: Pipe::register(Receiver::from(end), Interest::READABLE)? })
            }

            /// Reads some bytes into `buf` and returns how many, waiting
            /// until at least one is available: `std::io::Read::read`, only
            /// async. `Ok(0)` means the child closed its end (usually: it
            /// exited), or `buf` is empty. Cancellation-safe.
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                self.pipe.read(buf).await
            }

            /// Reads into several buffers at once (`readv`).
            pub async fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                self.pipe.read_vectored(bufs).await
            }

            /// Reads exactly `buf.len()` bytes.
            ///
            /// # Errors
            /// `UnexpectedEof` if the child closes its end first. Not
            /// cancellation-safe: bytes read before a drop are lost.
            pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
                self.pipe.read_exact(buf).await
            }

            /// Reads until the child closes its end, appending to `buf`;
            /// returns how many bytes were appended.
            pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
                self.pipe.read_to_end(buf).await
            }

            /// Reads until the child closes its end, appending UTF-8 text.
            ///
            /// # Errors
            /// `InvalidData` if the bytes are not UTF-8 (nothing is appended).
            pub async fn read_to_string(&self, buf: &mut String) -> io::Result<usize> {
                self.pipe.read_to_string(buf).await
            }

            /// Waits until a read would not block (data, or end-of-file).
            pub async fn readable(&self) -> io::Result<()> {
                self.pipe.io.readable().await
            }

            /// Deregisters the pipe and hands back its descriptor (blocking again).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_owned_fd()
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read_vectored(cx, bufs)
            }
        }

        impl futures_io::AsyncRead for &$name {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read_vectored(cx, bufs)
            }
        }

        /// Passes the pipe on as another child's stdio (`a | b`): the
        /// descriptor leaves the reactor and turns blocking again.
        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            fn try_from(end: $name) -> io::Result<Stdio> {
                end.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.fd().as_raw_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.as_raw_fd()).finish()
            }
        }
    };
}

reader!(
    /// The parent's end of the child's standard output, from
    /// [`Child::stdout`](super::Child::stdout) after
    /// [`Command::stdout`](super::Command::stdout)`(Stdio::piped())`.
    ///
    /// Reads return data as the child writes it, and `Ok(0)` once the child
    /// (and every process it passed the pipe to) has closed it. For lines,
    /// wrap it in `futures::io::BufReader` and use `lines()`.
    ///
    /// ```
    /// use sprout::process::{Command, Stdio};
    ///
    /// sprout::run(async {
    ///     let mut child = Command::new("sh").arg("-c").arg("echo one; echo two")
    ///         .stdout(Stdio::piped()).spawn().unwrap();
    ///     let stdout = child.stdout.take().unwrap();
    ///     let mut text = String::new();
    ///     stdout.read_to_string(&mut text).await.unwrap();
    ///     assert_eq!(text, "one\ntwo\n");
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    ChildStdout,
    std::process::ChildStdout,
    "stdout"
);

reader!(
    /// The parent's end of the child's standard error, from
    /// [`Child::stderr`](super::Child::stderr) after
    /// [`Command::stderr`](super::Command::stderr)`(Stdio::piped())`.
    /// It works as [`ChildStdout`] does.
    ChildStderr,
    std::process::ChildStderr,
    "stderr"
);

/// Passes the pipe on as another child's stdio; see `ChildStdout`'s.
impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;

    fn try_from(stdin: ChildStdin) -> io::Result<Stdio> {
        stdin.into_owned_fd().map(Stdio::from)
    }
}

impl AsFd for ChildStdin {
    /// # Panics
    /// After `poll_close` closed the pipe.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_ref().expect("ChildStdin used after poll_close").fd()
    }
}

impl AsRawFd for ChildStdin {
    /// # Panics
    /// After `poll_close` closed the pipe.
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin").field("fd", &self.pipe.as_ref().map(|p| p.fd().as_raw_fd())).finish()
    }
}
