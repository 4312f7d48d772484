//! Readiness I/O on any file descriptor: [`Async`], [`wait_readable`],
//! [`wait_writable`], [`IoSource`] for any `mio` source; and
//! [`Lent`], the buffer a stream's `read_lent()` lends for one read.
//!
//! gevent lets a greenlet wait on any file descriptor with
//! `gevent.socket.wait_read(fileno)`; tokio has `AsyncFd`. Here, wrap an
//! owned descriptor (a pipe, a device, a socket made by another library)
//! in [`Async`] to drive its non-blocking calls cooperatively, or await
//! [`wait_readable`] / [`wait_writable`] once on a descriptor you keep.
//!
//! The same contract as the sockets applies: edge-triggered registration,
//! readiness cleared when your closure returns `WouldBlock` (the error and
//! hang-up bits too, so nothing spins), readers and writers waiting
//! separately, one budget unit per operation, and at most one run of your
//! closure per poll.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Registry, Token};

use sprout_runtime::__net::{Direction, SourceRegistration};
pub use sprout_runtime::io::{Interest, IoSource};

pub use crate::lent::{LENT_BUFFER_SIZE, Lent, POOL_MAX, pooled};

/// A raw descriptor as a mio source. It owns nothing: whoever made it keeps
/// the descriptor open for as long as it is registered.
struct FdSource(RawFd);

impl Source for FdSource {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        SourceFd(&self.0).register(registry, token, interest)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        SourceFd(&self.0).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0).deregister(registry)
    }
}

/// An I/O object whose descriptor is registered with the runtime, so its
/// non-blocking calls can wait cooperatively: gevent's `wait_read` /
/// `wait_write` as a type, like tokio's `AsyncFd` and async-io's `Async`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream; // a std type, not sprout's
/// use sprout::io::Async;
///
/// sprout::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (Async::new(a).unwrap(), Async::new(b).unwrap());
///     a.write_with(|mut s| s.write(b"bring your own fd")).await.unwrap();
///     let mut buf = [0; 64];
///     let n = b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"bring your own fd");
/// });
/// ```
///
/// `Async<T>` implements `futures::io::AsyncRead` / `AsyncWrite` when `T`
/// implements `Read` / `Write`.
pub struct Async<T: AsFd> {
    // Dropped first: deregistered while `inner` still holds the fd open.
    io: IoSource<FdSource>,
    inner: T,
}

impl<T: AsFd> Async<T> {
    /// Switches `inner`'s descriptor to non-blocking mode (`O_NONBLOCK`) and
    /// registers it for reading and writing.
    ///
    /// # Errors
    /// Outside a sprout runtime; if `fcntl` fails; if epoll refuses the
    /// descriptor (a regular file: epoll cannot wait on disk I/O, use
    /// `spawn_blocking`) or already watches it (`AlreadyExists`: each
    /// descriptor can be registered once). On macOS and the BSDs kqueue
    /// accepts a regular file and calls it always readable, so there a
    /// file's reads block the loop: use `sprout::fs` for files everywhere.
    pub fn new(inner: T) -> io::Result<Async<T>> {
        let fd = inner.as_fd().as_raw_fd();
        set_nonblocking(fd)?;
        Ok(Async { io: IoSource::new(FdSource(fd))?, inner })
    }

    /// The wrapped object.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped object, mutably. Do not close or replace its descriptor.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Deregisters the descriptor and hands the object back (still in
    /// non-blocking mode).
    pub fn into_inner(self) -> io::Result<T> {
        let Async { io, inner } = self;
        io.into_inner()?;
        Ok(inner)
    }

    /// Waits until the descriptor is readable (or closed, or in error).
    ///
    /// It only waits: it cannot see a read you then make yourself (through
    /// [`get_ref`](Self::get_ref)) return `WouldBlock`, so the cached
    /// readiness stays, and `loop { readable().await; my_read() }` spins
    /// once the data is drained. Make the read with
    /// [`read_with`](Self::read_with), which forgets the readiness on
    /// `WouldBlock` and waits for the next edge.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until the descriptor is writable (or closed, or in error).
    /// As with [`readable`](Self::readable), write with
    /// [`write_with`](Self::write_with), not beside it.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Polls for readability (see [`readable`](Self::readable) for why a
    /// read made beside it must go through `read_with`).
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for writability.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.registration().poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Runs the non-blocking read-side call `op` until it stops returning
    /// `WouldBlock`, waiting for readability in between.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let inner = &self.inner;
        let mut waiter = self.io.registration().waiter(Direction::Read);
        std::future::poll_fn(|cx| waiter.poll_io(cx, || op(inner))).await
    }

    /// As [`read_with`](Self::read_with), with `&mut T`.
    pub async fn read_with_mut<R>(&mut self, mut op: impl FnMut(&mut T) -> io::Result<R>) -> io::Result<R> {
        let (io, inner) = (&self.io, &mut self.inner);
        let mut waiter = io.registration().waiter(Direction::Read);
        std::future::poll_fn(|cx| waiter.poll_io(cx, || op(inner))).await
    }

    /// Runs the non-blocking write-side call `op` until it stops returning
    /// `WouldBlock`, waiting for writability in between.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let inner = &self.inner;
        let mut waiter = self.io.registration().waiter(Direction::Write);
        std::future::poll_fn(|cx| waiter.poll_io(cx, || op(inner))).await
    }

    /// As [`write_with`](Self::write_with), with `&mut T`.
    pub async fn write_with_mut<R>(&mut self, mut op: impl FnMut(&mut T) -> io::Result<R>) -> io::Result<R> {
        let (io, inner) = (&self.io, &mut self.inner);
        let mut waiter = io.registration().waiter(Direction::Write);
        std::future::poll_fn(|cx| waiter.poll_io(cx, || op(inner))).await
    }
}

impl<T: AsFd + Read + Unpin> futures_io::AsyncRead for Async<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let (io, inner) = (&this.io, &mut this.inner);
        io.registration().poll_io(cx, Direction::Read, || inner.read(buf))
    }
}

impl<T: AsFd + Write + Unpin> futures_io::AsyncWrite for Async<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let (io, inner) = (&this.io, &mut this.inner);
        io.registration().poll_io(cx, Direction::Write, || inner.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (io, inner) = (&this.io, &mut this.inner);
        io.registration().poll_io(cx, Direction::Write, || inner.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Async").field(&self.inner).finish()
    }
}

/// Waits until `fd` is readable (or closed, or in error): gevent's
/// `wait_read(fileno)`. The descriptor is registered for the wait and
/// deregistered after; it must be in non-blocking mode for the read that
/// follows to be safe, and must not be registered with sprout already (a
/// sprout socket has `readable()` for that).
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
///
/// sprout::run(async {
///     let (mut a, b) = UnixStream::pair().unwrap();
///     a.write_all(b"x").unwrap();
///     sprout::io::wait_readable(&b).await.unwrap();
/// });
/// ```
///
/// # Errors
/// Outside a sprout runtime, or if epoll refuses the descriptor.
pub async fn wait_readable(fd: impl AsFd) -> io::Result<()> {
    let source = IoSource::with_interest(FdSource(fd.as_fd().as_raw_fd()), Interest::READABLE)?;
    source.readable().await
}

/// Waits until `fd` is writable (or closed, or in error): gevent's
/// `wait_write(fileno)`. See [`wait_readable`].
pub async fn wait_writable(fd: impl AsFd) -> io::Result<()> {
    let source = IoSource::with_interest(FdSource(fd.as_fd().as_raw_fd()), Interest::WRITABLE)?;
    source.writable().await
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: `fd` is open (borrowed from a live `AsFd`); F_GETFL reads flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; F_SETFL only changes the file status flags.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
