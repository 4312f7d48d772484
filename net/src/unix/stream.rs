//! `UnixStream`.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sprout_runtime::__net::Direction;

use crate::evented::Evented;
use crate::stream_macros::{self, AsEvented};

/// A Unix stream socket: [`std::os::unix::net::UnixStream`], only async.
///
/// Reads and writes work as on [`TcpStream`](crate::TcpStream), including
/// the timeouts and the `futures-io` traits.
///
/// ```
/// use sprout::net::UnixStream;
///
/// sprout::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     a.write_all(b"over the socket").await.unwrap();
///     drop(a);
///     let mut text = String::new();
///     b.read_to_string(&mut text).await.unwrap();
///     assert_eq!(text, "over the socket");
/// });
/// ```
pub struct UnixStream {
    inner: Evented<mio::net::UnixStream>,
}

impl AsEvented for UnixStream {
    type Socket = mio::net::UnixStream;
    #[inline]
    fn evented(&self) -> &Evented<mio::net::UnixStream> {
        &self.inner
    }
}

impl UnixStream {
    /// Connects to the socket bound at `path`.
    ///
    /// # Errors
    /// `NotFound` or `ConnectionRefused` if nobody listens there;
    /// `WouldBlock` if the listener's backlog is full (Unix sockets do not
    /// queue connects beyond it).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        stream.inner.ready(Direction::Write).await?;
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A pair of connected sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream { inner: Evented::new(stream)? })
    }

    /// Wraps a std stream, switching it to non-blocking mode.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters the stream and hands back a std stream in blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let fd = std::os::fd::OwnedFd::from(self.inner.into_inner()?);
        let stream = std::os::unix::net::UnixStream::from(fd);
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    stream_macros::read_methods!("the stream");
    stream_macros::write_methods!();

    /// Shuts down the reading side, the writing side, or both, at once.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets the read timeout (see [`TcpStream::set_read_timeout`](crate::TcpStream::set_read_timeout)).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Read, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(Direction::Read))
    }

    /// Sets the write timeout.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Write, timeout)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(Direction::Write))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }
}

stream_macros::impl_async_read!(UnixStream);
stream_macros::impl_async_write!(UnixStream, |s| stream_macros::shutdown_quietly(s.shutdown(Shutdown::Write)));

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}
