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
//! Each end is an `Evented` (sprout-net's `evented.rs`), as a socket is: the same
//! read or write family (a short transfer clears readiness, a cancelled
//! wait forgets its waiter) and the same std-style timeouts
//! (`set_read_timeout` on stdout and stderr, `set_write_timeout` on stdin).

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::Duration;

use mio::event::Source;
use mio::unix::pipe::{Receiver, Sender};
use sprout_runtime::__net::Direction;
use sprout_runtime::io::Interest;

use sprout_net::__private::Evented;
use sprout_net::stream_macros::{self, AsEvented};

/// The two ends of a mio pipe, for what registering and handing back
/// either needs.
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

/// The parent's end of a pipe, non-blocking and registered for one
/// direction.
fn register<S: PipeEnd>(end: S, interest: Interest) -> io::Result<Evented<S>> {
    end.set_nonblocking(true)?;
    Evented::with_interest(end, interest)
}

/// Deregisters the pipe and hands back its descriptor, in blocking mode
/// again (a child given it expects the usual blocking pipe).
fn into_owned_fd<S: PipeEnd>(pipe: Evented<S>) -> io::Result<OwnedFd> {
    let end = pipe.into_inner()?;
    end.set_nonblocking(false)?;
    Ok(end.into())
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
    pipe: Option<Evented<Sender>>,
}

impl ChildStdin {
    /// Wraps the stdin of a child spawned with `std::process::Command`,
    /// switching it to non-blocking mode.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if the pipe cannot be registered.
    pub fn from_std(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin { pipe: Some(register(Sender::from(stdin), Interest::WRITABLE)?) })
    }

    fn pipe(&self) -> io::Result<&Evented<Sender>> {
        self.pipe.as_ref().ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed"))
    }

    /// Writes some bytes from `buf` and returns how many, waiting until the
    /// pipe has room: `std::io::Write::write`, only async.
    ///
    /// # Errors
    /// `BrokenPipe` once the child has closed its end; `TimedOut` once the
    /// write timeout passes.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.pipe()?.write_bytes(buf).await
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
    /// `BrokenPipe` if the child closes its end first; `TimedOut` once a
    /// wait for room outlasts the write timeout.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.pipe()?.write_all(buf).await
    }

    /// Does nothing: bytes reach the pipe on every `write`.
    pub async fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// Waits until a write would not block (room, or the child gone),
    /// under the write timeout.
    pub async fn writable(&self) -> io::Result<()> {
        self.pipe()?.ready(Direction::Write).await
    }

    /// Sets how long a write may wait for room in the pipe before it fails
    /// with `io::ErrorKind::TimedOut`, as a socket's
    /// [`set_write_timeout`](sprout_net::TcpStream::set_write_timeout). `None`
    /// (the default) waits forever.
    ///
    /// # Errors
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std; `BrokenPipe`
    /// after `poll_close`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.pipe()?.set_timeout(Direction::Write, timeout)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.pipe()?.timeout(Direction::Write))
    }

    /// Deregisters the pipe and hands back its descriptor (blocking again).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        into_owned_fd(
            self.pipe.ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed"))?,
        )
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

/// Generates a read stream type over `Evented<Receiver>`: `ChildStdout`
/// and `ChildStderr` differ only in name and docs. Their read methods are
/// every stream's (`stream_macros::read_methods!`).
macro_rules! reader {
    ($(#[$doc:meta])* $name:ident, $std:ty, $what:literal) => {
        $(#[$doc])*
        pub struct $name {
            pipe: Evented<Receiver>,
        }

        impl AsEvented for $name {
            type Socket = Receiver;
            fn evented(&self) -> &Evented<Receiver> {
                &self.pipe
            }
        }

        impl $name {
            #[doc = concat!("Wraps the ", $what, " of a child spawned with `std::process::Command`,")]
            /// switching it to non-blocking mode.
            ///
            /// # Errors
            /// Outside a sprout runtime, or if the pipe cannot be registered.
            pub fn from_std(end: $std) -> io::Result<$name> {
                Ok($name { pipe: register(Receiver::from(end), Interest::READABLE)? })
            }

            stream_macros::read_methods!("the child's output");

            /// Sets how long a read may wait for the child to write before
            /// it fails with `io::ErrorKind::TimedOut`, as a socket's
            /// [`set_read_timeout`](sprout_net::TcpStream::set_read_timeout).
            /// `None` (the default) waits forever. Applies to each read and
            /// `readable`, and to `AsyncRead`.
            ///
            /// # Errors
            /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
            pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                self.pipe.set_timeout(Direction::Read, timeout)
            }

            /// The read timeout.
            pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
                Ok(self.pipe.timeout(Direction::Read))
            }

            /// Deregisters the pipe and hands back its descriptor (blocking again).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                into_owned_fd(self.pipe)
            }
        }

        stream_macros::impl_async_read!($name);

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
                self.pipe.get_ref().as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.as_fd().as_raw_fd()
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
        self.pipe.as_ref().expect("ChildStdin used after poll_close").get_ref().as_fd()
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
        f.debug_struct("ChildStdin").field("fd", &self.pipe.as_ref().map(|p| p.get_ref().as_raw_fd())).finish()
    }
}
