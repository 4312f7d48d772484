//! Workers: one server per core. With `Balance::Kernel`, each has its own
//! `SO_REUSEPORT` listener on Linux, so the kernel spreads the connections
//! (elsewhere they share one listening socket: `shared_listener.rs`); with
//! `Balance::LeastConnections`, worker 0 alone listens and hands each
//! connection to the least loaded worker (`balance.rs`).
//!
//! # Design notes
//! - Worker 0 is the runtime that calls `start`; workers 1 to n-1 are the
//!   cores of a `sprout::cores` set started beside it
//!   (`Builder::spawn_beside`), whose core 0 is worker 0: worker i is core
//!   i of n for `Core::current()`, on a thread named `sprout-server-{i}`. Each runs a
//!   complete server of its own (its own `Shared`, acceptors, connection
//!   tasks): nothing is shared on the hot path, not even a counter that
//!   every request touches.
//! - Listeners: every listener of the server gets `SO_REUSEPORT` (set after
//!   the fact on a listener already bound, which Linux accepts: the
//!   reuseport group forms when a sibling binds), and each extra worker
//!   binds a sibling on the same address. If a sibling cannot be bound, the
//!   worker shares the original socket instead (a `dup`: one accept
//!   queue, every worker woken for each connection) and a line on stderr
//!   says so (`reuseport.rs`). Off Linux, where `SO_REUSEPORT` does not
//!   balance, every worker shares it that way (`shared_listener.rs`).
//! - Control: worker 0's `ServerHandle` holds `Workers`, a channel per
//!   worker and the cores' `Running`. `stop` and `stop_graceful` are
//!   forwarded as commands; each worker runs the same command on its own
//!   server. A worker ends when its server is stopped and has no
//!   connection left (or on `Kill`).
//! - Counts: each extra worker publishes its open connections in an atomic
//!   that only it writes, once per connection opened or closed, so
//!   `connections()` on worker 0 sums them without asking anyone.
//! - The end: dropping the last handle of worker 0's server (the program
//!   leaving `run`) kills the workers' connections and joins their threads,
//!   as the end of a one-runtime program drops its tasks.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::fmt;
use std::future::poll_fn;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use sprout_runtime::cores::{self, Running, Sender};

use super::balance::{Balance, Balancer, Inbox};
#[cfg(target_os = "linux")]
use super::reuseport::siblings;
#[cfg(not(target_os = "linux"))]
use super::shared_listener::siblings;
use super::{ServerHandle, Shared};
use crate::tcp::TcpListener;

/// Builds and starts one extra worker's server, on its thread.
pub(super) type StartWorker = Arc<dyn Fn(Worker) -> ServerHandle + Send + Sync>;

/// One extra worker's share of a server started with
/// [`StreamServer::workers_by`](super::StreamServer::workers_by): its
/// listeners (registered with the worker's own runtime) and the server's
/// settings. The closure given to `workers_by` turns it into a running
/// server on the worker's thread.
pub struct Worker {
    id: usize,
    count: usize,
    listeners: Vec<TcpListener>,
    /// With `Balance::LeastConnections`: the connections worker 0 hands over.
    inbox: Option<Inbox>,
    max_connections: Option<usize>,
    spawned_at: &'static Location<'static>,
}

impl Worker {
    /// The worker's index, from 1 to `count() - 1` (worker 0 is the
    /// runtime that called `start`). The same as
    /// [`Core::current()`](sprout_runtime::cores::Core::current)'s id on
    /// the worker's thread, which is named `sprout-server-{id}`.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many workers serve, worker 0 included.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The server's connection limit, which applies to each worker.
    pub fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// Where worker 0's server was made: the spawn site its tasks show,
    /// for this worker's server to show too
    /// ([`StreamServer::spawned_at`](super::StreamServer::spawned_at)).
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// The worker's listeners, one per address of the server, each a
    /// `SO_REUSEPORT` sibling of worker 0's on Linux, a second descriptor
    /// for worker 0's own socket elsewhere (see `StreamServer::workers`);
    /// none with [`Balance::LeastConnections`], where worker 0 hands each
    /// connection over. Prefer
    /// [`StreamServer::add_worker`](super::StreamServer::add_worker),
    /// which takes those too: this drops the worker's inbox, which closes
    /// the connections already handed to it (worker 0 serves the later
    /// ones itself).
    pub fn into_listeners(self) -> Vec<TcpListener> {
        self.listeners
    }

    /// The listeners and the inbox, for `StreamServer::add_worker`.
    pub(super) fn into_parts(self) -> (Vec<TcpListener>, Option<Inbox>) {
        (self.listeners, self.inbox)
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("count", &self.count)
            .field("listeners", &self.listeners)
            .finish()
    }
}

/// What worker 0 asks of the others.
enum Command {
    /// `ServerHandle::stop`.
    Stop,
    /// `ServerHandle::stop_graceful(timeout)`.
    Drain(Duration),
    /// Kill every connection and end now.
    Kill,
}

/// What a worker's thread gets at start.
struct Seed {
    listeners: Vec<std::net::TcpListener>,
    commands: cores::Receiver<Command>,
    live: Arc<AtomicUsize>,
    inbox: Option<Inbox>,
}

/// Worker 0's hold on the others (see the module docs).
pub(super) struct Workers {
    commands: Vec<Sender<Command>>,
    /// Each worker's open connections.
    live: Vec<Arc<AtomicUsize>>,
    /// Taken by whoever joins the workers (a graceful stop, `serve_forever`).
    running: RefCell<Option<Running<usize, Infallible>>>,
    /// Set once the workers are joined, for every other waiter.
    joined: sprout_runtime::sync::Event,
    /// Connections the workers' graceful drains killed.
    killed: Cell<usize>,
    /// With `Balance::LeastConnections`, once the workers run.
    balancer: Option<Balancer>,
}

impl Workers {
    /// Starts workers 1 to `count - 1` for worker 0's `listeners`.
    pub(super) fn start(
        count: usize,
        balance: Balance,
        listeners: &[TcpListener],
        backlog: u32,
        max_connections: Option<usize>,
        spawned_at: &'static Location<'static>,
        start: StartWorker,
    ) -> Workers {
        let mut seeds = Vec::with_capacity(count - 1);
        let (mut commands, mut live) = (Vec::new(), Vec::new());
        for _ in 1..count {
            let (tx, rx) = cores::channel(4);
            let counter = Arc::new(AtomicUsize::new(0));
            commands.push(tx);
            live.push(counter.clone());
            seeds.push(Some(Seed { listeners: Vec::new(), commands: rx, live: counter, inbox: None }));
        }
        let mut balancer = None;
        if balance == Balance::LeastConnections {
            let (made, inboxes) = Balancer::new(live.clone());
            for (seed, inbox) in seeds.iter_mut().zip(inboxes) {
                seed.as_mut().expect("not taken yet").inbox = Some(inbox);
            }
            balancer = Some(made);
        }
        // With a balancer, only worker 0 listens.
        for listener in listeners.iter().filter(|_| balancer.is_none()) {
            for (seed, sibling) in seeds.iter_mut().zip(siblings(listener, count - 1, backlog)) {
                seed.as_mut().expect("not taken yet").listeners.push(sibling);
            }
        }
        let seeds = Mutex::new(seeds);
        // This runtime is core 0 of the set: worker i is core i of n, on a
        // thread named `sprout-server-{i}`, whatever asks (`Core::current`).
        let builder = cores::Builder::new().count(count).thread_name("sprout-server");
        let running = builder.spawn_beside(move |core| {
            let seed = seeds.lock().unwrap_or_else(PoisonError::into_inner)[core.id() - 1].take();
            let start = start.clone();
            async move {
                let seed = seed.expect("each worker takes its own seed once");
                let settings = Settings { max_connections, spawned_at, count };
                Ok::<usize, Infallible>(serve(core.id(), seed, settings, &*start).await)
            }
        });
        let running = match running {
            Ok(running) => Some(running),
            Err(e) => {
                sprout_runtime::__report!(
                    event: WARN(target: "sprout::server", error = %e, "StreamServer: could not start the other workers; serving on one"),
                    stderr: "sprout: StreamServer: could not start the other workers ({e}); serving on one",
                );
                // Worker 0 alone: it hands nothing over.
                balancer = None;
                None
            }
        };
        Workers {
            commands,
            live,
            running: RefCell::new(running),
            joined: sprout_runtime::sync::Event::new(),
            killed: Cell::new(0),
            balancer,
        }
    }

    /// Worker 0's balancer, with `Balance::LeastConnections`.
    pub(super) fn balancer(&self) -> Option<&Balancer> {
        self.balancer.as_ref()
    }

    /// How many workers there are besides worker 0.
    pub(super) fn count(&self) -> usize {
        self.commands.len()
    }

    /// The other workers' runtime handles, while they run.
    pub(super) fn handles(&self) -> Vec<sprout_runtime::Handle> {
        // Core 0 of the set is this runtime.
        self.running.borrow().as_ref().map_or_else(Vec::new, |running| running.cores().handles()[1..].to_vec())
    }

    /// Open connections on the other workers.
    pub(super) fn connections(&self) -> usize {
        self.live.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }

    pub(super) fn stop(&self) {
        self.close_inboxes();
        self.send(|| Command::Stop);
    }

    pub(super) fn drain(&self, timeout: Duration) {
        self.close_inboxes();
        self.send(|| Command::Drain(timeout));
    }

    /// Worker 0 hands nothing over once it stops: each worker serves what
    /// its inbox holds, then the inbox ends (`balance.rs`).
    fn close_inboxes(&self) {
        if let Some(balancer) = &self.balancer {
            balancer.close();
        }
    }

    fn send(&self, command: impl Fn() -> Command) {
        for tx in &self.commands {
            // A worker that has ended has nothing left to stop. The queue
            // holds four: `ServerHandle` forwards a stop once and a drain
            // only when it moves the deadline, and the last word, `Kill`,
            // is backed by `Running`'s drop.
            let _ = tx.try_send(command());
        }
    }

    /// Waits until every worker has ended (after a stop), and returns how
    /// many connections their graceful drains killed.
    pub(super) async fn join(&self) -> usize {
        let running = self.running.borrow_mut().take();
        match running {
            Some(running) => {
                if let Ok(killed) = running.join().await {
                    self.killed.set(killed.iter().sum());
                }
                self.joined.set();
            }
            None => self.joined.wait().await,
        }
        self.killed.get()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.send(|| Command::Kill);
        // `Running`'s drop stops the cores and joins their threads: each is
        // only dropping its tasks by now.
        drop(self.running.get_mut().take());
    }
}

/// What every worker's server copies from worker 0's.
#[derive(Clone, Copy)]
struct Settings {
    max_connections: Option<usize>,
    spawned_at: &'static Location<'static>,
    /// How many workers there are, worker 0 included.
    count: usize,
}

/// A worker's life: start its server, obey worker 0, end when stopped and
/// empty. Returns how many connections a graceful drain killed.
async fn serve(id: usize, seed: Seed, settings: Settings, start: &dyn Fn(Worker) -> ServerHandle) -> usize {
    let Seed { listeners, commands, live, inbox } = seed;
    let listeners = listeners
        .into_iter()
        .filter_map(|l| match TcpListener::from_std(l) {
            Ok(l) => Some(l),
            Err(e) => {
                sprout_runtime::__report!(
                    event: WARN(target: "sprout::server", worker = id, error = %e, "StreamServer: a worker cannot use its listener"),
                    stderr: "sprout: StreamServer: worker {id} cannot use its listener: {e}",
                );
                None
            }
        })
        .collect();
    let Settings { max_connections, spawned_at, count } = settings;
    let handle = start(Worker { id, count, listeners, inbox, max_connections, spawned_at });
    // Before its acceptors first run (at the next turn), so every connection counts.
    let _ = handle.shared.live.set(live);
    let shared = handle.shared.clone();
    loop {
        let next = {
            let mut command = pin!(commands.recv());
            let mut done = pin!(finished(&shared));
            poll_fn(|cx| {
                if let Poll::Ready(command) = command.as_mut().poll(cx) {
                    return Poll::Ready(command);
                }
                done.as_mut().poll(cx).map(|()| None)
            })
            .await
        };
        match next {
            Some(Command::Stop) => handle.stop(),
            Some(Command::Drain(timeout)) => {
                let handle = handle.clone();
                // In its own task, so that a later command (a shorter
                // drain, a kill) is still heard.
                sprout_runtime::spawn(async move { handle.stop_graceful(timeout).await });
            }
            // Stopped and empty, killed, or worker 0 is gone (its senders
            // dropped): dropping the runtime ends whatever is left.
            Some(Command::Kill) | None => return shared.killed.get(),
        }
    }
}

/// Waits until the server is stopped and has no connection left.
async fn finished(shared: &Rc<Shared>) {
    while !shared.stopped.is_set() || !shared.conns.borrow().is_empty() || shared.inbox_open.get() {
        shared.changed.notified().await;
    }
}
