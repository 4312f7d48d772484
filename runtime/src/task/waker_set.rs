//! `WakerSet`: the tasks waiting for one event that wakes them all.
//!
//! The runtime's "wake everyone when it happens" waits (`sprout::wait()`,
//! `task::killed()`, a task's completion watched by a watchdog or a pool,
//! a thread pool's `join`) each keep the wakers of the futures waiting on
//! them. The rules every one of them needs:
//!
//! - **Register or replace by key.** A future registers once and keeps the
//!   [`WakerKey`] it is given; polled again, it replaces its waker (unless
//!   the old one wakes the same task), so a future polled a thousand times
//!   holds one entry.
//! - **Remove on drop.** A future dropped while it waits removes its entry
//!   ([`WakerSet::remove`]), so a loop that races the event against a timer
//!   does not leave a waker behind per turn, and "someone is waiting"
//!   ([`WakerSet::is_empty`]) stays true to its word.
//! - **Wake after the borrow.** [`WakerSet::take`] empties the set and hands
//!   the wakers over as [`Wakers`]; the caller lets go of the `RefCell` or
//!   the lock the set sits in, then calls [`Wakers::wake`]. A waker may run
//!   code (a foreign one posts a message; a test's may do anything), which
//!   must not find the set borrowed.
//!
//! `take` starts a new round: keys from an earlier round name nothing, so a
//! woken future that is dropped or polled again cannot touch an entry that
//! another future took over in the meantime.
//!
//! Not everything that keeps wakers is a `WakerSet`: the sync wait lists
//! (`sync/wait_list.rs`) serve waiters in order and hand each a value; a
//! reactor source's `Waiters` (`reactor/scheduled_io.rs`) is deduplicated
//! by waker identity on the I/O hot path, with no key to carry; and a
//! future with a single possible awaiter (a `RemoteJoinHandle`, a
//! `WorkFuture`, an `imap` stream) keeps one `Option<Waker>`.

use std::fmt;
use std::task::Waker;

use slab::Slab;

/// Where a future's waker sits in a [`WakerSet`], in the round it was
/// registered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WakerKey {
    index: usize,
    round: u64,
}

/// The wakers of the futures waiting for one event; see the module docs.
#[derive(Default)]
pub(crate) struct WakerSet {
    wakers: Slab<Waker>,
    /// Bumped by each [`take`](Self::take): keys of earlier rounds are stale.
    round: u64,
}

impl WakerSet {
    /// An empty set (no allocation until the first registration).
    pub(crate) const fn new() -> WakerSet {
        WakerSet { wakers: Slab::new(), round: 0 }
    }

    /// Registers `waker` under `key`: replaces the waker the key holds
    /// (unless it wakes the same task), or, for no key or a stale one,
    /// adds an entry and sets `key` to it.
    pub(crate) fn register(&mut self, key: &mut Option<WakerKey>, waker: &Waker) {
        if let Some(k) = *key
            && k.round == self.round
            && let Some(held) = self.wakers.get_mut(k.index)
        {
            held.clone_from(waker);
            return;
        }
        *key = Some(WakerKey { index: self.wakers.insert(waker.clone()), round: self.round });
    }

    /// Removes the entry under `key`, if it is still in this round's set,
    /// and clears `key`. Returns the waker, to drop after the borrow ends.
    #[must_use = "drop the waker after releasing the set"]
    pub(crate) fn remove(&mut self, key: &mut Option<WakerKey>) -> Option<Waker> {
        let k = key.take()?;
        if k.round == self.round { self.wakers.try_remove(k.index) } else { None }
    }

    /// Whether no future waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.wakers.is_empty()
    }

    /// The waiting futures' wakers.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Waker> {
        self.wakers.iter().map(|(_, waker)| waker)
    }

    /// Empties the set and starts a new round; wake what it returns once
    /// the set is let go.
    #[must_use = "wake them after releasing the set"]
    pub(crate) fn take(&mut self) -> Wakers {
        self.round += 1;
        Wakers(std::mem::take(&mut self.wakers))
    }
}

impl fmt::Debug for WakerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerSet").field("waiting", &self.wakers.len()).finish()
    }
}

/// The wakers a [`WakerSet::take`] took, to wake once the set is let go.
#[must_use = "wake them (dropping them wakes nobody)"]
pub(crate) struct Wakers(Slab<Waker>);

impl Wakers {
    /// No wakers (a `take` that did not happen).
    pub(crate) fn none() -> Wakers {
        Wakers(Slab::new())
    }

    /// Wakes them all.
    pub(crate) fn wake(self) {
        self.0.into_iter().for_each(|(_, waker)| waker.wake());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting_waker::counting_waker as counter;

    #[test]
    fn a_key_holds_one_entry_however_often_it_registers() {
        let mut set = WakerSet::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut key = None;
        set.register(&mut key, &wa);
        set.register(&mut key, &wa);
        set.register(&mut key, &wb); // the same future, polled by another task now
        assert_eq!(set.iter().count(), 1);
        set.take().wake();
        assert_eq!((a.get(), b.get()), (0, 1));
    }

    #[test]
    fn a_removed_entry_is_not_woken() {
        let mut set = WakerSet::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (mut ka, mut kb) = (None, None);
        set.register(&mut ka, &wa);
        set.register(&mut kb, &wb);
        drop(set.remove(&mut ka));
        assert_eq!(ka, None);
        assert!(!set.is_empty());
        set.take().wake();
        assert_eq!((a.get(), b.get()), (0, 1));
        assert!(set.is_empty());
    }

    #[test]
    fn a_key_from_before_take_names_nothing() {
        let mut set = WakerSet::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let mut old = None;
        set.register(&mut old, &wa);
        set.take().wake();
        // A new waiter takes the slot index the old key held.
        let mut new = None;
        set.register(&mut new, &wb);
        assert_eq!(old.map(|k| k.index), new.map(|k| k.index));
        // The woken future is dropped: the new waiter stays.
        drop(set.remove(&mut old));
        assert_eq!(set.iter().count(), 1);
        // Polled again, the woken future registers afresh.
        set.register(&mut old, &wa);
        assert_eq!(set.iter().count(), 2);
        set.take().wake();
        assert_eq!((a.get(), b.get()), (2, 1));
    }
}
