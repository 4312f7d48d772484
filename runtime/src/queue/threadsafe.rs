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
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{Closed, GetError, PutError, TaskDoneError};
use super::state::{State, wake};
use crate::sched::coop;
use crate::sync::threadsafe::{block_on, block_on_until};
use crate::task::compact::CompactWaker;
use crate::time::{Sleep, sleep};

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
        BaseQueue::with_capacity(maxsize)
    }

    /// An unbounded FIFO queue (`Queue::new(0)`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

impl<T> BaseQueue<T, Lifo<T>> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_capacity(maxsize)
    }
}

impl<T: Ord> BaseQueue<T, Priority<T>> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_capacity(maxsize)
    }
}

impl<T> BaseQueue<T, Rendezvous<T>> {
    /// A channel: every put waits for a get, and the other way round.
    pub fn new() -> Self {
        BaseQueue { state: Mutex::new(State::new(0)) }
    }
}

impl<T> Default for BaseQueue<T, Rendezvous<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, B: Buffer<T>> BaseQueue<T, B> {
    /// The state, even if a thread panicked holding it (no user code runs
    /// under the lock but `Ord`, which cannot break the queue's counts).
    #[inline]
    fn state(&self) -> MutexGuard<'_, State<T, B>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_capacity(maxsize: usize) -> Self {
        let capacity = if maxsize == 0 { usize::MAX } else { maxsize };
        BaseQueue { state: Mutex::new(State::new(capacity)) }
    }

    /// Puts `item`, waiting while the queue is full. Fails, handing the
    /// item back, if the queue is (or gets) closed.
    ///
    /// Dropping the future before it completes drops the item with it,
    /// unless a getter already took it.
    pub fn put(&self, item: T) -> Put<'_, T, B> {
        Put { queue: self, item: Some(item), key: None }
    }

    /// Puts `item`, waiting at most `timeout` for room. On time-out the
    /// item comes back in [`PutError::Full`], as Python raises `Full`.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> PutTimeout<'_, T, B> {
        PutTimeout { put: self.put(item), sleep: sleep(timeout) }
    }

    /// Puts `item` if there is room now (a waiting getter, for a channel).
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let result = self.state().try_put(item);
        result.map(wake)
    }

    /// Takes an item, waiting while the queue is empty. Fails once the
    /// queue is closed and drained.
    pub fn get(&self) -> Get<'_, T, B> {
        Get { queue: self, key: None }
    }

    /// Takes an item, waiting at most `timeout`; [`GetError::Empty`] on
    /// time-out, as Python raises `Empty`.
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        match crate::time::timeout(timeout, self.get()).await {
            Ok(result) => result.map_err(GetError::from),
            Err(_) => Err(GetError::Empty),
        }
    }

    /// Takes an item if one is there now.
    pub fn get_nowait(&self) -> Result<T, GetError> {
        let result = self.state().try_get();
        result.map(|(item, w)| {
            wake(w);
            item
        })
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
        match self.state().capacity {
            usize::MAX => 0,
            n => n,
        }
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
        let mut woken = Vec::new();
        let result = self.state().task_done(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
        result
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done) (Python's `join`).
    pub fn join(&self) -> Join<'_, T, B> {
        Join { queue: self, key: None, done: false }
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.state().unfinished()
    }

    /// Closes the queue: puts fail from now on (waiting putters get their
    /// item back), getters take what is left, then see [`Closed`].
    pub fn close(&self) {
        let mut woken = Vec::new();
        self.state().close(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
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

    /// A [`Stream`] of items: each `next` is a `get`; it ends once the
    /// queue is closed and drained.
    pub fn stream(&self) -> Items<'_, T, B> {
        Items { queue: self, key: None }
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
        let mut get = self.get();
        match block_on_until("get_blocking_timeout", &mut get, Instant::now().checked_add(timeout)) {
            Ok(result) => result.map_err(GetError::from),
            // Dropping `get` gives back an item it was handed meanwhile.
            Err(_) => Err(GetError::Empty),
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

    /// The body of `Get::poll` and `Items::poll_next`.
    #[inline]
    fn poll_get(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        if let Some(k) = *key {
            match self.state().poll_getter(k, cx.waker()) {
                None => return Poll::Pending,
                Some(Some(item)) => {
                    *key = None;
                    return Poll::Ready(Ok(item));
                }
                // Woken by `close`: drain, or see Closed, below.
                Some(None) => *key = None,
            }
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut state = self.state();
        match state.try_get() {
            Ok((item, w)) => {
                drop(state);
                wake(w);
                Poll::Ready(Ok(item))
            }
            Err(GetError::Closed) => Poll::Ready(Err(Closed(()))),
            Err(GetError::Empty) => {
                *key = Some(state.push_getter(cx.waker()));
                Poll::Pending
            }
        }
    }

    fn cancel_get(&self, key: u32) {
        let w = self.state().cancel_getter(key);
        wake(w);
    }
}

impl<T, B: Buffer<T>> fmt::Debug for BaseQueue<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Queue")
            .field("qsize", &state.len())
            .field("maxsize", &if state.capacity == usize::MAX { 0 } else { state.capacity })
            .field("getters", &state.getters())
            .field("putters", &state.putters())
            .field("closed", &state.is_closed())
            .finish()
    }
}

/// The future returned by `put`.
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    /// The item until it is handed over or parked in the wait list.
    item: Option<T>,
    key: Option<u32>,
}

// Nothing is pinned: the item moves freely until it is handed over.
impl<T, B: Buffer<T>> Unpin for Put<'_, T, B> {}

impl<T, B: Buffer<T>> Put<'_, T, B> {
    /// Stops the put and returns the item, unless it was already taken.
    fn take_back(&mut self) -> Option<T> {
        match self.key.take() {
            Some(key) => self.queue.state().cancel_putter(key),
            None => self.item.take(),
        }
    }
}

impl<T, B: Buffer<T>> Future for Put<'_, T, B> {
    type Output = Result<(), Closed<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(key) = this.key {
            return match this.queue.state().poll_putter(key, cx.waker()) {
                None => Poll::Pending,
                Some(result) => {
                    this.key = None;
                    Poll::Ready(result.map_err(Closed))
                }
            };
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let item = this.item.take().expect("Put polled after completion");
        let mut state = this.queue.state();
        match state.try_put(item) {
            Ok(w) => {
                drop(state);
                wake(w);
                Poll::Ready(Ok(()))
            }
            Err(PutError::Closed(item)) => Poll::Ready(Err(Closed(item))),
            Err(PutError::Full(item)) => {
                this.key = Some(state.push_putter(cx.waker(), item));
                Poll::Pending
            }
        }
    }
}

impl<T, B: Buffer<T>> Drop for Put<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropped outside the borrow: `T::drop` may use the queue.
            let item = self.queue.state().cancel_putter(key);
            drop(item);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Put<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `put_timeout`.
#[must_use = "futures do nothing unless awaited"]
pub struct PutTimeout<'a, T, B: Buffer<T>> {
    put: Put<'a, T, B>,
    sleep: Sleep,
}

impl<T, B: Buffer<T>> Future for PutTimeout<'_, T, B> {
    type Output = Result<(), PutError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(result) = Pin::new(&mut this.put).poll(cx) {
            return Poll::Ready(result.map_err(PutError::from));
        }
        if Pin::new(&mut this.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(match this.put.take_back() {
            Some(item) => Err(PutError::Full(item)),
            None => Ok(()),
        })
    }
}

impl<T, B: Buffer<T>> fmt::Debug for PutTimeout<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutTimeout").field("put", &self.put).field("deadline", &self.sleep.deadline()).finish()
    }
}

/// The future returned by `get`. Dropped after it was handed an item, it
/// gives the item to the next getter (or back to the queue).
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
}

impl<T, B: Buffer<T>> Future for Get<'_, T, B> {
    type Output = Result<T, Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.queue.poll_get(&mut this.key, cx)
    }
}

impl<T, B: Buffer<T>> Drop for Get<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.cancel_get(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Get<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("waiting", &self.key.is_some()).finish()
    }
}

/// The stream returned by `stream`: one `get` per item, ending once the
/// queue is closed and drained.
#[must_use = "streams do nothing unless polled"]
pub struct Items<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
}

impl<T, B: Buffer<T>> Stream for Items<'_, T, B> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        this.queue.poll_get(&mut this.key, cx).map(Result::ok)
    }
}

impl<T, B: Buffer<T>> Drop for Items<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.cancel_get(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Items<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items").field("waiting", &self.key.is_some()).finish()
    }
}

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

/// The future returned by `join`.
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
    done: bool,
}

impl<T, B: Buffer<T>> Future for Join<'_, T, B> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        let mut state = this.queue.state();
        let ready = match this.key {
            Some(key) => state.poll_joiner(key, cx.waker()),
            None => {
                this.key = state.push_joiner(cx.waker());
                this.key.is_none()
            }
        };
        if ready {
            this.key = None;
            this.done = true;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<T, B: Buffer<T>> Drop for Join<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.state().cancel_joiner(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Join<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("waiting", &self.key.is_some()).finish()
    }
}
