//! `WaitList`: the FIFO queue of waiting tasks behind every primitive.
//!
//! Each waiter holds a key into a slab. Notifying a waiter unlinks it and
//! marks it *notified*, but leaves the slot for the waiter to collect: the
//! waiter learns it was chosen even if the condition changed since (an
//! event cleared right after `set`), and a waiter dropped after being
//! chosen can hand its turn to the next one (`cancel` says so). Insert,
//! notify and cancel are O(1); an entry is 16 bytes plus its value.
//!
//! Each entry also carries a value `V` (`()` for most primitives), which
//! is how a notification *carries* something: a queue hands an item to a
//! waiting getter by writing it into the getter's slot
//! ([`notify_one_with`](WaitList::notify_one_with)), a waiting putter
//! parks its item there for a getter to take, an `RLock` waiter records
//! its task id so the releasing task can make it the owner. The waiter
//! collects the value with [`poll_take`](WaitList::poll_take), or gets it
//! back from [`cancel_take`](WaitList::cancel_take) if it gives up.
//!
//! The list is plain data (no interior mutability): the primitives keep it
//! in a `RefCell` (the thread-safe ones under their `Mutex` as well, see
//! `flavor.rs`), the queues in their state. All of them wake the returned
//! wakers only after releasing that borrow or lock.

use std::task::Waker;

use crate::task::compact::CompactWaker;

const NIL: u32 = u32::MAX;
/// `prev` of an entry that was notified and awaits collection.
const NOTIFIED: u32 = u32::MAX - 1;
/// `prev` of an entry on the free list.
const VACANT: u32 = u32::MAX - 2;

struct Entry<V> {
    waker: Option<CompactWaker>,
    prev: u32,
    next: u32,
    /// What the notification carries (see the module docs).
    value: V,
}

/// What [`WaitList::cancel`] found.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cancelled {
    /// The waiter was still waiting; it is gone now.
    Waiting,
    /// The waiter had been notified: the caller should pass the
    /// notification on if it carried something (a permit, an item).
    Notified,
}

/// A FIFO list of waiters, each with a value. See the module docs.
pub(crate) struct WaitList<V = ()> {
    entries: Vec<Entry<V>>,
    /// A runtime-local primitive's list: only this runtime's tasks fire
    /// its wakers, which count in their tasks' HELD counts; a thread-safe
    /// one's may be fired (and taken) on any thread (`task/compact.rs`).
    counted: bool,
    free: Option<u32>,
    head: Option<u32>,
    tail: Option<u32>,
    waiting: usize,
}

impl<V: Default> Default for WaitList<V> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl WaitList<()> {
    /// Adds a waiter at the back and returns its key.
    pub(crate) fn push(&mut self, waker: &Waker) -> u32 {
        self.push_with(waker, ())
    }

    /// Checks a waiter: true (and the slot is freed) if it was notified,
    /// otherwise its waker is updated.
    pub(crate) fn poll(&mut self, key: u32, waker: &Waker) -> bool {
        self.poll_take(key, waker).is_some()
    }
}

impl<V: Default> WaitList<V> {
    /// A list for a runtime-local primitive.
    pub(crate) const fn new() -> WaitList<V> {
        WaitList::new_in(false)
    }

    /// A list for a runtime-local (`shared` false) or thread-safe primitive.
    pub(crate) const fn new_in(shared: bool) -> WaitList<V> {
        WaitList { entries: Vec::new(), counted: !shared, free: None, head: None, tail: None, waiting: 0 }
    }

    /// The number of waiters not yet notified.
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// Whether no waiter is left to notify.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// The value of the longest-waiting waiter (not yet notified): a
    /// semaphore assigns permits to it as they come, an `RwLock` looks at
    /// what it wants.
    #[inline]
    pub(crate) fn front_mut(&mut self) -> Option<&mut V> {
        let key = self.head?;
        Some(&mut self.entries[key as usize].value)
    }

    /// Adds a waiter carrying `value` at the back and returns its key.
    pub(crate) fn push_with(&mut self, waker: &Waker, value: V) -> u32 {
        let entry = Entry {
            waker: Some(CompactWaker::make(waker, self.counted)),
            prev: self.tail.unwrap_or(NIL),
            next: NIL,
            value,
        };
        let key = match self.free {
            Some(key) => {
                self.free = match self.entries[key as usize].next {
                    NIL => None,
                    next => Some(next),
                };
                self.entries[key as usize] = entry;
                key
            }
            None => {
                assert!(self.entries.len() < VACANT as usize, "too many waiters");
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        match self.tail {
            Some(tail) => self.entries[tail as usize].next = key,
            None => self.head = Some(key),
        }
        self.tail = Some(key);
        self.waiting += 1;
        key
    }

    /// Checks a waiter: if it was notified, frees the slot and returns its
    /// value; otherwise updates its waker and returns `None`.
    #[inline]
    pub(crate) fn poll_take(&mut self, key: u32, waker: &Waker) -> Option<V> {
        let entry = &mut self.entries[key as usize];
        debug_assert_ne!(entry.prev, VACANT, "waiter polled after it was freed");
        if entry.prev == NOTIFIED {
            return Some(self.release(key));
        }
        if let Some(w) = &mut entry.waker {
            w.update(waker, self.counted);
        }
        None
    }

    /// Removes a waiter (its future was dropped, or it timed out).
    pub(crate) fn cancel(&mut self, key: u32) -> Cancelled {
        self.cancel_take(key).0
    }

    /// Removes a waiter and hands back its value: whatever a notification
    /// left there (an item handed over) or what the waiter parked there
    /// (an item it was offering).
    ///
    /// The waker is dropped before this returns. A task waker dropped on
    /// its runtime thread only updates a count (the task it points to is
    /// the one cancelling, or is kept alive by its run queue entry), so
    /// this is safe under a `RefCell` borrow.
    pub(crate) fn cancel_take(&mut self, key: u32) -> (Cancelled, V) {
        let notified = self.entries[key as usize].prev == NOTIFIED;
        if !notified {
            self.unlink(key);
        }
        let waker = self.entries[key as usize].waker.take();
        let value = self.release(key);
        drop(waker);
        (if notified { Cancelled::Notified } else { Cancelled::Waiting }, value)
    }

    /// Notifies the longest-waiting waiter, returning its waker to wake
    /// once the caller has released its borrows.
    #[inline]
    pub(crate) fn notify_one(&mut self) -> Option<CompactWaker> {
        self.notify_one_with(|_| ()).map(|(waker, ())| waker)
    }

    /// Notifies the longest-waiting waiter after letting `f` update its
    /// value (hand it an item, take its item, record an outcome). Returns
    /// the waker, to wake once the caller has released its borrows, and
    /// what `f` returned; `None` (and `f` is not called) if nobody waits.
    #[inline(always)]
    pub(crate) fn notify_one_with<R>(&mut self, f: impl FnOnce(&mut V) -> R) -> Option<(CompactWaker, R)> {
        let key = self.head?;
        self.unlink(key);
        let entry = &mut self.entries[key as usize];
        entry.prev = NOTIFIED;
        let r = f(&mut entry.value);
        let waker = entry.waker.take().expect("a waiting entry has a waker");
        Some((waker, r))
    }

    /// Notifies every waiter, in arrival order.
    pub(crate) fn notify_all(&mut self, out: &mut Vec<CompactWaker>) {
        while let Some(waker) = self.notify_one() {
            out.push(waker);
        }
    }

    fn unlink(&mut self, key: u32) {
        let (prev, next) = {
            let e = &self.entries[key as usize];
            (e.prev, e.next)
        };
        match prev {
            NIL => self.head = (next != NIL).then_some(next),
            p => self.entries[p as usize].next = next,
        }
        match next {
            NIL => self.tail = (prev != NIL).then_some(prev),
            n => self.entries[n as usize].prev = prev,
        }
        self.waiting -= 1;
    }

    fn release(&mut self, key: u32) -> V {
        let entry = &mut self.entries[key as usize];
        entry.waker = None;
        entry.prev = VACANT;
        entry.next = self.free.unwrap_or(NIL);
        self.free = Some(key);
        std::mem::take(&mut entry.value)
    }
}

/// The wakers one step chose, to wake after it: none or one most of the
/// time (a release hands one permit to one waiter), any number when a step
/// grants several (a batch of readers, permits added in bulk). No
/// allocation until the second.
#[derive(Default)]
pub(crate) struct Woken {
    first: Option<CompactWaker>,
    more: Vec<CompactWaker>,
}

impl Woken {
    /// Adds a waker to wake.
    #[inline]
    pub(crate) fn push(&mut self, waker: CompactWaker) {
        match self.first {
            None => self.first = Some(waker),
            Some(_) => self.more.push(waker),
        }
    }

    /// Wakes them all, in the order they were chosen.
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(first) = self.first {
            first.wake();
        }
        self.more.into_iter().for_each(CompactWaker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    struct Rec(u32, Arc<Mutex<Vec<u32>>>);
    impl Wake for Rec {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn fifo_notify_and_cancel() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let wakers: Vec<Waker> = (0..4).map(|i| Waker::from(Arc::new(Rec(i, log.clone())))).collect();
        let mut list = WaitList::new();
        let keys: Vec<u32> = wakers.iter().map(|w| list.push(w)).collect();
        assert_eq!(list.len(), 4);
        assert_eq!(list.cancel(keys[1]), Cancelled::Waiting);
        list.notify_one().unwrap().wake();
        assert_eq!(list.len(), 2, "a notified waiter no longer counts");
        assert_eq!(list.cancel(keys[0]), Cancelled::Notified);
        let mut out = Vec::new();
        list.notify_all(&mut out);
        out.into_iter().for_each(CompactWaker::wake);
        assert_eq!(*log.lock().unwrap(), vec![0, 2, 3]);
        assert!(list.poll(keys[2], &wakers[2]));
        assert!(list.poll(keys[3], &wakers[3]));
        assert!(list.is_empty());
        assert!(list.notify_one().is_none());
        // Freed slots are reused.
        let k = list.push(&wakers[0]);
        assert!(keys.contains(&k));
    }

    #[test]
    fn entry_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Entry<()>>(), 16);
    }

    #[test]
    fn values_travel_with_notifications() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let wakers: Vec<Waker> = (0..3).map(|i| Waker::from(Arc::new(Rec(i, log.clone())))).collect();
        let mut list: WaitList<Option<&str>> = WaitList::new();
        let a = list.push_with(&wakers[0], None);
        let b = list.push_with(&wakers[1], Some("parked"));
        let c = list.push_with(&wakers[2], None);
        assert!(list.poll_take(a, &wakers[0]).is_none());
        // Hand an item to the first waiter.
        let (w, ()) = list.notify_one_with(|slot| *slot = Some("handed")).unwrap();
        w.wake();
        assert_eq!(list.poll_take(a, &wakers[0]), Some(Some("handed")));
        // Take the item the second one parked.
        let (w, taken) = list.notify_one_with(|slot| slot.take()).unwrap();
        drop(w);
        assert_eq!(taken, Some("parked"));
        assert_eq!(list.cancel_take(b), (Cancelled::Notified, None));
        // A waiting entry gives its value back when cancelled.
        assert_eq!(list.cancel_take(c), (Cancelled::Waiting, None));
        let d = list.push_with(&wakers[2], Some("mine"));
        assert_eq!(list.cancel_take(d), (Cancelled::Waiting, Some("mine")));
        assert!(list.notify_one_with(|_| unreachable!()).is_none());
        assert_eq!(*log.lock().unwrap(), vec![0]);
    }
}
