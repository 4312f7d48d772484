//! `Lease`: a connection that has left its connection task, still counted
//! by its server.
//!
//! A WebSocket opened by an HTTP upgrade is the case in point: hyper's
//! connection (and so the server's connection task) ends once it hands
//! the stream over, and the WebSocket lives on in a task the handler
//! spawned, which the server knows nothing of. A lease, taken in the
//! handler and moved along with the stream, keeps the server's count and
//! its graceful stop waiting until it is dropped. At the stop's deadline
//! the drain cannot kill the task that holds it (it has no handle to it):
//! it *ends* the lease instead, and the I/O built on the lease fails from
//! then on (`ConnectionAborted`), so the holder finishes by itself, as a
//! killed connection's peer sees its socket closed.

use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{ServerHandle, Shared};

/// One lease's state in its server's slab.
#[derive(Default)]
pub(super) struct LeaseSlot {
    ended: bool,
    /// The task to wake when the lease is ended.
    waker: Option<Waker>,
}

impl LeaseSlot {
    pub(super) fn is_ended(&self) -> bool {
        self.ended
    }

    /// Ends the lease; the waker to wake, once the slab is let go.
    pub(super) fn end(&mut self) -> Option<Waker> {
        self.ended = true;
        self.waker.take()
    }
}

/// Counts as an open connection of its server (in
/// [`connections`](ServerHandle::connections), and for a graceful stop,
/// which waits for it) until dropped. See [`ServerHandle::lease`].
pub struct Lease {
    shared: Rc<Shared>,
    key: usize,
}

impl ServerHandle {
    /// A lease on this server: for a connection that leaves its connection
    /// task (a WebSocket after an HTTP upgrade: sprout-http's `ws::upgrade`
    /// takes one for you). While it lives, the server counts it as a
    /// connection and a graceful stop waits for it; at the stop's deadline
    /// the lease is ended ([`Lease::poll_ended`]), and the I/O built on it
    /// should fail, so that its holder finishes.
    pub fn lease(&self) -> Lease {
        let key = self.shared.leases.borrow_mut().insert(LeaseSlot::default());
        Lease { shared: self.shared.clone(), key }
    }
}

impl Lease {
    /// Whether the server's graceful stop has reached its deadline and
    /// ended this lease: the connection should close now.
    pub fn is_ended(&self) -> bool {
        self.shared.leases.borrow().get(self.key).is_none_or(|slot| slot.ended)
    }

    /// `Ready` once the lease is ended; otherwise `cx`'s task is woken
    /// when it is. For I/O wrappers: check it in each poll, and fail once
    /// it is ready.
    pub fn poll_ended(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut leases = self.shared.leases.borrow_mut();
        let Some(slot) = leases.get_mut(self.key) else { return Poll::Ready(()) };
        if slot.ended {
            return Poll::Ready(());
        }
        if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let old = slot.waker.replace(cx.waker().clone());
            drop(leases);
            drop(old);
        }
        Poll::Pending
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let slot = self.shared.leases.borrow_mut().try_remove(self.key);
        drop(slot);
        // A graceful stop waiting for the last connection looks again.
        self.shared.changed.notify_waiters();
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("server", &self.shared.name()).field("ended", &self.is_ended()).finish()
    }
}
