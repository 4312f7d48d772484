//! `StreamServer`: gevent's `StreamServer`, a green task per connection.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::rc::Rc;

use super::balance::{self, Balance, Balancer, Inbox};
use super::workers::{StartWorker, Worker, Workers};
use super::{HandlerResult, ServerHandle, Shared, StopOnDrop, is_connection_error};
use crate::addr::ToSocketAddrs;
use crate::tcp::{DEFAULT_BACKLOG, TcpListener, TcpStream};

/// A TCP server that runs `handler(stream, peer_addr)` in its own green
/// task for every connection: `gevent.server.StreamServer`.
///
/// ```
/// use std::time::Duration;
/// use sprout::net::{StreamServer, TcpStream};
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
/// sprout::run(async {
///     // Port 0: any free port. A real server names one and calls
///     // `server.serve_forever().await` instead of `start`.
///     let server = StreamServer::bind("127.0.0.1:0", echo).await.unwrap();
///     let addr = server.local_addr().unwrap();
///     let handle = server.start(); // accepts in a green task of its own
///
///     let client = TcpStream::connect(addr).await.unwrap();
///     client.write_all(b"hello").await.unwrap();
///     let mut reply = [0; 5];
///     client.read_exact(&mut reply).await.unwrap();
///     assert_eq!(&reply, b"hello");
///     assert_eq!(handle.connections(), 1);
///
///     drop(client); // the handler sees EOF and returns
///     assert_eq!(handle.stop_graceful(Duration::from_secs(5)).await, 0); // none killed
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
    /// How many workers `start` runs (1: this runtime only).
    workers: usize,
    /// How each extra worker starts its server; set by `workers`.
    start_worker: Option<StartWorker>,
    /// How connections are placed on the workers.
    balance: Balance,
    /// On an extra worker: the connections worker 0 hands over.
    inbox: Option<Inbox>,
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
    /// The line that calls it is the spawn site of the server's tasks, as
    /// the task dump and the blocking detector show them (see
    /// [`spawned_at`](Self::spawned_at)); each connection task is named
    /// `conn <peer address>` when the runtime observes its tasks
    /// ([`is_observing`](sprout_runtime::observe::is_observing)).
    ///
    /// # Errors
    /// If the address does not resolve or cannot be bound.
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs, handler: H) -> impl Future<Output = io::Result<StreamServer<H>>> {
        // Made now, outside the future: `#[track_caller]` does not reach
        // into an `async` body.
        let server = StreamServer::new(handler);
        server.listen(addr)
    }

    /// A server with no listener yet; add them with [`listen`](Self::listen)
    /// or [`add_listener`](Self::add_listener). The line that calls it is
    /// the spawn site of the server's tasks.
    #[track_caller]
    pub fn new(handler: H) -> StreamServer<H> {
        StreamServer {
            handler,
            listeners: Vec::new(),
            backlog: DEFAULT_BACKLOG,
            shared: Shared::new("StreamServer", Location::caller()),
            workers: 1,
            start_worker: None,
            balance: Balance::default(),
            inbox: None,
        }
    }

    /// Records `at` as the spawn site of the server's acceptor and
    /// connection tasks, as the task dump and the blocking detector's
    /// reports show them, in place of the line that made the server: for
    /// servers built on this one (sprout-http's `Server` passes its
    /// caller's), so that the site is the user's code.
    pub fn spawned_at(self, at: &'static Location<'static>) -> StreamServer<H> {
        self.shared.spawned_at.set(at);
        self
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

    /// Serves on `n` cores (0: one per CPU the process may use), each a
    /// *worker* with its own runtime, its own listeners and its own
    /// connections: the way to use every core (see
    /// [`sprout::cores`](sprout_runtime::cores)). The default is 1: this runtime alone.
    ///
    /// Worker 0 is the runtime that calls [`start`](Self::start) (or
    /// `serve_forever`); the others run on threads named
    /// `sprout-server-{i}`. By default ([`Balance::LeastConnections`])
    /// worker 0 accepts every connection and hands it to the worker with
    /// the fewest open ones, so the load is even however few connections
    /// there are (see [`balance`](Self::balance)). With
    /// [`Balance::Kernel`], on Linux each listener gets `SO_REUSEPORT` and
    /// a sibling on every other worker, bound to the same address, so the
    /// kernel spreads the connections over the workers, with no lock or
    /// shared queue in user space; on macOS and FreeBSD, whose
    /// `SO_REUSEPORT` does not balance, every worker accepts on a
    /// duplicate of the one listening socket instead: one accept queue, and
    /// each connection wakes every idle worker, of which one takes it
    /// (docs/cores.md, "Workers on macOS and FreeBSD"). Each worker calls
    /// its own clone of the handler
    /// (hence `H: Clone + Send`: the handler crosses threads once, at start;
    /// the futures it returns need not be `Send`).
    ///
    /// The [`ServerHandle`] controls them all: `stop` and `stop_graceful`
    /// reach every worker, `connections` counts them all. The connection
    /// limit ([`max_connections`](Self::max_connections)) applies to each
    /// worker. An [`on_error`](Self::on_error) hook, which need not be
    /// `Send`, sees worker 0's connections only; the other workers report
    /// with the default (one stderr line per error a peer did not cause).
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::{Arc, Mutex};
    /// use sprout::net::{StreamServer, TcpStream};
    ///
    /// sprout::run(async {
    ///     let threads = Arc::new(Mutex::new(HashSet::new()));
    ///     let seen = threads.clone();
    ///     let server = StreamServer::bind("127.0.0.1:0", move |stream: TcpStream, _| {
    ///         seen.lock().unwrap().insert(std::thread::current().id());
    ///         async move {
    ///             while let Ok(data) = stream.read_lent().await {
    ///                 if data.is_empty() || stream.write_all(&data).await.is_err() {
    ///                     break;
    ///                 }
    ///             }
    ///         }
    ///     })
    ///     .await
    ///     .unwrap()
    ///     .workers(2);
    ///     let addr = server.local_addr().unwrap();
    ///     let handle = server.start();
    ///     assert_eq!(handle.workers(), 2);
    ///     let mut clients = Vec::new();
    ///     for _ in 0..64 {
    ///         let client = TcpStream::connect(addr).await.unwrap();
    ///         client.write_all(b"hi").await.unwrap();
    ///         let mut back = [0; 2];
    ///         client.read_exact(&mut back).await.unwrap();
    ///         clients.push(client);
    ///     }
    ///     assert_eq!(threads.lock().unwrap().len(), 2, "both workers accepted");
    ///     drop(clients);
    ///     handle.stop_graceful(std::time::Duration::from_secs(1)).await;
    /// });
    /// ```
    pub fn workers(self, n: usize) -> StreamServer<H>
    where
        H: Clone + Send + 'static,
    {
        // Behind a lock, because the closure is shared by the workers'
        // threads (`Sync`) and a handler need only be `Send`; each worker
        // clones it once.
        let handler = std::sync::Mutex::new(self.handler.clone());
        self.workers_with(n, move |_| handler.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// [`workers`](Self::workers) with state of each worker's own:
    /// `make(i)` builds worker `i`'s handler, on worker `i`'s thread and
    /// inside its runtime, for `i` from 1 to `n - 1`, so the handler (and
    /// whatever it captures: an `Rc`, a `RefCell` cache, a client bound
    /// to the worker's runtime) need be neither `Send` nor `Clone`; only
    /// `make` crosses threads. Worker 0 keeps the handler this server was
    /// made with: build it with the same function, `make(0)`, so that
    /// every worker starts alike. `i` is also what
    /// [`Core::current()`](sprout_runtime::cores::Core::current) reports
    /// on the worker.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::net::SocketAddr;
    /// use std::rc::Rc;
    /// use sprout::net::{StreamServer, TcpStream};
    ///
    /// /// Worker `i`'s handler: it answers with its index and how many
    /// /// connections it has served, counted in a `!Send` cell of its own.
    /// fn counter(i: usize) -> impl Fn(TcpStream, SocketAddr) -> std::pin::Pin<Box<dyn Future<Output = ()>>> {
    ///     let served = Rc::new(Cell::new(0u32));
    ///     move |stream, _peer| {
    ///         served.set(served.get() + 1);
    ///         let line = format!("worker {i}, connection {}\n", served.get());
    ///         Box::pin(async move { let _ = stream.write_all(line.as_bytes()).await; })
    ///     }
    /// }
    ///
    /// sprout::run(async {
    ///     let server = StreamServer::bind("127.0.0.1:0", counter(0)).await.unwrap().workers_with(2, counter);
    ///     let addr = server.local_addr().unwrap();
    ///     let handle = server.start();
    ///     let stream = TcpStream::connect(addr).await.unwrap();
    ///     let mut line = String::new();
    ///     stream.read_to_string(&mut line).await.unwrap();
    ///     assert!(line.ends_with(", connection 1\n"), "{line}");
    ///     handle.stop_graceful(std::time::Duration::from_secs(1)).await;
    /// });
    /// ```
    pub fn workers_with<M>(self, n: usize, make: M) -> StreamServer<H>
    where
        M: Fn(usize) -> H + Send + Sync + 'static,
    {
        self.workers_by(n, move |worker| {
            let max = worker.max_connections();
            let server = StreamServer::new(make(worker.id())).spawned_at(worker.spawned_at());
            let mut server = server.add_worker(worker);
            if let Some(max) = max {
                server = server.max_connections(max);
            }
            server.start()
        })
    }

    /// [`workers`](Self::workers) for servers built on `StreamServer`
    /// (sprout-http's `Server` uses it): `start` runs on each extra
    /// worker's thread, inside its runtime, and starts that worker's
    /// server on the [`Worker`] (given to [`add_worker`](Self::add_worker),
    /// which takes its listeners and the connections worker 0 hands it),
    /// returning its handle (made with
    /// [`spawned_at`](Self::spawned_at)`(worker.spawned_at())`, its tasks
    /// show the same spawn site as worker 0's).
    pub fn workers_by(
        mut self,
        n: usize,
        start: impl Fn(Worker) -> ServerHandle + Send + Sync + 'static,
    ) -> StreamServer<H> {
        self.workers = if n == 0 { sprout_runtime::cores::available() } else { n };
        self.start_worker = Some(std::sync::Arc::new(start));
        self
    }

    /// How the [workers](Self::workers) share the connections: by load
    /// ([`Balance::LeastConnections`], the default: worker 0 accepts and
    /// hands each connection to the worker with the fewest open ones), or
    /// by the kernel ([`Balance::Kernel`]: a `SO_REUSEPORT` listener per
    /// worker on Linux, no hand-off). No effect with one worker. The
    /// figures behind the default are in docs/benchmarks.md, "Placement".
    ///
    /// ```
    /// use sprout_net::server::Balance;
    /// use sprout_net::{StreamServer, TcpStream};
    ///
    /// sprout_runtime::run(async {
    ///     let server = StreamServer::bind("127.0.0.1:0", |_stream: TcpStream, _| async {})
    ///         .await
    ///         .unwrap()
    ///         .workers(2)
    ///         .balance(Balance::Kernel);
    ///     server.start().stop();
    /// });
    /// ```
    pub fn balance(mut self, balance: Balance) -> StreamServer<H> {
        self.balance = balance;
        self
    }

    /// Serves an extra worker's share of a server started with
    /// [`workers_by`](Self::workers_by): its listeners, and the
    /// connections worker 0 hands it under
    /// [`Balance::LeastConnections`]. For the closure given to
    /// `workers_by`.
    pub fn add_worker(mut self, worker: Worker) -> StreamServer<H> {
        let (listeners, inbox) = worker.into_parts();
        self.inbox = inbox;
        for listener in listeners {
            self = self.add_listener(listener);
        }
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
    /// let server = sprout::net::StreamServer::bind("127.0.0.1:0", |_, _| async { Err::<(), _>("bad") })
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
        if let (2.., Some(start)) = (self.workers, self.start_worker) {
            let max = self.shared.max_connections.get();
            let at = self.shared.spawned_at.get();
            let workers = Workers::start(self.workers, self.balance, &self.listeners, self.backlog, max, at, start);
            let _ = self.shared.workers.set(workers);
        }
        let handler = Rc::new(self.handler);
        if let Some(inbox) = self.inbox {
            self.shared.inbox_open.set(true);
            let (handler, shared) = (handler.clone(), self.shared.clone());
            let serve = move |stream, peer| serve_conn(&*handler, &shared, stream, peer, Counted::Already);
            let task = sprout_runtime::task::Builder::new()
                .name("StreamServer inbox")
                .spawned_at(self.shared.spawned_at.get());
            // Detached: it ends when worker 0 closes the inbox.
            drop(task.spawn(balance::serve_inbox(inbox, self.shared.clone(), serve)));
        }
        for listener in self.listeners {
            let addr = listener.local_addr().ok();
            let acceptor = accept_loop(listener, handler.clone(), self.shared.clone());
            self.shared.start_acceptor(acceptor, addr);
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
        guard.0.finished().await;
    }
}

/// Accepts connections on `listener` until killed by `stop`: serves each
/// here, or hands it to another worker (`balance.rs`).
async fn accept_loop<H, F>(listener: TcpListener, handler: Rc<H>, shared: Rc<Shared>)
where
    H: Fn(TcpStream, SocketAddr) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    let mut streak = 0;
    loop {
        let balancer = shared.workers.get().and_then(Workers::balancer);
        match balancer {
            Some(balancer) => below_every_limit(balancer, &shared).await,
            None => shared.below_limit().await,
        }
        match listener.accept_unregistered().await {
            Ok((stream, peer)) => {
                shared.accept_recovered(&mut streak);
                let max = shared.max_connections.get();
                // `None`: every worker filled up meanwhile; this one takes it.
                let to = balancer.and_then(|b| b.pick(shared.open(), max).map(|i| (b, i)));
                let stream = match to {
                    Some((balancer, i @ 1..)) => match balancer.hand(i, (stream, peer)) {
                        Ok(()) => continue,
                        Err((stream, _)) => stream,
                    },
                    _ => stream,
                };
                match TcpStream::from_mio(stream) {
                    Ok(stream) => {
                        serve_conn(&*handler, &shared, stream, peer, Counted::No);
                    }
                    Err(e) => {
                        let delay = shared.accept_failed(&e, &mut streak);
                        let _ = sprout_runtime::timeout(delay, shared.changed.notified()).await;
                    }
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

/// Waits while every worker is at the connection limit. Worker 0's own
/// connections closing wake it; the others' cannot, so it looks again
/// every `LIMIT_RECHECK` (only while every worker is full).
async fn below_every_limit(balancer: &Balancer, shared: &Shared) {
    while shared.max_connections.get().is_some_and(|max| balancer.all_at(shared.open(), max)) {
        let _ = sprout_runtime::timeout(balance::LIMIT_RECHECK, shared.changed.notified()).await;
    }
}

/// Whether a connection is already counted in the worker's `live` count.
#[derive(Clone, Copy)]
enum Counted {
    /// Accepted here: count it.
    No,
    /// Handed over by worker 0, which counted it.
    Already,
}

/// Runs `handler` for a connection in a tracked task; `false` if the
/// handler panicked before returning its future (the connection is lost,
/// not the server).
fn serve_conn<H, F>(handler: &H, shared: &Rc<Shared>, stream: TcpStream, peer: SocketAddr, counted: Counted) -> bool
where
    H: Fn(TcpStream, SocketAddr) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    match catch_unwind(AssertUnwindSafe(|| handler(stream, peer))) {
        Ok(work) => {
            match counted {
                Counted::No => shared.spawn_tracked(work, peer),
                Counted::Already => shared.spawn_counted(work, peer),
            }
            true
        }
        Err(_) => {
            shared.handler_panicked(peer);
            false
        }
    }
}

impl<H> fmt::Debug for StreamServer<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamServer").field("listeners", &self.listeners).finish_non_exhaustive()
    }
}
