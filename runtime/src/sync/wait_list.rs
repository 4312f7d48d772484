//! `WaitList`: the FIFO queue of waiting tasks behind every primitive.
//!
//! Each waiter holds a key into a slab. Notifying a waiter unlinks it and
//! marks it *notified*, but leaves the slot for the waiter to collect: the
//! waiter learns it was chosen even if the condition changed since (an
//! event cleared right after `set`), and a waiter dropped after being
//! chosen can hand its turn to the next one (`cancel` says so). Insert,
//! notify and cancel are O(1); an entry is 16 bytes.

use std::task::Waker;

use crate::task::compact::CompactWaker;

const NIL: u32 = u32::MAX;
/// `prev` of an entry that was notified and awaits collection.
const NOTIFIED: u32 = u32::MAX - 1;
/// `prev` of an entry on the free list.
const VACANT: u32 = u32::MAX - 2;

struct Entry {
    waker: Option<CompactWaker>,
    prev: u32,
    next: u32,
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

/// A FIFO list of waiters. See the module docs.
#[derive(Default)]
pub(crate) struct WaitList {
    entries: Vec<Entry>,
    free: Option<u32>,
    head: Option<u32>,
    tail: Option<u32>,
    waiting: usize,
}

impl WaitList {
    pub(crate) const fn new() -> WaitList {
        WaitList { entries: Vec::new(), free: None, head: None, tail: None, waiting: 0 }
    }

    /// The number of waiters not yet notified.
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    #[allow(dead_code)] // part of the list's API for the sync primitives
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// Adds a waiter at the back and returns its key.
    pub(crate) fn push(&mut self, waker: &Waker) -> u32 {
        let entry = Entry { waker: Some(CompactWaker::new(waker)), prev: self.tail.unwrap_or(NIL), next: NIL };
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

    /// Checks a waiter: true (and the slot is freed) if it was notified,
    /// otherwise its waker is updated.
    pub(crate) fn poll(&mut self, key: u32, waker: &Waker) -> bool {
        let entry = &mut self.entries[key as usize];
        debug_assert_ne!(entry.prev, VACANT, "waiter polled after it was freed");
        if entry.prev == NOTIFIED {
            self.release(key);
            return true;
        }
        if let Some(w) = &mut entry.waker {
            w.update(waker);
        }
        false
    }

    /// Whether the waiter was notified (without collecting it).
    #[allow(dead_code)] // part of the list's API for the sync primitives
    pub(crate) fn is_notified(&self, key: u32) -> bool {
        self.entries[key as usize].prev == NOTIFIED
    }

    /// Removes a waiter (its future was dropped, or it timed out).
    pub(crate) fn cancel(&mut self, key: u32) -> Cancelled {
        let notified = self.entries[key as usize].prev == NOTIFIED;
        if !notified {
            self.unlink(key);
        }
        let waker = self.entries[key as usize].waker.take();
        self.release(key);
        drop(waker);
        if notified { Cancelled::Notified } else { Cancelled::Waiting }
    }

    /// Notifies the longest-waiting waiter, returning its waker to wake
    /// once the caller has released its borrows.
    pub(crate) fn notify_one(&mut self) -> Option<CompactWaker> {
        let key = self.head?;
        self.unlink(key);
        let entry = &mut self.entries[key as usize];
        entry.prev = NOTIFIED;
        entry.waker.take()
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

    fn release(&mut self, key: u32) {
        let entry = &mut self.entries[key as usize];
        entry.waker = None;
        entry.prev = VACANT;
        entry.next = self.free.unwrap_or(NIL);
        self.free = Some(key);
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
        assert!(list.is_notified(keys[0]));
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
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }
}
