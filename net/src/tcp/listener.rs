//! `TcpListener` and its socket2 builder.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use socket2::{Domain, Protocol, Socket, Type};
use sprout_runtime::__net::Direction;

use super::TcpStream;
use crate::addr::{ToSocketAddrs, each_addr};
use crate::evented::{Drain, Evented, Waiting};

/// The backlog `bind` asks for: room for a burst of connections between two
/// accepts (the kernel caps it at `net.core.somaxconn`). mio and tokio use
/// the same figure; std's 128 is too small for a busy green server.
pub const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket listening for connections: [`std::net::TcpListener`],
/// only async.
///
/// ```
/// use sprout::net::{TcpListener, TcpStream};
///
/// sprout::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = sprout::spawn(async move { TcpStream::connect(addr).await.unwrap() });
///     let (stream, peer) = listener.accept().await.unwrap();
///     assert_eq!(peer, client.await.unwrap().local_addr().unwrap());
///     # drop(stream);
/// });
/// ```
pub struct TcpListener {
    inner: Evented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` and listens, trying each resolved address in turn
    /// (a host name is resolved off the loop). Sets `SO_REUSEADDR`, as std
    /// does, and a backlog of [`DEFAULT_BACKLOG`]; port 0 picks a free port.
    /// For other options, see [`TcpListener::builder`].
    ///
    /// # Errors
    /// The last address's error (`AddrInUse`, ...), or the lookup's.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::builder().bind(addr).await
    }

    /// Options for a new listener: backlog, `SO_REUSEADDR`, `SO_REUSEPORT`,
    /// `IPV6_V6ONLY`.
    ///
    /// ```
    /// use sprout::net::TcpListener;
    ///
    /// sprout::run(async {
    ///     let listener = TcpListener::builder()
    ///         .backlog(4096)
    ///         .reuse_port(true)
    ///         .bind("127.0.0.1:0")
    ///         .await
    ///         .unwrap();
    ///     assert!(listener.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub fn builder() -> TcpListenerBuilder {
        TcpListenerBuilder::new()
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Cancellation-safe: dropping the future loses no connection (it stays
    /// in the kernel's queue for the next accept).
    ///
    /// # Errors
    /// The accept's error; `EMFILE` / `ENFILE` (`too many open files`) when
    /// descriptors run out. The listener stays usable after any of them.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.accept_unregistered().await?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// Polls for a connection; see [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.inner
            .poll_op(cx, Direction::Read, Drain::Never, |l| l.accept(), |_| 0)
            .map(|r| r.and_then(|(stream, addr)| Ok((TcpStream::from_mio(stream)?, addr))))
    }

    /// Accepts a connection without registering it with this runtime: for
    /// a server that may hand it to another worker's runtime
    /// (`server/balance.rs`), which registers it there. Cancellation-safe
    /// as [`accept`](Self::accept).
    pub(crate) async fn accept_unregistered(&self) -> io::Result<(mio::net::TcpStream, SocketAddr)> {
        // A cancelled accept forgets the waiter it left (see `Waiting`).
        let mut waiting = Waiting::new(&self.inner, Direction::Read);
        std::future::poll_fn(|cx| {
            let poll = self.inner.poll_op(cx, Direction::Read, Drain::Never, |l| l.accept(), |_| 0);
            waiting.left(&poll, cx);
            poll
        })
        .await
    }

    /// The connections as a `Stream`, like std's `incoming()`: it never
    /// ends, and yields accept errors as items.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for accepted connections.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.get_ref().set_ttl(ttl)
    }

    /// The `IP_TTL` setting.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.get_ref().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.get_ref().take_error()
    }

    /// A second handle to the same listening socket (a `dup`ed descriptor
    /// with its own registration): two tasks, or two runtimes on two
    /// threads, may accept from it.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let fd = self.inner.get_ref().as_fd().try_clone_to_owned()?;
        TcpListener::from_mio(mio::net::TcpListener::from(fd))
    }

    /// Wraps a listening std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if the socket cannot be registered.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(listener))
    }

    fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener { inner: Evented::new(listener)? })
    }

    /// Deregisters the listener and hands back a std listener in blocking mode.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let listener = std::net::TcpListener::from(self.inner.into_inner()?);
        listener.set_nonblocking(false)?;
        Ok(listener)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.get_ref().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

/// The connections of a [`TcpListener`] as a `Stream`; see
/// [`TcpListener::incoming`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(|r| Some(r.map(|(stream, _)| stream)))
    }
}

/// Options for a [`TcpListener`], set on the socket before it listens
/// (socket2 underneath). From [`TcpListener::builder`].
#[derive(Clone, Debug)]
pub struct TcpListenerBuilder {
    backlog: u32,
    reuse_address: bool,
    reuse_port: bool,
    only_v6: Option<bool>,
}

impl Default for TcpListenerBuilder {
    fn default() -> TcpListenerBuilder {
        TcpListenerBuilder::new()
    }
}

impl TcpListenerBuilder {
    /// The defaults of [`TcpListener::bind`].
    pub fn new() -> TcpListenerBuilder {
        TcpListenerBuilder { backlog: DEFAULT_BACKLOG, reuse_address: true, reuse_port: false, only_v6: None }
    }

    /// How many finished handshakes the kernel queues while nobody accepts
    /// (default [`DEFAULT_BACKLOG`]; capped by the system's limit,
    /// `net.core.somaxconn` on Linux, `kern.ipc.somaxconn` on macOS and
    /// FreeBSD).
    pub fn backlog(mut self, backlog: u32) -> TcpListenerBuilder {
        self.backlog = backlog;
        self
    }

    /// `SO_REUSEADDR` (default on): rebind a port at once after a restart,
    /// while old connections sit in `TIME_WAIT`.
    pub fn reuse_address(mut self, on: bool) -> TcpListenerBuilder {
        self.reuse_address = on;
        self
    }

    /// `SO_REUSEPORT` (default off): several sockets (processes, threads
    /// with a runtime each) bind the same port, and on Linux the kernel
    /// spreads the connections among them. macOS and FreeBSD let them bind
    /// but do not balance (one socket gets every connection; FreeBSD's
    /// balancing option is `SO_REUSEPORT_LB`): there, share one listener
    /// between threads instead, as `StreamServer::workers` does.
    pub fn reuse_port(mut self, on: bool) -> TcpListenerBuilder {
        self.reuse_port = on;
        self
    }

    /// `IPV6_V6ONLY` for IPv6 addresses: `true` accepts only IPv6, `false`
    /// IPv4-mapped addresses too. Unset, the system default applies
    /// (`net.ipv6.bindv6only`).
    pub fn only_v6(mut self, on: bool) -> TcpListenerBuilder {
        self.only_v6 = Some(on);
        self
    }

    /// Creates the socket, binds it to `addr` and listens.
    pub async fn bind(&self, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |addr| std::future::ready(self.bind_addr(addr))).await
    }

    fn bind_addr(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        // Non-blocking by `fcntl` rather than `SOCK_NONBLOCK`, which macOS
        // lacks: one more system call per bind, none per connection.
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        if self.reuse_address {
            socket.set_reuse_address(true)?;
        }
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        if let (Some(only_v6), SocketAddr::V6(_)) = (self.only_v6, addr) {
            socket.set_only_v6(only_v6)?;
        }
        socket.bind(&addr.into())?;
        let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
        socket.listen(backlog)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(socket.into()))
    }
}
