//! `UnixListener`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use sprout_runtime::__net::Direction;

use super::UnixStream;
use crate::evented::{Drain, Evented, Waiting};

/// A Unix socket listening for connections:
/// [`std::os::unix::net::UnixListener`], only async.
///
/// ```
/// use sprout::net::{UnixListener, UnixStream};
///
/// sprout::run(async {
///     let dir = std::env::temp_dir().join(format!("sprout-doc-{}", std::process::id()));
///     let _ = std::fs::create_dir(&dir);
///     let path = dir.join("listener.sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path).unwrap();
///     let client = UnixStream::connect(&path).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct UnixListener {
    inner: Evented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens. The file must not exist yet (remove a
    /// stale one first); binding does not block, so this is not async.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_mio(mio::net::UnixListener::bind(path)?)
    }

    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener { inner: Evented::new(listener)? })
    }

    /// Wraps a std listener, switching it to non-blocking mode.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    /// Deregisters the listener and hands back a std listener in blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let fd = std::os::fd::OwnedFd::from(self.inner.into_inner()?);
        let listener = std::os::unix::net::UnixListener::from(fd);
        listener.set_nonblocking(false)?;
        Ok(listener)
    }

    /// Waits for a connection. Cancellation-safe.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        // A cancelled accept forgets the waiter it left (see `Waiting`).
        let mut waiting = Waiting::new(&self.inner, Direction::Read);
        std::future::poll_fn(|cx| {
            let poll = self.poll_accept(cx);
            waiting.left(&poll, cx);
            poll
        })
        .await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.inner
            .poll_op(cx, Direction::Read, Drain::Never, |l| l.accept(), |_| 0)
            .map(|r| r.and_then(|(stream, addr)| Ok((UnixStream::from_mio(stream)?, addr))))
    }

    /// The connections as a never-ending `Stream`.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

/// The connections of a [`UnixListener`] as a `Stream`.
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(|r| Some(r.map(|(stream, _)| stream)))
    }
}
