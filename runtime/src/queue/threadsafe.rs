//! Thread-safe queues: the same API as the runtime-local ones, plus
//! blocking calls for plain OS threads.
//!
//! A green task and an OS thread (say, a worker of a thread pool) can share
//! one of these queues through an `Arc`: the task awaits `put`/`get`, the
//! thread calls [`put_blocking`](BaseQueue::put_blocking) /
//! [`get_blocking`](BaseQueue::get_blocking), and either side may be the
//! one that waits. The contract (order, hand-off, cancellation, closing)
//! is the one in the [queue module docs](super).
//!
//! ```
//! use std::sync::Arc;
//! use sprout_runtime::{queue::threadsafe::Queue, run};
//!
//! run(async {
//!     let jobs = Arc::new(Queue::new(4));
//!     let results = Arc::new(Queue::new(0));
//!     let worker = std::thread::spawn({
//!         let (jobs, results) = (jobs.clone(), results.clone());
//!         move || {
//!             for n in jobs.iter_blocking() {
//!                 results.put_blocking(n * n).unwrap();
//!             }
//!         }
//!     });
//!     for n in 1..=5u64 {
//!         jobs.put(n).await.unwrap(); // a green task waits without blocking the loop
//!     }
//!     jobs.close();
//!     let mut total = 0;
//!     for _ in 0..5 {
//!         total += results.get().await.unwrap();
//!     }
//!     assert_eq!(total, 55);
//!     worker.join().unwrap();
//! });
//! ```
//!
//! # Blocking calls
//! The `*_blocking` methods park the calling OS thread. Called from inside
//! a sprout runtime they would stall every green task on that thread, so
//! they **panic** there, with a message saying to `.await` the async
//! method instead.
//!
//! A green task waiting on one of these queues does not keep
//! [`sprout::wait()`](crate::wait) waiting: the runtime cannot know
//! whether a thread will ever wake it.

use std::fmt;
use std::time::{Duration, Instant};

use super::api::{self, Queue as _};
use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{Closed, GetError, PutError, TaskDoneError};
use super::state::State;
use crate::loom::sync::Mutex;
use crate::sync::threadsafe::{block_on, block_on_timeout, block_on_until};

/// A queue of `T` shared by green tasks and OS threads, whose [`Buffer`]
/// `B` decides which item a get takes. Use it through its aliases:
/// [`Queue`], [`LifoQueue`], [`PriorityQueue`] and [`Channel`]. Share it
/// with an `Arc`.
pub struct BaseQueue<T, B> {
    state: Mutex<State<T, B>>,
}

/// A thread-safe FIFO queue; see [`super::Queue`].
pub type Queue<T> = BaseQueue<T, Fifo<T>>;
/// [`Queue`] under gevent's name.
pub type JoinableQueue<T> = Queue<T>;
/// A thread-safe LIFO queue; see [`super::LifoQueue`].
pub type LifoQueue<T> = BaseQueue<T, Lifo<T>>;
/// A thread-safe priority queue; see [`super::PriorityQueue`].
pub type PriorityQueue<T> = BaseQueue<T, Priority<T>>;
/// A thread-safe channel with no buffer; see [`super::Channel`].
pub type Channel<T> = BaseQueue<T, Rendezvous<T>>;

impl<T> BaseQueue<T, Fifo<T>> {
    /// A FIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }

    /// An unbounded FIFO queue (`Queue::new(0)`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

impl<T> BaseQueue<T, Lifo<T>> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T: Ord> BaseQueue<T, Priority<T>> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T> BaseQueue<T, Rendezvous<T>> {
    /// A channel: every put waits for a get, and the other way round.
    pub fn new() -> Self {
        BaseQueue { state: Mutex::new(State::new(0, true)) }
    }
}

impl<T> Default for BaseQueue<T, Rendezvous<T>> {
    fn default() -> Self {
        Self::new()
    }
}

/// The state is locked through `crate::loom::lock`, poisoned or not (no
/// user code runs under the lock but `Ord`, which cannot break the queue's
/// counts).
impl<T, B: Buffer<T>> api::Queue for BaseQueue<T, B> {
    type Item = T;
    type Buf = B;
    type Cell = Mutex<State<T, B>>;

    #[inline]
    fn cell(&self) -> &Mutex<State<T, B>> {
        &self.state
    }
}

impl<T, B: Buffer<T>> BaseQueue<T, B> {
    fn with_maxsize(maxsize: usize) -> Self {
        BaseQueue { state: Mutex::new(State::bounded(maxsize, true)) }
    }

    /// Puts `item`, waiting while the queue is full. Fails, handing the
    /// item back, if the queue is (or gets) closed.
    ///
    /// Dropping the future before it completes drops the item with it,
    /// unless a getter already took it.
    pub fn put(&self, item: T) -> Put<'_, T, B> {
        api::put(self, item)
    }

    /// Puts `item`, waiting at most `timeout` for room. On time-out the
    /// item comes back in [`PutError::Full`], as Python raises `Full`.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> PutTimeout<'_, T, B> {
        api::put_timeout(self, item, timeout)
    }

    /// Puts `item` if there is room now (a waiting getter, for a channel).
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        api::put_nowait(self, item)
    }

    /// Takes an item, waiting while the queue is empty. Fails once the
    /// queue is closed and drained.
    pub fn get(&self) -> Get<'_, T, B> {
        api::get(self)
    }

    /// Takes an item, waiting at most `timeout`; [`GetError::Empty`] on
    /// time-out, as Python raises `Empty`. An item handed over as the
    /// time-out falls is taken: the call succeeds.
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        api::get_timeout(self, timeout).await
    }

    /// Takes an item if one is there now.
    pub fn get_nowait(&self) -> Result<T, GetError> {
        api::get_nowait(self)
    }

    /// The items a get can take now.
    pub fn qsize(&self) -> usize {
        self.state().len()
    }

    /// Whether no item is there.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a put would have to wait (always true for a channel).
    pub fn full(&self) -> bool {
        self.state().is_full()
    }

    /// The bound given at creation (0 for unbounded queues and channels).
    pub fn maxsize(&self) -> usize {
        self.state().maxsize()
    }

    /// A clone of the item the next get would take.
    pub fn peek(&self) -> Option<T>
    where
        T: Clone,
    {
        self.state().peek().cloned()
    }

    /// Runs `f` on the item the next get would take. `f` must not use the queue.
    pub fn peek_with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.state().peek().map(f)
    }

    /// Marks one item as processed (Python's `task_done`): when every item
    /// put has been marked, [`join`](Self::join) returns. Calling it more
    /// often than items were put is an error.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        api::task_done(self)
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done) (Python's `join`).
    pub fn join(&self) -> Join<'_, T, B> {
        api::join(self)
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.state().unfinished()
    }

    /// Closes the queue: puts fail from now on (waiting putters get their
    /// item back), getters take what is left, then see [`Closed`].
    pub fn close(&self) {
        api::close(self)
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state().is_closed()
    }

    /// The number of tasks waiting in `get`.
    pub fn getters(&self) -> usize {
        self.state().getters()
    }

    /// The number of tasks waiting in `put`.
    pub fn putters(&self) -> usize {
        self.state().putters()
    }

    /// A [`Stream`](futures_core::Stream) of items: each `next` is a `get`;
    /// it ends once the queue is closed and drained.
    pub fn stream(&self) -> Items<'_, T, B> {
        api::stream(self)
    }

    /// Puts `item` from a plain OS thread, blocking while the queue is full.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`put`](Self::put) there.
    #[track_caller]
    pub fn put_blocking(&self, item: T) -> Result<(), Closed<T>> {
        block_on("put_blocking", self.put(item))
    }

    /// Puts `item` from a plain OS thread, blocking at most `timeout`.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`put_timeout`](Self::put_timeout) there.
    #[track_caller]
    pub fn put_blocking_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        let mut put = self.put(item);
        match block_on_until("put_blocking_timeout", &mut put, Instant::now().checked_add(timeout)) {
            Ok(result) => result.map_err(PutError::from),
            Err(put) => match put.take_back() {
                Some(item) => Err(PutError::Full(item)),
                None => Ok(()),
            },
        }
    }

    /// Takes an item from a plain OS thread, blocking while the queue is empty.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`get`](Self::get) there.
    #[track_caller]
    pub fn get_blocking(&self) -> Result<T, Closed> {
        block_on("get_blocking", self.get())
    }

    /// Takes an item from a plain OS thread, blocking at most `timeout`.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`get_timeout`](Self::get_timeout) there.
    #[track_caller]
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        // An item handed over as the time-out falls is taken.
        match block_on_timeout("get_blocking_timeout", self.get(), timeout) {
            Some(result) => result.map_err(GetError::from),
            None => Err(GetError::Empty),
        }
    }

    /// Blocks a plain OS thread until every item put is marked done.
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`join`](Self::join) there.
    #[track_caller]
    pub fn join_blocking(&self) {
        block_on("join_blocking", self.join())
    }

    /// An iterator for plain OS threads: each `next` is a
    /// [`get_blocking`](Self::get_blocking); it ends once the queue is
    /// closed and drained.
    pub fn iter_blocking(&self) -> IterBlocking<'_, T, B> {
        IterBlocking { queue: self }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for BaseQueue<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        api::fmt_queue(self, f)
    }
}

/// The future returned by [`BaseQueue::put`], resolving to `Result<(), Closed<T>>`.
pub type Put<'a, T, B> = api::Put<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::put_timeout`], resolving to `Result<(), PutError<T>>`.
pub type PutTimeout<'a, T, B> = api::PutTimeout<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::get`], resolving to `Result<T, Closed>`.
/// Dropped after it was handed an item, it gives the item to the next
/// getter (or back to the queue).
pub type Get<'a, T, B> = api::Get<'a, BaseQueue<T, B>>;

/// The stream returned by [`BaseQueue::stream`]: a `Stream` of `T`, one
/// `get` per item, ending once the queue is closed and drained.
pub type Items<'a, T, B> = api::Items<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::join`], resolving to `()`.
pub type Join<'a, T, B> = api::Join<'a, BaseQueue<T, B>>;

/// The iterator returned by [`BaseQueue::iter_blocking`].
pub struct IterBlocking<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
}

impl<T, B: Buffer<T>> Iterator for IterBlocking<'_, T, B> {
    type Item = T;

    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.queue.get_blocking().ok()
    }
}

impl<T, B: Buffer<T>> fmt::Debug for IterBlocking<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterBlocking").finish_non_exhaustive()
    }
}
