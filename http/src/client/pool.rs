//! The client's keep-alive pool: idle connections by host.
//!
//! An HTTP/1 connection carries one exchange at a time. It leaves the pool
//! when a request takes it and comes back when the response body has been
//! read to its end (or at once, for a response without a body); a body
//! dropped half-read is drained in the background if little of it is
//! left, and its connection comes back then, or else is closed
//! ([`super::drain`]; the pool lists the drains under way so that a
//! request can wait for one). An HTTP/2 connection stays in the pool
//! while it lives and is shared.
//!
//! Stale connections are dropped on checkout: those the server closed
//! (hyper's connection task has ended) and those idle longer than the
//! idle timeout.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1;

use sprout_runtime::sync::Event;

use crate::body::Body;

/// Which origin a connection talks to: scheme, host and port.
pub(crate) use crate::url::target::Target as Key;

/// A connection's request sender.
pub(crate) enum Sender {
    Http1(http1::SendRequest<Body>),
    #[cfg(feature = "http2")]
    Http2(hyper::client::conn::http2::SendRequest<Body>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            #[cfg(feature = "http2")]
            Sender::Http2(s) => s.is_closed(),
        }
    }
}

struct Idle {
    sender: Sender,
    since: Instant,
}

/// FNV-1a: the pool hashes a short host name twice per request, where
/// std's SipHash cost ~300 instructions a time (callgrind). The keys are
/// the hosts this client chose to talk to, not attacker-chosen input.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// Idle connections by origin.
pub(crate) struct Pool {
    idle: RefCell<FnvMap<Key, Vec<Idle>>>,
    /// The drains under way, by origin: each event is set when its
    /// drain ends (its connection then back in `idle`, or closed).
    draining: RefCell<FnvMap<Key, Vec<Rc<Event>>>>,
    max_idle_per_host: usize,
    idle_timeout: Option<Duration>,
}

impl Pool {
    pub(crate) fn new(max_idle_per_host: usize, idle_timeout: Option<Duration>) -> Pool {
        Pool { idle: RefCell::default(), draining: RefCell::default(), max_idle_per_host, idle_timeout }
    }

    /// A live connection to `key`, most recently used first.
    pub(crate) fn checkout(&self, key: &Key) -> Option<Sender> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(key)?;
        let now = sprout_runtime::time::now();
        let mut found = None;
        while let Some(entry) = list.pop() {
            let expired = self.idle_timeout.is_some_and(|t| now.duration_since(entry.since) > t);
            if entry.sender.is_closed() || expired {
                continue;
            }
            found = Some(entry.sender);
            break;
        }
        #[cfg(feature = "http2")]
        if let Some(Sender::Http2(shared)) = &found {
            // A shared connection stays for the next request too.
            list.push(Idle { sender: Sender::Http2(shared.clone()), since: now });
        }
        if list.is_empty() {
            idle.remove(key);
        }
        found
    }

    /// Puts a connection back (or, past the per-host cap, closes it).
    pub(crate) fn checkin(&self, key: Key, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(key).or_default();
        if list.len() < self.max_idle_per_host {
            list.push(Idle { sender, since: sprout_runtime::time::now() });
        }
    }

    /// Makes sure a shared (HTTP/2) connection is in the pool.
    #[cfg(feature = "http2")]
    pub(crate) fn checkin_shared(&self, key: &Key, sender: &hyper::client::conn::http2::SendRequest<Body>) {
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(key.clone()).or_default();
        // At most one shared connection per origin is kept.
        if !list.iter().any(|i| matches!(&i.sender, Sender::Http2(s) if !s.is_closed())) {
            list.push(Idle { sender: Sender::Http2(sender.clone()), since: sprout_runtime::time::now() });
        }
    }

    /// Lists a drain of a connection to `key` ([`super::drain::Ticket`]).
    pub(crate) fn drain_started(&self, key: &Key, done: &Rc<Event>) {
        self.draining.borrow_mut().entry(key.clone()).or_default().push(done.clone());
    }

    /// Unlists a drain that ended.
    pub(crate) fn drain_ended(&self, key: &Key, done: &Rc<Event>) {
        let mut draining = self.draining.borrow_mut();
        if let Some(list) = draining.get_mut(key) {
            list.retain(|d| !Rc::ptr_eq(d, done));
            if list.is_empty() {
                draining.remove(key);
            }
        }
    }

    /// A drain under way on a connection to `key`, to wait for.
    pub(crate) fn drain_for(&self, key: &Key) -> Option<Rc<Event>> {
        self.draining.borrow().get(key).and_then(|list| list.first().cloned())
    }

    /// How many idle connections the pool holds.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.borrow().values().map(Vec::len).sum()
    }
}

/// A connection on loan, to give back when its response is read.
pub(crate) struct Loan {
    pub(crate) pool: Weak<Pool>,
    pub(crate) key: Key,
    pub(crate) sender: Sender,
}

impl Loan {
    /// Gives the connection back to its pool, if the pool still exists.
    pub(crate) fn give_back(self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.checkin(self.key, self.sender);
        }
    }
}
