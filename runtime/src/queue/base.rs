//! `BaseQueue`: the one queue behind `Queue`, `LifoQueue`, `PriorityQueue`
//! and `Channel`, in both flavours.
//!
//! The queue is generic over its [`Buffer`] (which item a get takes) and
//! its [`Flavor`] (where its state sits: a `RefCell` bound to the runtime's
//! thread, or a `Mutex`). Every method is one step over the [`State`]
//! ([`BaseQueue::step`], the ground rules of `sync/flavor.rs`): it changes
//! the state and returns whom the change woke, and the caller wakes them
//! after the step. The futures are in `put.rs`, `get.rs` and `join.rs`;
//! the thread-safe queue's blocking calls in `threadsafe.rs`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{GetError, PutError, TaskDoneError};
use super::get::{Get, Items};
use super::join::Join;
use super::put::{Put, PutTimeout};
use super::readiness::Readiness;
use super::state::{Side, State, wake};
use crate::sync::flavor::{Flavor, Local};
use crate::sync::withdraw;
use crate::task::compact::CompactWaker;

/// A queue of `T` between green tasks (and, thread-safe, OS threads),
/// whose [`Buffer`] `B` decides which item a get takes. Use it through its
/// aliases: [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue),
/// [`PriorityQueue`](super::PriorityQueue) and [`Channel`](super::Channel),
/// or their namesakes in [`threadsafe`](super::threadsafe); the [module
/// docs](super) have the contract (ordering, hand-off, cancellation,
/// closing).
///
/// Runtime-local (`F` = [`Local`], the default): share it between tasks
/// with an `Rc`. Thread-safe: with an `Arc`.
pub struct BaseQueue<T, B, F: Flavor = Local> {
    /// `!Send` for the local flavour: the wait lists hold wakers that only
    /// the runtime's thread may drop (see `LocalState` in `sync/flavor.rs`).
    state: F::Shared<RefCell<State<T, B>>>,
}

impl<T, F: Flavor> BaseQueue<T, Fifo<T>, F> {
    /// A FIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }

    /// An unbounded FIFO queue (`Queue::new(0)`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

impl<T, F: Flavor> BaseQueue<T, Lifo<T>, F> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T: Ord, F: Flavor> BaseQueue<T, Priority<T>, F> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T, F: Flavor> BaseQueue<T, Rendezvous<T>, F> {
    /// A channel: every put waits for a get, and the other way round.
    pub fn new() -> Self {
        BaseQueue::from_state(State::new(0, F::THREAD_SAFE))
    }
}

impl<T, F: Flavor> Default for BaseQueue<T, Rendezvous<T>, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, B: Buffer<T>, F: Flavor> BaseQueue<T, B, F> {
    fn from_state(state: State<T, B>) -> Self {
        BaseQueue { state: F::share(RefCell::new(state)) }
    }

    fn with_maxsize(maxsize: usize) -> Self {
        BaseQueue::from_state(State::bounded(maxsize, F::THREAD_SAFE))
    }

    /// One step over the state: `change` runs with the state borrowed
    /// (local) or locked (thread-safe), and must not wake anyone or drop an
    /// item: it returns them, and the caller wakes or drops them after.
    #[inline(always)]
    pub(super) fn step<R>(&self, change: impl FnOnce(&mut State<T, B>) -> R) -> R {
        F::step_mut(&self.state, change)
    }

    /// Puts `item`, waiting while the queue is full. Fails, handing the
    /// item back, if the queue is (or gets) closed.
    ///
    /// Dropping the future before it completes drops the item with it,
    /// unless a getter already took it.
    pub fn put(&self, item: T) -> Put<'_, T, B, F> {
        Put::new(self, item)
    }

    /// Puts `item`, waiting at most `timeout` for room. On time-out the
    /// item comes back in [`PutError::Full`], as Python raises `Full`.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> PutTimeout<'_, T, B, F> {
        PutTimeout::new(self.put(item), timeout)
    }

    /// Puts `item` if there is room now (a waiting getter, for a channel).
    #[inline]
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let result = self.step(|state| state.try_put(item));
        result.map(wake)
    }

    /// Takes an item, waiting while the queue is empty. Fails once the
    /// queue is closed and drained.
    pub fn get(&self) -> Get<'_, T, B, F> {
        Get::new(self)
    }

    /// Takes an item, waiting at most `timeout`; [`GetError::Empty`] on
    /// time-out, as Python raises `Empty`. An item handed over as the
    /// time-out falls (by another thread, for a thread-safe queue) is
    /// taken: the call succeeds.
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        match withdraw::timeout(timeout, self.get()).await {
            Ok(result) => result.map_err(GetError::from),
            Err(_) => Err(GetError::Empty),
        }
    }

    /// Takes an item if one is there now.
    #[inline]
    pub fn get_nowait(&self) -> Result<T, GetError> {
        let result = self.step(State::try_get);
        result.map(|(item, w)| {
            wake(w);
            item
        })
    }

    /// The items a get can take now.
    pub fn qsize(&self) -> usize {
        self.step(|state| state.len())
    }

    /// Whether no item is there.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a put would have to wait (always true for a channel).
    pub fn full(&self) -> bool {
        self.step(|state| state.is_full())
    }

    /// The bound given at creation (0 for unbounded queues and channels).
    pub fn maxsize(&self) -> usize {
        self.step(|state| state.maxsize())
    }

    /// A clone of the item the next get would take.
    pub fn peek(&self) -> Option<T>
    where
        T: Clone,
    {
        self.step(|state| state.peek().cloned())
    }

    /// Runs `f` on the item the next get would take. `f` must not use the queue.
    pub fn peek_with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.step(|state| state.peek().map(f))
    }

    /// Marks one item as processed (Python's `task_done`): when every item
    /// put has been marked, [`join`](Self::join) returns. Calling it more
    /// often than items were put is an error.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut woken = Vec::new();
        let result = self.step(|state| state.task_done(&mut woken));
        woken.into_iter().for_each(CompactWaker::wake);
        result
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done) (Python's `join`).
    pub fn join(&self) -> Join<'_, T, B, F> {
        Join::new(self)
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.step(|state| state.unfinished())
    }

    /// Closes the queue: puts fail from now on (waiting putters get their
    /// item back), getters take what is left, then see [`Closed`](super::Closed).
    pub fn close(&self) {
        let mut woken = Vec::new();
        self.step(|state| state.close(&mut woken));
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.step(|state| state.is_closed())
    }

    /// The number of tasks waiting in `get`.
    pub fn getters(&self) -> usize {
        self.step(|state| state.getters())
    }

    /// The number of tasks waiting in `put`.
    pub fn putters(&self) -> usize {
        self.step(|state| state.putters())
    }

    /// A [`Stream`](futures_core::Stream) of items: each `next` is a `get`;
    /// it ends once the queue is closed and drained.
    pub fn stream(&self) -> Items<'_, T, B, F> {
        Items::new(self)
    }

    /// Waits until a get would not block (an item is there, a putter
    /// waits, or the queue is closed), taking nothing: for
    /// [`wait_objects`](crate::wait_objects) (`&|| queue.readable()`)
    /// and readiness loops. Another task may take the item first:
    /// follow it with `get_nowait`, and wait again on `Empty`.
    pub fn readable(&self) -> Readiness<'_, T, B, F> {
        Readiness::new(self, Side::Read)
    }

    /// Waits until a put would not block (room, a waiting getter, or
    /// closed), putting nothing; see [`readable`](Self::readable).
    pub fn writable(&self) -> Readiness<'_, T, B, F> {
        Readiness::new(self, Side::Write)
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for BaseQueue<T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (qsize, maxsize, getters, putters, closed) =
            self.step(|state| (state.len(), state.maxsize(), state.getters(), state.putters(), state.is_closed()));
        f.debug_struct("Queue")
            .field("qsize", &qsize)
            .field("maxsize", &maxsize)
            .field("getters", &getters)
            .field("putters", &putters)
            .field("closed", &closed)
            .finish()
    }
}
