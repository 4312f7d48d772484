//! gevent's servers: [`StreamServer`] (a green task per connection) and
//! [`DatagramServer`] (a green task per datagram), with one
//! [`ServerHandle`] to stop them.
//!
//! # Design notes
//! - Each listener (or UDP socket) has one *acceptor* task. Stopping kills
//!   the acceptors, which drops, and so closes, the listeners at once.
//! - Each connection runs in its own task, whose `JoinHandle` sits in the
//!   server's slab until the task ends (a guard in the task removes it),
//!   so a graceful stop can wait for them and kill the rest.
//! - A graceful stop is the server's, not its caller's: `stop_graceful`
//!   records the deadline in `Shared` before it stops the server, and every
//!   task that waits for the drain (the caller, `serve_forever`) runs the
//!   same `Shared::drain`, so whichever wakes first at the deadline kills
//!   the rest, and `serve_forever` returns only once the drain is over (as
//!   gevent's does), even if the task that called `stop_graceful` is gone.
//! - A handler learns that a graceful stop began from the server's
//!   `stopping` token ([`stopping`], [`ServerHandle::stopping`]), cancelled
//!   as the drain starts, so long-lived work (long polls, streams,
//!   WebSockets) can finish before the deadline kills it. Connection tasks
//!   make their server [`current`] for the length of each poll
//!   (`context.rs`); a connection that leaves its task (an upgraded
//!   WebSocket) keeps counting through a [`Lease`] (`lease.rs`), which the
//!   drain waits for and, at its deadline, ends.
//! - At the connection limit the acceptor stops calling `accept`: new
//!   connections wait in the kernel's backlog, not in memory.
//! - An accept that fails for lack of resources (`EMFILE`, `ENFILE`,
//!   `ENOBUFS`, `ENOMEM`) is reported once, then the acceptor backs off
//!   (10 ms, doubling up to 1 s) and retries early whenever a connection
//!   closes and gives back its descriptor. It never spins: under
//!   edge-triggered epoll the pending connection keeps the listener ready,
//!   so only the back-off paces the retries.

mod balance;
mod context;
mod datagram;
mod lease;
mod on_signals;
#[cfg(target_os = "linux")]
mod reuseport;
mod shared_listener;
mod stream;
mod workers;

use std::cell::{Cell, OnceCell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;
use sprout_runtime::sync::{Event, Notify};
use sprout_runtime::{CancelToken, JoinHandle, task};

pub use balance::Balance;
pub use context::{current, stopping, with_current};
pub use datagram::{DatagramServer, Reply};
pub use lease::Lease;
use lease::LeaseSlot;
pub use stream::StreamServer;
pub use workers::Worker;
use workers::Workers;

/// What a connection or datagram handler may return: `()`, or any `Result`
/// whose error goes to the server's error hook (see
/// [`StreamServer::on_error`]). The default hook prints one line on stderr,
/// as gevent prints a failed handler's traceback, except for the errors a
/// peer causes ([`is_peer_error`]), which stay quiet.
pub trait HandlerResult {
    /// The handler's error, if it failed.
    fn into_error(self) -> Option<Box<dyn Error>>;
}

impl HandlerResult for () {
    #[inline]
    fn into_error(self) -> Option<Box<dyn Error>> {
        None
    }
}

impl<T, E: Into<Box<dyn Error>>> HandlerResult for Result<T, E> {
    #[inline]
    fn into_error(self) -> Option<Box<dyn Error>> {
        self.err().map(Into::into)
    }
}

/// Whether `error` is one a peer causes rather than a fault of the server:
/// an `io::Error` of kind `ConnectionReset`, `ConnectionAborted`,
/// `BrokenPipe`, `NotConnected`, `UnexpectedEof` (EOF mid-message),
/// `TimedOut` (a read timeout) or `InvalidData` (a malformed request: a bad
/// method, a bad header). The default error hook keeps these quiet: a
/// server that logs one line per misbehaving client lets any client fill
/// its log.
pub fn is_peer_error(error: &(dyn Error + 'static)) -> bool {
    use io::ErrorKind::*;
    error.downcast_ref::<io::Error>().is_some_and(|e| {
        matches!(
            e.kind(),
            ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected | UnexpectedEof | TimedOut | InvalidData
        )
    })
}

/// `Shared::kind` of a `DatagramServer`.
const DATAGRAM: &str = "DatagramServer";

/// A server's error hook: the peer's address and the handler's error.
type ErrorHook = Rc<dyn Fn(SocketAddr, &(dyn Error + 'static))>;

/// The state a server shares with its handle, acceptors and connections.
struct Shared {
    /// "StreamServer", for reports.
    kind: &'static str,
    /// Where the server was made (`bind`, `new`, ... are `#[track_caller]`):
    /// the spawn site of its acceptor and connection tasks, so that dumps
    /// and blocking reports point at the user's code, not this crate's.
    spawned_at: Cell<&'static Location<'static>>,
    local_addrs: RefCell<Vec<SocketAddr>>,
    max_connections: Cell<Option<usize>>,
    stopped: Event,
    acceptors: RefCell<Vec<JoinHandle<()>>>,
    /// The running connection (or datagram) tasks.
    conns: RefCell<Slab<JoinHandle<()>>>,
    /// Connections that left their tasks (`lease.rs`), counted with them.
    leases: RefCell<Slab<LeaseSlot>>,
    /// Cancelled when a graceful stop begins: what handlers read through
    /// `server::stopping()` to finish long-lived work in time.
    stopping: CancelToken,
    /// Rung when a connection ends or the server stops: wakes an acceptor
    /// paused at the limit or backing off, and a graceful stop.
    changed: Notify,
    accept_errors: Cell<u64>,
    /// Set by the first `stop_graceful`; never cleared.
    draining: Cell<bool>,
    /// When the drain ends: the earliest deadline any `stop_graceful` asked
    /// for. `None`: no deadline (`Duration::MAX` means wait for them all).
    drain_deadline: Cell<Option<Instant>>,
    /// How many connection tasks the drain killed.
    killed: Cell<usize>,
    /// Where handler errors go; `None` for the default (stderr, peers' errors quiet).
    on_error: RefCell<Option<ErrorHook>>,
    /// Worker 0's hold on the other workers (`StreamServer::workers`).
    workers: OnceCell<Workers>,
    /// On another worker: where it publishes its open connections for
    /// worker 0 (written once per connection opened or closed).
    live: OnceCell<Arc<AtomicUsize>>,
    /// On another worker with `Balance::LeastConnections`: whether its
    /// inbox may still bring connections (`balance.rs`); its drain and its
    /// end wait for the inbox to close.
    inbox_open: Cell<bool>,
}

impl Shared {
    fn new(kind: &'static str, spawned_at: &'static Location<'static>) -> Rc<Shared> {
        Rc::new(Shared {
            kind,
            spawned_at: Cell::new(spawned_at),
            local_addrs: RefCell::new(Vec::new()),
            max_connections: Cell::new(None),
            stopped: Event::new(),
            acceptors: RefCell::new(Vec::new()),
            conns: RefCell::new(Slab::new()),
            leases: RefCell::new(Slab::new()),
            stopping: CancelToken::new(),
            changed: Notify::default(),
            accept_errors: Cell::new(0),
            draining: Cell::new(false),
            drain_deadline: Cell::new(None),
            killed: Cell::new(0),
            on_error: RefCell::new(None),
            workers: OnceCell::new(),
            live: OnceCell::new(),
            inbox_open: Cell::new(false),
        })
    }

    /// The first listener's (or the socket's) address.
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.local_addrs.borrow().first().copied().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, format!("this {} has no listener yet", self.kind))
        })
    }

    /// Starts (or shortens) a graceful drain of `grace` from now. A grace
    /// too long to be an `Instant` means no deadline. Returns whether it
    /// started the drain or moved its deadline (the workers need to hear
    /// only those).
    fn begin_drain(&self, grace: Duration) -> bool {
        // The runtime's clock: a drain under paused time follows it.
        let deadline = sprout_runtime::time::now().checked_add(grace);
        let earliest = match (self.draining.get(), self.drain_deadline.get(), deadline) {
            (false, _, new) => new,
            (true, Some(old), Some(new)) => Some(old.min(new)),
            (true, old, new) => old.or(new),
        };
        let moved = !self.draining.get() || earliest != self.drain_deadline.get();
        self.draining.set(true);
        self.drain_deadline.set(earliest);
        // Handlers that asked (`server::stopping()`) learn the stop began.
        self.stopping.cancel();
        // A drain already waiting re-reads the deadline.
        self.changed.notify_waiters();
        moved
    }

    /// Waits until the connections are gone or the drain's deadline has
    /// passed, then kills the rest. Returns how many the drain killed in
    /// all. Several tasks may run it at once; the first past the deadline
    /// kills, the others find nothing left. A connection task that runs it
    /// (a handler stopping its own server) neither waits for itself nor
    /// kills itself: `serve_forever` waits for it instead.
    async fn drain(&self) -> usize {
        let me = sprout_runtime::current().id();
        let others_left = || {
            self.inbox_open.get()
                || self.conns.borrow().iter().any(|(_, task)| task.id() != me)
                || self.leases.borrow().iter().any(|(_, lease)| !lease.is_ended())
        };
        while others_left() {
            let changed = self.changed.notified();
            match self.drain_deadline.get() {
                None => changed.await,
                Some(deadline) => {
                    if sprout_runtime::time::timeout_at(deadline, changed).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Taken out first: each killed task's guard touches the slab.
        let rest: Vec<JoinHandle<()>> = {
            let mut conns = self.conns.borrow_mut();
            let keys: Vec<usize> = conns.iter().filter(|(_, task)| task.id() != me).map(|(key, _)| key).collect();
            keys.into_iter().map(|key| conns.remove(key)).collect()
        };
        // Leases cannot be killed: they are ended, and their I/O fails.
        let ended: Vec<_> = {
            let mut leases = self.leases.borrow_mut();
            leases.iter_mut().filter(|(_, lease)| !lease.is_ended()).map(|(_, lease)| lease.end()).collect()
        };
        self.killed.set(self.killed.get() + rest.len() + ended.len());
        for task in rest {
            task.kill();
        }
        ended.into_iter().flatten().for_each(Waker::wake);
        self.killed.get()
    }

    /// What `serve_forever` does once the server is stopped: wait for a
    /// graceful drain to finish; after a plain `stop`, nothing.
    async fn finish(&self) {
        if self.draining.get() {
            self.drain().await;
        }
    }

    /// "StreamServer on 127.0.0.1:8080", for reports.
    fn name(&self) -> String {
        let addrs: Vec<String> = self.local_addrs.borrow().iter().map(ToString::to_string).collect();
        format!("{} on {}", self.kind, addrs.join(", "))
    }

    /// Hands a handler's error to the hook, or reports it (see
    /// [`is_peer_error`]): one stderr line, or with the `tracing` feature an
    /// ERROR event of target `sprout::server`; a peer's error is a DEBUG
    /// event with the feature, and nothing without it.
    fn report(&self, peer: SocketAddr, error: &(dyn Error + 'static)) {
        let hook = self.on_error.borrow().clone();
        match hook {
            Some(hook) => hook(peer, error),
            None if is_peer_error(error) => sprout_runtime::__report!(event: DEBUG(
                target: "sprout::server",
                server = %self.name(),
                peer = %peer,
                error = %error,
                "a handler failed through its peer"
            )),
            None => sprout_runtime::__report!(
                event: ERROR(target: "sprout::server", server = %self.name(), peer = %peer, error = %error, "a handler failed"),
                stderr: "sprout: {}: the handler for {peer} failed: {error}",
                self.name(),
            ),
        }
    }

    /// Reports a handler that panicked before it returned its future: the
    /// connection (or datagram) is lost, the server goes on.
    fn handler_panicked(&self, peer: SocketAddr) {
        sprout_runtime::__report!(
            event: ERROR(target: "sprout::server", server = %self.name(), peer = %peer, "the handler panicked"),
            stderr: "sprout: {}: the handler for {peer} panicked",
            self.name(),
        );
    }

    fn at_limit(&self) -> bool {
        self.max_connections.get().is_some_and(|max| self.conns.borrow().len() >= max)
    }

    /// Waits while the server is at its connection limit.
    async fn below_limit(&self) {
        while self.at_limit() {
            self.changed.notified().await;
        }
    }

    /// Spawns `work` as a tracked connection task, at the server's spawn
    /// site. When the runtime observes its tasks (for its dumps and
    /// blocking reports), the task is named for `peer`, as `conn
    /// 127.0.0.1:51234` or `datagram from ...`; otherwise the name is not
    /// made: it would cost every connection two allocations (the name and
    /// the task's rarely used `Extras`, over 100 bytes) that nothing reads.
    fn spawn_tracked<F>(self: &Rc<Shared>, work: F, peer: SocketAddr)
    where
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        self.spawn_counted(work, peer);
        if let Some(live) = self.live.get() {
            live.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`spawn_tracked`](Self::spawn_tracked) for a connection already
    /// counted in `live` (worker 0 counts the connections it hands over:
    /// `balance.rs`).
    fn spawn_counted<F>(self: &Rc<Shared>, work: F, peer: SocketAddr)
    where
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        let mut conns = self.conns.borrow_mut();
        let entry = conns.vacant_entry();
        let tracked = Tracked { shared: self.clone(), key: entry.key() };
        let mut task = task::Builder::new().spawned_at(self.spawned_at.get());
        if sprout_runtime::observe::is_observing() {
            task =
                task.name(if self.kind == DATAGRAM { format!("datagram from {peer}") } else { format!("conn {peer}") });
        }
        // The task runs from the loop's next turn, after this borrow ends.
        entry.insert(task.spawn(Connection { work, tracked, peer }));
    }

    /// Open connections on this worker.
    fn open(&self) -> usize {
        self.conns.borrow().len() + self.leases.borrow().len()
    }

    /// Counts a failed accept; reports the first of a streak on stderr.
    /// Returns how long to back off.
    fn accept_failed(&self, error: &io::Error, streak: &mut u32) -> Duration {
        self.accept_errors.set(self.accept_errors.get().saturating_add(1));
        if *streak == 0 {
            sprout_runtime::__report!(
                event: WARN(target: "sprout::server", server = %self.name(), error = %error, "accept failed; backing off and retrying"),
                stderr: "sprout: {}: accept failed: {error}; backing off and retrying",
                self.name(),
            );
        }
        *streak = streak.saturating_add(1);
        // 10 ms, 20 ms, ... capped at 1 s (gevent's min and max delays).
        Duration::from_millis(10u64 << (*streak - 1).min(7)).min(Duration::from_secs(1))
    }

    /// A successful accept after a streak of failures.
    fn accept_recovered(&self, streak: &mut u32) {
        if *streak > 0 {
            sprout_runtime::__report!(
                event: INFO(target: "sprout::server", server = %self.name(), failed_attempts = *streak, "accepting again"),
                stderr: "sprout: {}: accepting again after {streak} failed attempts",
                self.name(),
            );
            *streak = 0;
        }
    }

    /// Spawns the acceptor (or receiver) of the listener (or socket) on `addr`.
    fn start_acceptor<F: Future<Output = ()> + 'static>(&self, acceptor: F, addr: Option<SocketAddr>) {
        let name = match addr {
            Some(addr) => format!("{} on {addr}", self.kind),
            None => self.kind.to_owned(),
        };
        let task = task::Builder::new().name(name).spawned_at(self.spawned_at.get());
        self.acceptors.borrow_mut().push(task.spawn(acceptor));
    }
}

pin_project_lite::pin_project! {
    /// A connection (or datagram) task: the handler's future, then the
    /// report of its result. Written by hand to keep the task one small
    /// state machine deep.
    struct Connection<F> {
        #[pin]
        work: F,
        tracked: Tracked,
        peer: SocketAddr,
    }
}

impl<F> Future for Connection<F>
where
    F: Future,
    F::Output: HandlerResult,
{
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // The handler sees its server (`server::current`, `server::stopping`).
        match context::with_shared(&this.tracked.shared, || this.work.poll(cx)) {
            Poll::Ready(out) => {
                if let Some(error) = out.into_error() {
                    this.tracked.shared.report(*this.peer, &*error);
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Removes a finished (or killed) task from its server's slab.
struct Tracked {
    shared: Rc<Shared>,
    key: usize,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // A graceful stop that kills the stragglers has taken the slab out
        // first, so the borrow is free and the key simply absent.
        let handle = self.shared.conns.try_borrow_mut().ok().and_then(|mut conns| conns.try_remove(self.key));
        // Our own handle, dropped outside the borrow: it only detaches.
        drop(handle);
        if let Some(live) = self.shared.live.get() {
            live.fetch_sub(1, Ordering::Relaxed);
        }
        self.shared.changed.notify_waiters();
    }
}

/// Whether an accept error concerns only the connection being accepted
/// (retry at once) rather than the process (back off).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted)
        || e.raw_os_error() == Some(libc::EPROTO)
        || e.raw_os_error() == Some(libc::EPERM)
}

/// Controls a running [`StreamServer`] or [`DatagramServer`]: stop it, wait
/// for it, count its connections. Cheap to clone; it stays on the
/// runtime's thread (`!Send`).
///
/// ```
/// use std::time::Duration;
/// use sprout::net::{StreamServer, TcpStream};
///
/// sprout::run(async {
///     let server = StreamServer::bind("127.0.0.1:0", |stream: TcpStream, _| async move {
///         let mut buf = [0; 1024];
///         while let Ok(n @ 1..) = stream.read(&mut buf).await {
///             if stream.write_all(&buf[..n]).await.is_err() {
///                 break;
///             }
///         }
///     })
///     .await
///     .unwrap();
///     let addr = server.local_addr().unwrap();
///     let handle = server.start();
///
///     let client = TcpStream::connect(addr).await.unwrap();
///     client.write_all(b"ping").await.unwrap();
///     let mut buf = [0; 4];
///     client.read_exact(&mut buf).await.unwrap();
///     drop(client);
///
///     // Stop accepting, give connections 1 s to finish, kill the rest.
///     let killed = handle.stop_graceful(Duration::from_secs(1)).await;
///     assert_eq!(killed, 0);
/// });
/// ```
#[derive(Clone)]
pub struct ServerHandle {
    shared: Rc<Shared>,
}

impl ServerHandle {
    /// Stops accepting and closes the listener (or the UDP socket's
    /// receiver) of this runtime at once. Open connections go on; see
    /// [`stop_graceful`](Self::stop_graceful). Idempotent. With
    /// [workers](StreamServer::workers), each other worker closes its own
    /// listener when its thread reads the stop, shortly after this call
    /// returns, not within it; its thread ends once its last connection has
    /// (or when this server's last handle is dropped, which kills them).
    pub fn stop(&self) {
        // Forwarded once: repeated stops must not fill the workers' small
        // command queues ahead of a later drain.
        if let (false, Some(workers)) = (self.shared.stopped.is_set(), self.shared.workers.get()) {
            workers.stop();
        }
        self.stop_here();
    }

    /// Stops this worker's acceptors (worker 0's, with several workers).
    fn stop_here(&self) {
        let acceptors = std::mem::take(&mut *self.shared.acceptors.borrow_mut());
        // Killing drops each acceptor's future now, and with it its listener.
        acceptors.iter().for_each(JoinHandle::kill);
        drop(acceptors);
        if !self.shared.stopped.is_set() {
            self.shared.stopped.set();
            self.shared.changed.notify_waiters();
        }
    }

    /// Stops accepting, waits up to `timeout` for the open connections to
    /// finish, then kills the rest (their futures are dropped, closing
    /// their sockets). Returns how many were killed. `serve_forever`
    /// returns only once this drain is over (gevent's
    /// `serve_forever(stop_timeout)`), so a program whose main future is
    /// `serve_forever` lets its connections finish.
    ///
    /// Any timeout is valid: `Duration::MAX` waits for every connection,
    /// however long. A second call, or a shorter timeout, moves the
    /// deadline earlier, never later.
    ///
    /// A handler may call it to stop its own server: it waits for (and
    /// kills) the other connections only, then the handler carries on, and
    /// `serve_forever` returns once that handler is done too (or killed at
    /// the deadline).
    ///
    /// With [workers](StreamServer::workers), every worker drains the
    /// same way, and this returns once they all have ended (their threads
    /// joined), with the count for them all.
    pub async fn stop_graceful(&self, timeout: Duration) -> usize {
        let moved = self.shared.begin_drain(timeout);
        if let (true, Some(workers)) = (moved, self.shared.workers.get()) {
            workers.drain(timeout);
        }
        self.stop_here();
        let here = self.shared.drain().await;
        match self.shared.workers.get() {
            Some(workers) => here + workers.join().await,
            None => here,
        }
    }

    /// Waits until the server is stopped (accepting no more; connections
    /// may still be draining).
    pub async fn stopped(&self) {
        self.shared.stopped.wait().await;
    }

    /// Waits until the server is stopped and any graceful drain is over
    /// (on every worker): what `serve_forever` waits for, for a server
    /// started with `start`. With [`stop_on_signals`](Self::stop_on_signals),
    /// a program that started its server can end with
    /// `handle.finished().await`.
    pub async fn finished(&self) {
        self.stopped().await;
        self.shared.finish().await;
        if let (true, Some(workers)) = (self.shared.draining.get(), self.shared.workers.get()) {
            workers.join().await;
        }
    }

    /// A token cancelled when a graceful stop begins
    /// ([`stop_graceful`](Self::stop_graceful), on this worker): the
    /// signal for long-lived handlers (long polls, streamed responses,
    /// WebSockets) to finish before the stop's deadline kills them. A
    /// plain [`stop`](Self::stop) leaves connections running and does not
    /// cancel it. From inside a handler, [`server::stopping()`](stopping)
    /// gives the same token without the handle.
    pub fn stopping(&self) -> CancelToken {
        self.shared.stopping.clone()
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.is_set()
    }

    /// The number of open connections (running handler tasks), on every
    /// worker.
    pub fn connections(&self) -> usize {
        let others = self.shared.workers.get().map_or(0, Workers::connections);
        self.shared.open() + others
    }

    /// How many workers (threads, each with its runtime and listeners)
    /// serve: 1 unless the server was started with
    /// [`workers`](StreamServer::workers).
    pub fn workers(&self) -> usize {
        1 + self.shared.workers.get().map_or(0, Workers::count)
    }

    /// The runtime handles of workers 1 to n-1 while they run (empty with
    /// one worker, or once they have ended; worker 0 is the runtime that
    /// started the server). Ask them for their
    /// [`metrics`](sprout_runtime::Handle::metrics) or a
    /// [`dump`](sprout_runtime::Handle::dump): both wait for the worker's
    /// thread, so call them off the runtime thread (`spawn_blocking`).
    pub fn worker_handles(&self) -> Vec<sprout_runtime::Handle> {
        self.shared.workers.get().map_or_else(Vec::new, Workers::handles)
    }

    /// How many accepts (or receives) have failed so far, for monitoring.
    pub fn accept_errors(&self) -> u64 {
        self.shared.accept_errors.get()
    }

    /// The addresses the server listens on (empty if it has none).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.shared.local_addrs.borrow().clone()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("name", &self.shared.name())
            .field("connections", &self.connections())
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// Stops the server if `serve_forever`'s future is dropped.
struct StopOnDrop(ServerHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_back_off_doubles_up_to_a_second_and_resets() {
        let shared = Shared::new("TestServer", Location::caller());
        let error = io::Error::from_raw_os_error(libc::EMFILE);
        let mut streak = 0;
        let delays: Vec<u64> = (0..10).map(|_| shared.accept_failed(&error, &mut streak).as_millis() as u64).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        assert_eq!(shared.accept_errors.get(), 10);
        shared.accept_recovered(&mut streak);
        assert_eq!(streak, 0);
        assert_eq!(shared.accept_failed(&error, &mut streak), Duration::from_millis(10));
    }

    #[test]
    fn peer_errors_are_told_apart_from_the_servers() {
        for kind in [io::ErrorKind::ConnectionReset, io::ErrorKind::UnexpectedEof, io::ErrorKind::InvalidData] {
            assert!(is_peer_error(&io::Error::from(kind)), "{kind:?}");
        }
        assert!(!is_peer_error(&io::Error::from(io::ErrorKind::PermissionDenied)));
        let other: Box<dyn Error> = "the handler's own error".into();
        assert!(!is_peer_error(&*other));
    }

    #[test]
    fn connection_errors_are_told_apart_from_resource_errors() {
        assert!(is_connection_error(&io::Error::from(io::ErrorKind::ConnectionAborted)));
        assert!(is_connection_error(&io::Error::from_raw_os_error(libc::EPROTO)));
        assert!(!is_connection_error(&io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(!is_connection_error(&io::Error::from_raw_os_error(libc::ENFILE)));
        assert!(!is_connection_error(&io::Error::from_raw_os_error(libc::ENOBUFS)));
    }
}
