//! Placing connections on workers: by the kernel's hash (`SO_REUSEPORT`,
//! `reuseport.rs`) or by load, through worker 0's acceptor.
//!
//! # Design notes
//! - [`Balance::LeastConnections`]: only worker 0 listens. Its acceptor
//!   accepts each connection *unregistered* (no epoll registration on
//!   worker 0: `TcpListener::accept_unregistered`) and hands it to the
//!   worker with the fewest open connections, over that worker's
//!   [`cores::channel`] (its *inbox*); the worker registers it with its
//!   own runtime and runs the handler. Ties go round-robin, so that
//!   short-lived connections (one HTTP request each) spread too.
//! - The counts: each extra worker's open connections live in an atomic
//!   (`Workers::live`) that worker 0's acceptor raises at the hand-off,
//!   before the worker has even seen the connection, and the worker
//!   lowers when the connection's task ends. So two connections accepted
//!   back to back see each other, and `connections()` counts a connection
//!   in flight. Worker 0's own count is its connection slab.
//! - A hand-off that fails (the inbox full, or the worker gone) is undone
//!   (the count lowered) and worker 0 serves the connection itself: none is
//!   lost, and stderr says so once.
//! - Stopping: worker 0 drops its inbox senders when it stops (before it
//!   tells the workers), so each worker's inbox ends once the connections
//!   already handed over are taken; a worker's drain and its end wait for
//!   that (`Shared::inbox_open`), so a connection in flight is served and
//!   waited for like any other.
//! - The connection limit applies to each worker: worker 0 picks among the
//!   workers below it; when every one is at it, the acceptor stops
//!   accepting (connections wait in the kernel's backlog) and looks again
//!   when one of its own connections closes, or every 10 ms for the other
//!   workers' (which live on other threads).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sprout_runtime::cores::{self, Sender, TrySendError};

use super::Shared;

/// How a server with several [workers](super::StreamServer::workers)
/// places its connections on them
/// ([`StreamServer::balance`](super::StreamServer::balance)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Balance {
    /// Each worker has a listener of its own (`SO_REUSEPORT` on Linux) and
    /// the kernel places each connection by a hash of its addresses: no
    /// hand-off between threads, but with few connections one worker may
    /// get more than its share, and keeps them. Off Linux the workers share
    /// one listening socket (docs/cores.md).
    Kernel,
    /// Worker 0 accepts every connection and hands it to the worker with
    /// the fewest open connections (ties in turn): an even spread whatever
    /// the number of connections, for one cross-thread message per
    /// connection. The default: see docs/benchmarks.md, "Placement".
    #[default]
    LeastConnections,
}

/// What worker 0 sends a worker: an accepted, unregistered connection.
pub(super) type Handoff = (mio::net::TcpStream, SocketAddr);

/// A worker's end of its inbox: the connections worker 0 hands it.
pub(super) type Inbox = cores::Receiver<Handoff>;

/// How many connections may wait in one worker's inbox; beyond that worker
/// 0 serves the connection itself (a worker that far behind is busy).
const INBOX: usize = 1024;

/// Worker 0's side: the inboxes and the workers' counts.
pub(super) struct Balancer {
    /// Worker i's inbox at `i - 1`; emptied at stop.
    inboxes: RefCell<Vec<Sender<Handoff>>>,
    /// Worker i's open connections at `i - 1` (shared with `Workers`).
    live: Vec<Arc<AtomicUsize>>,
    /// Where the next tie-break starts.
    cursor: Cell<usize>,
    /// Whether a failed hand-off was reported.
    warned: Cell<bool>,
}

impl Balancer {
    /// A balancer for `live.len()` extra workers, and their inboxes.
    pub(super) fn new(live: Vec<Arc<AtomicUsize>>) -> (Balancer, Vec<Inbox>) {
        let (senders, inboxes) = live.iter().map(|_| cores::channel(INBOX)).unzip();
        let balancer =
            Balancer { inboxes: RefCell::new(senders), live, cursor: Cell::new(0), warned: Cell::new(false) };
        (balancer, inboxes)
    }

    /// Closes the inboxes: each worker takes what is queued, then its
    /// inbox ends.
    pub(super) fn close(&self) {
        self.inboxes.borrow_mut().clear();
    }

    /// Worker `i`'s open connections, worker 0's being `local`.
    fn load(&self, i: usize, local: usize) -> usize {
        if i == 0 { local } else { self.live[i - 1].load(Ordering::Relaxed) }
    }

    /// Whether every worker has `max` connections or more.
    pub(super) fn all_at(&self, local: usize, max: usize) -> bool {
        (0..=self.live.len()).all(|i| self.load(i, local) >= max)
    }

    /// The worker with the fewest connections (below `max`, if any),
    /// scanning from the cursor so that ties go in turn; `None` if every
    /// worker is at `max`.
    pub(super) fn pick(&self, local: usize, max: Option<usize>) -> Option<usize> {
        let n = self.live.len() + 1;
        let start = self.cursor.get();
        let mut best: Option<(usize, usize)> = None;
        for step in 0..n {
            let i = (start + step) % n;
            let load = self.load(i, local);
            if max.is_some_and(|max| load >= max) {
                continue;
            }
            if best.is_none_or(|(_, least)| load < least) {
                best = Some((i, load));
            }
        }
        let (i, _) = best?;
        self.cursor.set((i + 1) % n);
        Some(i)
    }

    /// Hands `conn` to worker `i` (1 or more), counting it there. Gives it
    /// back if the hand-off fails (the count undone), for worker 0 to
    /// serve.
    pub(super) fn hand(&self, i: usize, conn: Handoff) -> Result<(), Handoff> {
        let live = &self.live[i - 1];
        live.fetch_add(1, Ordering::Relaxed);
        let sent = match self.inboxes.borrow().get(i - 1) {
            Some(inbox) => inbox.try_send(conn),
            None => Err(TrySendError::Closed(conn)),
        };
        sent.map_err(|e| {
            live.fetch_sub(1, Ordering::Relaxed);
            if !self.warned.replace(true) {
                sprout_runtime::__report!(
                    event: WARN(target: "sprout::server", worker = i, error = %e, "StreamServer: a worker cannot take a connection now; worker 0 serves it"),
                    stderr: "sprout: StreamServer: worker {i} cannot take a connection now ({e}); worker 0 serves it",
                );
            }
            match e {
                TrySendError::Full(conn) | TrySendError::Closed(conn) => conn,
            }
        })
    }
}

/// How long an acceptor at every worker's limit waits before it looks at
/// the other workers' counts again (they cannot wake it).
pub(super) const LIMIT_RECHECK: Duration = Duration::from_millis(10);

/// A worker's inbox task: registers each connection worker 0 hands over
/// and serves it with `serve`, until worker 0 closes the inbox. Not an
/// acceptor: a stop does not kill it, so nothing handed over is dropped.
pub(super) async fn serve_inbox(
    inbox: Inbox,
    shared: Rc<Shared>,
    serve: impl Fn(crate::TcpStream, SocketAddr) -> bool,
) {
    while let Some((stream, peer)) = inbox.recv().await {
        let served = match crate::TcpStream::from_mio(stream) {
            Ok(stream) => serve(stream, peer),
            Err(e) => {
                sprout_runtime::__report!(
                    event: WARN(target: "sprout::server", server = %shared.name(), peer = %peer, error = %e, "cannot register a handed-over connection"),
                    stderr: "sprout: {}: cannot register a connection from {peer}: {e}",
                    shared.name(),
                );
                false
            }
        };
        if !served {
            // Counted at the hand-off; nothing will end it now.
            if let Some(live) = shared.live.get() {
                live.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
    shared.inbox_open.set(false);
    shared.changed.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balancer(loads: &[usize]) -> Balancer {
        let live = loads.iter().map(|&n| Arc::new(AtomicUsize::new(n))).collect();
        Balancer::new(live).0
    }

    #[test]
    fn picks_the_least_loaded_and_breaks_ties_in_turn() {
        let b = balancer(&[0, 0]);
        assert_eq!(
            [b.pick(0, None), b.pick(0, None), b.pick(0, None), b.pick(0, None)],
            [Some(0), Some(1), Some(2), Some(0)]
        );
        let b = balancer(&[3, 1]);
        assert_eq!(b.pick(2, None), Some(2));
        assert_eq!(b.pick(0, None), Some(0));
    }

    #[test]
    fn skips_workers_at_the_limit() {
        let b = balancer(&[2, 1]);
        assert_eq!(b.pick(2, Some(2)), Some(2));
        b.live[1].store(2, Ordering::Relaxed);
        assert_eq!(b.pick(2, Some(2)), None);
    }

    #[test]
    fn a_failed_hand_off_gives_the_connection_back_uncounted() {
        sprout_runtime::run(async {
            let b = balancer(&[0]);
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let _client = std::net::TcpStream::connect(addr).unwrap();
            let (stream, peer) = listener.accept().unwrap();
            b.close();
            let back = b.hand(1, (mio::net::TcpStream::from_std(stream), peer));
            assert!(back.is_err(), "a closed inbox gives the connection back");
            assert_eq!(b.live[0].load(Ordering::Relaxed), 0);
        });
    }
}
