//! The queue's state machine, shared by both flavours: in a `RefCell`
//! bound to the runtime's thread, or in a `RefCell` under a `Mutex`
//! (`Flavor::step_mut`).
//!
//! Every method is a plain state change that returns the wakers to wake;
//! the caller wakes them after the step (after releasing the borrow or
//! the lock).
//!
//! # Invariants
//! - A getter waits only on an empty buffer: a put hands its item straight
//!   to the first waiting getter (into the getter's wait-list slot), so
//!   `!getters.is_empty()` implies `buf.len() == 0`.
//! - A putter waits only when there is no room: a get that makes room moves
//!   the first waiting putter's item (parked in its slot) into the buffer
//!   at once, so `!putters.is_empty()` implies `buf.len() >= maxsize`.
//! - A waiting putter's slot holds its item; a notified putter's slot is
//!   empty if the item was taken (the put succeeded) and still full if the
//!   queue was closed (the put failed and the item goes back).
//! - A notified getter's slot holds its item, or nothing if it was woken
//!   by `close`.
//!
//! A getter dropped while its slot holds an item gives the item to the
//! next getter, or back to the buffer where the oldest item goes. The
//! buffer may then briefly hold more than `maxsize` items; nothing is
//! lost and nobody is skipped.
//!
//! # Readiness watchers
//! `readable()` and `writable()` wait until a get or a put would not
//! block, and take nothing. Their lists are woken **one watcher at a
//! time**: a change that may make the queue readable (an item into the
//! buffer, a putter starting to wait, an item given back) notifies the
//! first reader; a reader that finds the queue readable completes and
//! notifies the next one ([`State::pass_on`]), and one that finds it not
//! readable (another task took the item first) waits again. So every
//! reader learns of readiness that lasts, a put costs at most one wake
//! (and, with no watcher, one test of an empty list), and `try_put` still
//! returns one waker. Writers likewise, on room made by a get or a getter
//! starting to wait. `close` wakes them all.

use std::task::Waker;

use super::buffer::Buffer;
use super::error::{GetError, PutError, TaskDoneError};
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::task::compact::CompactWaker;

/// A queue's buffer, counts and wait lists.
pub(crate) struct State<T, B> {
    pub(crate) buf: B,
    /// The buffer's capacity: `usize::MAX` when unbounded, 0 for a channel.
    capacity: usize,
    getters: WaitList<Option<T>>,
    putters: WaitList<Option<T>>,
    /// Items put and not yet marked done (`task_done`).
    unfinished: usize,
    joiners: WaitList,
    /// Waiting for the queue to turn readable / writable (module docs).
    readers: WaitList,
    writers: WaitList,
    closed: bool,
}

/// Which readiness a watcher waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// A get would not block: an item, a waiting putter, or closed.
    Read,
    /// A put would not block: room, a waiting getter, or closed.
    Write,
}

/// A waker to wake once the caller has let go of the state.
pub(crate) type Wake = Option<CompactWaker>;

impl<T, B: Buffer<T>> State<T, B> {
    /// A queue of `capacity` items; `shared` for a thread-safe queue (its
    /// wait lists then count no task wakers: see `task/compact.rs`).
    pub(crate) fn new(capacity: usize, shared: bool) -> State<T, B> {
        State {
            buf: B::empty(),
            capacity,
            getters: WaitList::new_in(shared),
            putters: WaitList::new_in(shared),
            unfinished: 0,
            joiners: WaitList::new_in(shared),
            readers: WaitList::new_in(shared),
            writers: WaitList::new_in(shared),
            closed: false,
        }
    }

    /// A queue holding at most `maxsize` items; 0 means unbounded.
    pub(crate) fn bounded(maxsize: usize, shared: bool) -> State<T, B> {
        State::new(if maxsize == 0 { usize::MAX } else { maxsize }, shared)
    }

    /// The bound given at creation: 0 for unbounded queues and channels.
    pub(crate) fn maxsize(&self) -> usize {
        match self.capacity {
            usize::MAX => 0,
            n => n,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.buf.len() >= self.capacity
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.unfinished
    }

    pub(crate) fn getters(&self) -> usize {
        self.getters.len()
    }

    pub(crate) fn putters(&self) -> usize {
        self.putters.len()
    }

    /// Puts without waiting: to the first waiting getter, else into the buffer.
    #[inline]
    pub(crate) fn try_put(&mut self, item: T) -> Result<Wake, PutError<T>> {
        if self.closed {
            return Err(PutError::Closed(item));
        }
        if !self.getters.is_empty() {
            let (waker, ()) = self.getters.notify_one_with(move |slot| *slot = Some(item)).expect("a getter waits");
            self.unfinished += 1;
            return Ok(Some(waker));
        }
        if self.buf.len() < self.capacity {
            self.buf.push(item);
            self.unfinished += 1;
            return Ok(self.notify_watcher(Side::Read));
        }
        Err(PutError::Full(item))
    }

    /// Gets without waiting: from the buffer (then lets the first waiting
    /// putter in), else straight from a waiting putter (a channel).
    #[inline]
    pub(crate) fn try_get(&mut self) -> Result<(T, Wake), GetError> {
        if let Some(item) = self.buf.pop() {
            let wake = if self.putters.is_empty() || self.buf.len() >= self.capacity {
                // Room made, and no putter to fill it.
                self.notify_watcher(Side::Write)
            } else {
                let item = self.take_putter_item();
                self.buf.push(item.0);
                item.1
            };
            return Ok((item, wake));
        }
        if !self.putters.is_empty() {
            let (item, wake) = self.take_putter_item();
            return Ok((item, wake));
        }
        Err(if self.closed { GetError::Closed } else { GetError::Empty })
    }

    /// Takes the first waiting putter's item; its put has succeeded.
    fn take_putter_item(&mut self) -> (T, Wake) {
        let (waker, item) = self.putters.notify_one_with(Option::take).expect("a putter waits");
        self.unfinished += 1;
        (item.expect("a waiting putter holds its item"), Some(waker))
    }

    pub(crate) fn peek(&self) -> Option<&T> {
        self.buf.peek()
    }

    /// A getter starts waiting: a put would now hand it its item, so the
    /// queue turned writable.
    pub(crate) fn push_getter(&mut self, waker: &Waker) -> (u32, Wake) {
        (self.getters.push_with(waker, None), self.notify_watcher(Side::Write))
    }

    /// `None` while waiting; `Some(Some(item))` once handed an item;
    /// `Some(None)` if woken by `close` (try again: drain, or `Closed`).
    #[inline]
    pub(crate) fn poll_getter(&mut self, key: u32, waker: &Waker) -> Option<Option<T>> {
        self.getters.poll_take(key, waker)
    }

    /// A getter gives up. An item it had been handed goes to the next
    /// getter, or back into the buffer.
    pub(crate) fn cancel_getter(&mut self, key: u32) -> Wake {
        match self.getters.cancel_take(key) {
            (Cancelled::Notified, Some(item)) => self.reoffer(item),
            _ => None,
        }
    }

    /// A getter leaves at its deadline, keeping what it was given: `None`
    /// if it was still waiting (it is gone now), `Some(Some(item))` if it
    /// had been handed an item (now the caller's), `Some(None)` if it was
    /// woken by `close`.
    pub(crate) fn leave_getter(&mut self, key: u32) -> Option<Option<T>> {
        match self.getters.cancel_take(key) {
            (Cancelled::Waiting, _) => None,
            (Cancelled::Notified, slot) => Some(slot),
        }
    }

    fn reoffer(&mut self, item: T) -> Wake {
        if self.getters.is_empty() {
            self.buf.restore(item);
            self.notify_watcher(Side::Read)
        } else {
            let (waker, ()) = self.getters.notify_one_with(move |slot| *slot = Some(item)).expect("a getter waits");
            Some(waker)
        }
    }

    /// A putter starts waiting: a get would now take its item, so the
    /// queue turned readable.
    pub(crate) fn push_putter(&mut self, waker: &Waker, item: T) -> (u32, Wake) {
        (self.putters.push_with(waker, Some(item)), self.notify_watcher(Side::Read))
    }

    /// `None` while waiting; `Some(Ok(()))` once its item was taken;
    /// `Some(Err(item))` if the queue was closed first.
    #[inline]
    pub(crate) fn poll_putter(&mut self, key: u32, waker: &Waker) -> Option<Result<(), T>> {
        self.putters.poll_take(key, waker).map(|slot| match slot {
            None => Ok(()),
            Some(item) => Err(item),
        })
    }

    /// A putter gives up: its item, unless a getter already took it.
    pub(crate) fn cancel_putter(&mut self, key: u32) -> Option<T> {
        self.putters.cancel_take(key).1
    }

    /// Closes the queue: every waiting getter (the buffer is empty) and
    /// putter (its item comes back) is woken.
    pub(crate) fn close(&mut self, woken: &mut Vec<CompactWaker>) {
        self.closed = true;
        self.getters.notify_all(woken);
        self.putters.notify_all(woken);
        self.readers.notify_all(woken);
        self.writers.notify_all(woken);
    }

    // --- Readiness watchers (module docs) ---

    /// A change that may make the queue ready on `side`: the first watcher
    /// is woken. With none (the rule on the hot paths of put and get), one
    /// test of a length; the rest is out of line, so the puts and gets keep
    /// the code they had.
    #[inline(always)]
    fn notify_watcher(&mut self, side: Side) -> Wake {
        if self.watchers(side).is_empty() { None } else { self.pass_on(side) }
    }

    #[inline(always)]
    fn watchers(&mut self, side: Side) -> &mut WaitList {
        match side {
            Side::Read => &mut self.readers,
            Side::Write => &mut self.writers,
        }
    }

    /// Whether a get (`Read`) or a put (`Write`) would not block now.
    pub(crate) fn is_ready(&self, side: Side) -> bool {
        self.closed
            || match side {
                Side::Read => self.buf.len() > 0 || !self.putters.is_empty(),
                Side::Write => self.buf.len() < self.capacity || !self.getters.is_empty(),
            }
    }

    pub(crate) fn push_watcher(&mut self, side: Side, waker: &Waker) -> u32 {
        self.watchers(side).push(waker)
    }

    /// Whether the watcher was notified (its slot is then freed).
    pub(crate) fn poll_watcher(&mut self, side: Side, key: u32, waker: &Waker) -> bool {
        self.watchers(side).poll(key, waker)
    }

    /// A watcher that saw the queue ready wakes the next one.
    #[inline(never)]
    pub(crate) fn pass_on(&mut self, side: Side) -> Wake {
        self.watchers(side).notify_one()
    }

    /// A watcher gives up; a notification it had received goes on.
    pub(crate) fn cancel_watcher(&mut self, side: Side, key: u32) -> Wake {
        match self.watchers(side).cancel(key) {
            Cancelled::Notified => self.pass_on(side),
            Cancelled::Waiting => None,
        }
    }

    pub(crate) fn task_done(&mut self, woken: &mut Vec<CompactWaker>) -> Result<(), TaskDoneError> {
        if self.unfinished == 0 {
            return Err(TaskDoneError(()));
        }
        self.unfinished -= 1;
        if self.unfinished == 0 {
            self.joiners.notify_all(woken);
        }
        Ok(())
    }

    /// `Some(key)` to wait on, or `None` if every item is done.
    pub(crate) fn push_joiner(&mut self, waker: &Waker) -> Option<u32> {
        (self.unfinished > 0).then(|| self.joiners.push(waker))
    }

    pub(crate) fn poll_joiner(&mut self, key: u32, waker: &Waker) -> bool {
        self.joiners.poll(key, waker)
    }

    pub(crate) fn cancel_joiner(&mut self, key: u32) {
        // Every joiner is woken at once: nothing to pass on.
        let _ = self.joiners.cancel(key);
    }
}

/// Wakes an optional waker (after the caller released the state).
#[inline]
pub(crate) fn wake(wake: Wake) {
    if let Some(waker) = wake {
        waker.wake();
    }
}
