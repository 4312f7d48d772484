//! `TcpStream`: std's `TcpStream`, only async.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Poll, ready};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use sprout_runtime::__net::{Direction, SourceRegistration};

use super::split::{OwnedReadHalf, OwnedWriteHalf};
use crate::addr::{ToSocketAddrs, each_addr};
use crate::evented::{Drain, Evented, timed_out, with_timeout};
use crate::stream_macros::{self, AsEvented};

/// A TCP connection: [`std::net::TcpStream`], only async.
///
/// Every method that would block in std waits cooperatively here: other
/// green tasks run until the socket is ready. Methods take `&self`, so one
/// task may read while another writes (share it in an `Rc`, or
/// [`split`](TcpStream::split) it into owned halves). It also implements
/// `futures::io::{AsyncRead, AsyncWrite}`, for `futures::io::copy`,
/// `BufReader`, codecs and friends.
///
/// ```
/// use sprout::net::{TcpListener, TcpStream};
///
/// sprout::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     sprout::spawn(async move {
///         let (peer, _) = listener.accept().await.unwrap();
///         let mut buf = [0; 64];
///         let n = peer.read(&mut buf).await.unwrap();
///         peer.write_all(&buf[..n]).await.unwrap();
///     });
///
///     let stream = TcpStream::connect(addr).await.unwrap();
///     stream.write_all(b"hello").await.unwrap();
///     let mut reply = [0; 5];
///     stream.read_exact(&mut reply).await.unwrap();
///     assert_eq!(&reply, b"hello");
/// });
/// ```
///
/// The socket is registered with the running runtime once, edge-triggered,
/// and deregistered when the stream is dropped, which also closes it.
pub struct TcpStream {
    pub(crate) inner: Evented<mio::net::TcpStream>,
}

// `connect`'s future is `Send` (see `connect_addr`), checked at compile time.
const _: fn() = || {
    fn send<T: Send>(_: T) {}
    send(TcpStream::connect("localhost:80"));
    send(TcpStream::connect(("localhost".to_owned(), 80)));
};

impl AsEvented for TcpStream {
    type Socket = mio::net::TcpStream;
    #[inline]
    fn evented(&self) -> &Evented<mio::net::TcpStream> {
        &self.inner
    }
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each resolved address in turn
    /// (a host name is resolved off the loop).
    ///
    /// # Errors
    /// The last address's error (`ConnectionRefused`, ...), or the lookup's.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(&addr, TcpStream::connect_addr).await
    }

    /// Opens a connection to `addr`, giving up with `TimedOut` after
    /// `timeout`, like std's `connect_timeout`.
    ///
    /// # Errors
    /// `InvalidInput` for a zero timeout, `TimedOut`, or the connect's error.
    pub async fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        match sprout_runtime::timeout(timeout, TcpStream::connect_addr(*addr)).await {
            Ok(result) => result,
            Err(_) => Err(timed_out()),
        }
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        // The future owns the stream while it waits and never holds a
        // `&TcpStream` (which is `!Send`, the stream being `!Sync`) across
        // an await, so `connect`'s future is `Send` as the stream is:
        // hyper-util's pooled client asks that of a connector. A connect
        // cancelled by a timeout drops the stream, and its registration
        // with it: no waiter is left behind.
        let mut stream = Some(stream);
        // No timeout of its own (`connect_timeout` puts one around it), but
        // the current deadline (`sprout::deadline`) bounds it.
        let mut timer = None;
        poll_fn(move |cx| {
            let connected = stream.as_ref().expect("polled after completion").poll_connected(cx);
            ready!(with_timeout(cx, connected, None, &mut timer))?;
            Poll::Ready(Ok(stream.take().expect("polled after completion")))
        })
        .await
    }

    /// Whether a non-blocking connect has finished.
    fn poll_connected(&self, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        let registration = self.inner.io().registration();
        let ready = ready!(registration.poll_ready(cx, Direction::Write))?;
        if let Some(e) = self.take_error()? {
            return Poll::Ready(Err(e));
        }
        match self.inner.get_ref().peer_addr() {
            Ok(_) => Poll::Ready(Ok(())),
            // Closed or in error, yet no error to report: refused.
            Err(e) if e.kind() == io::ErrorKind::NotConnected && (ready.is_error() || ready.is_write_closed()) => {
                Poll::Ready(Err(io::Error::from(io::ErrorKind::ConnectionRefused)))
            }
            // Writable but not connected yet: a spurious edge. Wait
            // for the next one.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => registration.poll_blocked(cx, Direction::Write, ready),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream { inner: Evented::new(stream)? })
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if the socket cannot be registered.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream and hands back a std stream in blocking
    /// mode, as std code expects. Timeouts set here do not carry over.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let stream = std::net::TcpStream::from(self.inner.into_inner()?);
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    stream_macros::read_methods!("the stream");
    stream_macros::write_methods!();

    /// Reads bytes without removing them from the receive queue (`MSG_PEEK`).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.op(Direction::Read, Drain::Never, |s| s.peek(buf), |&n| n).await
    }

    /// Shuts down the reading side, the writing side, or both, at once
    /// (it never waits). Shutting down writing sends the peer an EOF.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Splits the stream into a read half and a write half that two tasks
    /// can own and use at once. Dropping the write half shuts down the
    /// writing side; [`OwnedReadHalf::reunite`] puts the halves back
    /// together.
    ///
    /// ```
    /// use sprout::net::{TcpListener, TcpStream};
    ///
    /// sprout::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (server, _) = listener.accept().await.unwrap();
    ///     let (reader, writer) = server.split();
    ///     let echo = sprout::spawn(async move {
    ///         let mut buf = [0; 3];
    ///         reader.read_exact(&mut buf).await.unwrap();
    ///         buf
    ///     });
    ///     writer.write_all(b"hi!").await.unwrap();
    ///     client.write_all(b"yo!").await.unwrap();
    ///     assert_eq!(&echo.await.unwrap(), b"yo!");
    /// });
    /// ```
    pub fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split(self)
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`: send small writes at once instead of batching
    /// them (Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`: with `Some(d)`, closing the socket waits up to `d`
    /// for unsent data (without blocking the loop: the close happens in the
    /// kernel); `Some(Duration::ZERO)` makes the close send a reset.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.inner.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.inner.get_ref()).linger()
    }

    /// Turns TCP keepalive probes on (after `idle` without traffic) or off
    /// (`None`).
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let sock = SockRef::from(self.inner.get_ref());
        match idle {
            None => sock.set_keepalive(false),
            Some(idle) => sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
        }
    }

    /// Whether keepalive probes are on (`SO_KEEPALIVE`).
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.inner.get_ref()).keepalive()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The `IP_TTL` setting.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Sets how long a read may wait before it fails with
    /// `io::ErrorKind::TimedOut`, as std's blocking sockets do. `None`
    /// (the default) waits forever. Applies to each read, peek and
    /// `readable`, and to `AsyncRead`.
    ///
    /// # Errors
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(Direction::Read, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(Direction::Read))
    }

    /// Sets how long a write may wait for room before it fails with
    /// `io::ErrorKind::TimedOut`. See [`set_read_timeout`](Self::set_read_timeout).
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

    /// A second handle to the same connection (a `dup`ed descriptor with
    /// its own registration and timeouts).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let fd = self.inner.get_ref().as_fd().try_clone_to_owned()?;
        TcpStream::from_mio(mio::net::TcpStream::from(fd))
    }
}

stream_macros::impl_async_read!(TcpStream);
stream_macros::impl_async_write!(TcpStream, |s| stream_macros::shutdown_quietly(s.shutdown(Shutdown::Write)));

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}
