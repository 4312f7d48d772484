//! `StreamServer`: gevent's `StreamServer`, a green task per connection.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use super::{HandlerResult, ServerHandle, Shared, StopOnDrop, is_connection_error};
use crate::addr::ToSocketAddrs;
use crate::tcp::{DEFAULT_BACKLOG, TcpListener, TcpStream};

/// A TCP server that runs `handler(stream, peer_addr)` in its own green
/// task for every connection: `gevent.server.StreamServer`.
///
/// ```no_run
/// use sprout_net::{StreamServer, TcpStream};
///
/// async fn echo(stream: TcpStream, _peer: std::net::SocketAddr) -> std::io::Result<()> {
///     let mut buf = [0; 4096];
///     loop {
///         let n = stream.read(&mut buf).await?;
///         if n == 0 {
///             return Ok(()); // the client closed
///         }
///         stream.write_all(&buf[..n]).await?;
///     }
/// }
///
/// sprout_runtime::run(async {
///     let server = StreamServer::bind("127.0.0.1:8000", echo).await.unwrap();
///     println!("serving on {}", server.local_addr().unwrap());
///     server.serve_forever().await;
/// });
/// ```
///
/// Several listeners can share one server (and its connection limit):
/// `StreamServer::new(handler).listen(a).await?.listen(b).await?`. The
/// handler may return `()` or a `Result`; see [`HandlerResult`].
pub struct StreamServer<H> {
    handler: H,
    listeners: Vec<TcpListener>,
    backlog: u32,
    shared: Rc<Shared>,
}

impl<H, F> StreamServer<H>
where
    H: Fn(TcpStream, SocketAddr) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    /// A server listening on `addr` (port 0 picks a free port), with the
    /// default backlog and no connection limit.
    ///
    /// # Errors
    /// If the address does not resolve or cannot be bound.
    pub async fn bind(addr: impl ToSocketAddrs, handler: H) -> io::Result<StreamServer<H>> {
        StreamServer::new(handler).listen(addr).await
    }

    /// A server with no listener yet; add them with [`listen`](Self::listen)
    /// or [`add_listener`](Self::add_listener).
    pub fn new(handler: H) -> StreamServer<H> {
        StreamServer { handler, listeners: Vec::new(), backlog: DEFAULT_BACKLOG, shared: Shared::new("StreamServer") }
    }

    /// The backlog of the listeners `listen` binds from now on (default
    /// [`DEFAULT_BACKLOG`]).
    pub fn backlog(mut self, backlog: u32) -> StreamServer<H> {
        self.backlog = backlog;
        self
    }

    /// Serves at most `max` connections at once (gevent's `spawn=Pool(max)`):
    /// at the limit the server stops accepting, and new connections wait in
    /// the kernel's backlog until one closes.
    pub fn max_connections(self, max: usize) -> StreamServer<H> {
        self.shared.max_connections.set(Some(max.max(1)));
        self
    }

    /// Binds one more listener on `addr`.
    pub async fn listen(self, addr: impl ToSocketAddrs) -> io::Result<StreamServer<H>> {
        let listener = TcpListener::builder().backlog(self.backlog).bind(addr).await?;
        Ok(self.add_listener(listener))
    }

    /// Serves one more, already bound, listener.
    pub fn add_listener(mut self, listener: TcpListener) -> StreamServer<H> {
        if let Ok(addr) = listener.local_addr() {
            self.shared.local_addrs.borrow_mut().push(addr);
        }
        self.listeners.push(listener);
        self
    }

    /// The first listener's address.
    ///
    /// # Errors
    /// `NotConnected` if the server has no listener yet (made with
    /// [`new`](Self::new), before [`listen`](Self::listen)).
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
    /// let server = sprout_net::StreamServer::bind("127.0.0.1:0", |_, _| async { Err::<(), _>("bad") })
    ///     .await
    ///     .unwrap()
    ///     .on_error(move |_peer, _error| count.set(count.get() + 1));
    /// # };
    /// ```
    pub fn on_error(self, hook: impl Fn(SocketAddr, &(dyn std::error::Error + 'static)) + 'static) -> Self {
        *self.shared.on_error.borrow_mut() = Some(Rc::new(hook));
        self
    }

    /// A handle to stop the server, available before it starts (for a
    /// signal-watching task, say).
    pub fn handle(&self) -> ServerHandle {
        ServerHandle { shared: self.shared.clone() }
    }

    /// Starts accepting in the background (one task per listener) and
    /// returns the handle: gevent's `server.start()`.
    pub fn start(self) -> ServerHandle {
        let handle = self.handle();
        let handler = Rc::new(self.handler);
        for listener in self.listeners {
            let acceptor = accept_loop(listener, handler.clone(), self.shared.clone());
            self.shared.start_acceptor(acceptor);
        }
        handle
    }

    /// Serves until the server is stopped (from a handler, a signal
    /// task...): gevent's `serve_forever()`. After
    /// [`ServerHandle::stop_graceful`] it returns once the drain is over:
    /// the connections have finished, or the stragglers were killed at the
    /// deadline. After a plain [`ServerHandle::stop`] it returns at once,
    /// and open connections go on. Dropping this future stops the server
    /// too.
    pub async fn serve_forever(self) {
        let guard = StopOnDrop(self.start());
        guard.0.served().await;
    }
}

/// Accepts connections on `listener` until killed by `stop`.
async fn accept_loop<H, F>(listener: TcpListener, handler: Rc<H>, shared: Rc<Shared>)
where
    H: Fn(TcpStream, SocketAddr) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    let mut streak = 0;
    loop {
        shared.below_limit().await;
        match listener.accept().await {
            Ok((stream, peer)) => {
                shared.accept_recovered(&mut streak);
                // A handler that panics before it even returns its future
                // loses this connection, not the server.
                match catch_unwind(AssertUnwindSafe(|| handler(stream, peer))) {
                    Ok(work) => shared.spawn_tracked(work, peer),
                    Err(_) => eprintln!("sprout: {}: the handler for {peer} panicked", shared.name()),
                }
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                let delay = shared.accept_failed(&e, &mut streak);
                // Back off, but retry as soon as a connection closes: it
                // may have given back the descriptor we lacked.
                let _ = sprout_runtime::timeout(delay, shared.changed.notified()).await;
            }
        }
    }
}

impl<H> fmt::Debug for StreamServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer").field("listeners", &self.listeners).finish_non_exhaustive()
    }
}
