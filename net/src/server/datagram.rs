//! `DatagramServer`: gevent's `DatagramServer`, a green task per datagram.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;

use super::{HandlerResult, ServerHandle, Shared, StopOnDrop, is_connection_error};
use crate::addr::ToSocketAddrs;
use crate::udp::UdpSocket;

/// The largest datagram the server receives whole (a UDP payload's maximum).
const MAX_DATAGRAM: usize = 65_536;

/// A UDP server that runs `handler(payload, sender, reply)` in its own
/// green task for every datagram: `gevent.server.DatagramServer`.
///
/// ```
/// use sprout::net::{DatagramServer, UdpSocket};
///
/// sprout::run(async {
///     let server = DatagramServer::bind("127.0.0.1:0", |data: Vec<u8>, _peer, reply: sprout::net::server::Reply| async move {
///         reply.send(&data.to_ascii_uppercase()).await
///     })
///     .await
///     .unwrap();
///     let addr = server.local_addr().unwrap();
///     let handle = server.start();
///
///     let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     client.send_to(b"hello", addr).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, _) = client.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"HELLO");
///     handle.stop();
/// });
/// ```
pub struct DatagramServer<H> {
    handler: H,
    socket: Rc<UdpSocket>,
    shared: Rc<Shared>,
}

/// The way back to a datagram's sender, given to the handler.
#[derive(Clone)]
pub struct Reply {
    socket: Rc<UdpSocket>,
    peer: SocketAddr,
}

impl Reply {
    /// Sends `data` to the datagram's sender, from the server's socket.
    pub async fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.socket.send_to(data, self.peer).await
    }

    /// The server's socket (to send elsewhere, say).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The sender's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply").field("peer", &self.peer).finish()
    }
}

impl<H, F> DatagramServer<H>
where
    H: Fn(Vec<u8>, SocketAddr, Reply) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    /// A server on a UDP socket bound to `addr`. The line that calls it is
    /// the spawn site of the server's tasks (in the task dump and the
    /// blocking detector's reports); each datagram's task is named
    /// `datagram from <sender>` when the runtime observes its tasks
    /// ([`is_observing`](sprout_runtime::observe::is_observing)).
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs, handler: H) -> impl Future<Output = io::Result<DatagramServer<H>>> {
        // Read here: `#[track_caller]` does not reach into an `async` body.
        let at = Location::caller();
        async move {
            let server = DatagramServer::from_socket(UdpSocket::bind(addr).await?, handler);
            server.shared.spawned_at.set(at);
            Ok(server)
        }
    }

    /// A server on a socket bound already; the line that calls it is the
    /// spawn site of the server's tasks.
    #[track_caller]
    pub fn from_socket(socket: UdpSocket, handler: H) -> DatagramServer<H> {
        let shared = Shared::new(super::DATAGRAM, Location::caller());
        if let Ok(addr) = socket.local_addr() {
            shared.local_addrs.borrow_mut().push(addr);
        }
        DatagramServer { handler, socket: Rc::new(socket), shared }
    }

    /// Runs at most `max` handlers at once; at the limit the server stops
    /// receiving, and datagrams wait in the socket's buffer (or are dropped
    /// by the kernel when it is full, as UDP does).
    pub fn max_concurrency(self, max: usize) -> DatagramServer<H> {
        self.shared.max_connections.set(Some(max.max(1)));
        self
    }

    /// The socket's address.
    ///
    /// # Errors
    /// `NotConnected` if the socket could not tell its address when the
    /// server was made.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.local_addr()
    }

    /// Calls `hook(peer, error)` for every handler that returns an `Err`,
    /// instead of the default, which prints one line on stderr for each
    /// error except those a peer causes ([`is_peer_error`](super::is_peer_error)).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let failures = Rc::new(Cell::new(0));
    /// let count = failures.clone();
    /// # let _ = async move {
    /// let server = sprout::net::DatagramServer::bind("127.0.0.1:0", |_, _, _| async { Err::<(), _>("bad") })
    ///     .await
    ///     .unwrap()
    ///     .on_error(move |_peer, _error| count.set(count.get() + 1));
    /// # };
    /// ```
    pub fn on_error(self, hook: impl Fn(SocketAddr, &(dyn std::error::Error + 'static)) + 'static) -> Self {
        *self.shared.on_error.borrow_mut() = Some(Rc::new(hook));
        self
    }

    /// A handle to stop the server, available before it starts.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle { shared: self.shared.clone() }
    }

    /// Starts receiving in the background and returns the handle.
    pub fn start(self) -> ServerHandle {
        let handle = self.handle();
        let addr = self.socket.local_addr().ok();
        let receiver = receive_loop(self.socket, self.handler, self.shared.clone());
        self.shared.start_acceptor(receiver, addr);
        handle
    }

    /// Serves until stopped, then waits for a graceful drain, as
    /// [`StreamServer::serve_forever`](super::StreamServer::serve_forever)
    /// does; dropping this future stops the server too.
    pub async fn serve_forever(self) {
        let guard = StopOnDrop(self.start());
        guard.0.finished().await;
    }
}

/// Receives datagrams until killed by `stop`. The socket closes once the
/// handlers still replying through it are done.
async fn receive_loop<H, F>(socket: Rc<UdpSocket>, handler: H, shared: Rc<Shared>)
where
    H: Fn(Vec<u8>, SocketAddr, Reply) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    let mut buf = vec![0; MAX_DATAGRAM];
    let mut streak = 0;
    loop {
        shared.below_limit().await;
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                shared.accept_recovered(&mut streak);
                let reply = Reply { socket: socket.clone(), peer };
                match catch_unwind(AssertUnwindSafe(|| handler(buf[..n].to_vec(), peer, reply))) {
                    Ok(work) => shared.spawn_tracked(work, peer),
                    Err(_) => shared.handler_panicked(peer),
                }
            }
            // An ICMP error from an earlier send (port unreachable...) shows
            // up on the next receive: it concerns that peer only.
            Err(e) if is_connection_error(&e) || e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => {
                let delay = shared.accept_failed(&e, &mut streak);
                let _ = sprout_runtime::timeout(delay, shared.changed.notified()).await;
            }
        }
    }
}

impl<H> fmt::Debug for DatagramServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramServer").field("socket", &self.socket).finish_non_exhaustive()
    }
}
