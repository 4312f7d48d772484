//! `Slots`: the counting wait behind `Pool` (a semaphore, private to pools).
//!
//! A pool of size n hands out n slots. A task that finds none free queues on
//! a [`WaitList`], in arrival order. Releasing a slot while someone waits
//! hands it straight to the longest waiter (the free count does not move),
//! so a newcomer can never overtake a waiter: `free > 0` implies that
//! nobody waits.
//!
//! A waiter is a `key: Option<u32>` kept by the waiting future. Dropping the
//! future calls [`Slots::cancel`]: a waiter that had already been handed a
//! slot passes it on, so no slot is ever lost.

use std::cell::{Cell, RefCell};
use std::task::{Context, Poll};

use crate::sync::wait_list::{Cancelled, WaitList};
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting};

pub(crate) struct Slots {
    size: usize,
    /// Slots nobody holds. Non-zero only while `waiters` is empty.
    free: Cell<usize>,
    waiters: RefCell<WaitList>,
}

impl Slots {
    pub(crate) fn new(size: usize) -> Slots {
        Slots { size, free: Cell::new(size), waiters: RefCell::new(WaitList::new()) }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn free(&self) -> usize {
        self.free.get()
    }

    /// Takes a slot if one is free (and so nobody waits).
    pub(crate) fn try_take(&self) -> bool {
        let free = self.free.get();
        if free == 0 {
            return false;
        }
        self.free.set(free - 1);
        true
    }

    /// Takes a slot, or queues `key` for one. Ready means the caller now
    /// holds a slot and `key` is `None` again.
    #[track_caller]
    pub(crate) fn poll_acquire(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<()> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut waiters = self.waiters.borrow_mut();
        match *key {
            Some(k) => {
                if waiters.poll(k, cx.waker()) {
                    *key = None;
                    return Poll::Ready(());
                }
                drop(waiters);
                waiting(WaitOn::PoolSlot);
                Poll::Pending
            }
            None => {
                let free = self.free.get();
                if free > 0 {
                    debug_assert!(waiters.is_empty(), "a free slot while tasks wait");
                    self.free.set(free - 1);
                    return Poll::Ready(());
                }
                *key = Some(waiters.push(cx.waker()));
                drop(waiters);
                waiting(WaitOn::PoolSlot);
                Poll::Pending
            }
        }
    }

    /// Stops waiting. A slot handed to the waiter meanwhile is passed on.
    pub(crate) fn cancel(&self, key: &mut Option<u32>) {
        if let Some(k) = key.take() {
            let cancelled = self.waiters.borrow_mut().cancel(k);
            if cancelled == Cancelled::Notified {
                self.release();
            }
        }
    }

    /// Gives a slot back: to the longest waiter if there is one.
    pub(crate) fn release(&self) {
        let next = self.waiters.borrow_mut().notify_one();
        match next {
            // Woken after the borrow ends: a foreign waker may run code.
            Some(waker) => waker.wake(),
            None => {
                debug_assert!(self.free.get() < self.size, "more slots released than taken");
                self.free.set(self.free.get() + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting_waker::counting_waker as waker;

    #[test]
    fn hands_off_in_order_and_passes_on_cancelled_grants() {
        let slots = Slots::new(1);
        let (_, w) = waker();
        let mut cx = Context::from_waker(&w);
        let (mut a, mut b, mut c) = (None, None, None);
        assert!(slots.poll_acquire(&mut a, &mut cx).is_ready());
        assert_eq!(slots.free(), 0);
        assert!(slots.poll_acquire(&mut b, &mut cx).is_pending());
        assert!(slots.poll_acquire(&mut c, &mut cx).is_pending());
        // The slot goes to b, not to the free count.
        slots.release();
        assert_eq!(slots.free(), 0);
        // b gives up after being chosen: c gets the slot.
        slots.cancel(&mut b);
        assert!(slots.poll_acquire(&mut c, &mut cx).is_ready());
        assert_eq!(c, None);
        slots.release();
        assert_eq!(slots.free(), 1);
    }

    #[test]
    fn a_cancelled_waiter_takes_nothing() {
        let slots = Slots::new(1);
        let (count, w) = waker();
        let mut cx = Context::from_waker(&w);
        let (mut a, mut b) = (None, None);
        assert!(slots.poll_acquire(&mut a, &mut cx).is_ready());
        assert!(slots.poll_acquire(&mut b, &mut cx).is_pending());
        slots.cancel(&mut b);
        slots.release();
        assert_eq!(slots.free(), 1);
        assert_eq!(count.get(), 0);
    }
}
