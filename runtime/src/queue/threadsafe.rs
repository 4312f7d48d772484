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
//! use sprout::{queue::threadsafe::Queue, run};
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

use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{Closed, GetError, PutError};
use crate::sync::flavor::ThreadSafe;
use crate::sync::threadsafe::{block_on, block_on_timeout, block_on_until};

/// A queue of `T` shared by green tasks and OS threads, whose [`Buffer`]
/// `B` decides which item a get takes. Use it through its aliases:
/// [`Queue`], [`LifoQueue`], [`PriorityQueue`] and [`Channel`]. Share it
/// with an `Arc`.
pub type BaseQueue<T, B> = super::BaseQueue<T, B, ThreadSafe>;

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

/// The future returned by [`BaseQueue::put`](super::BaseQueue::put), resolving to `Result<(), Closed<T>>`.
pub type Put<'a, T, B> = super::Put<'a, T, B, ThreadSafe>;

/// The future returned by [`BaseQueue::put_timeout`](super::BaseQueue::put_timeout), resolving to `Result<(), PutError<T>>`.
pub type PutTimeout<'a, T, B> = super::PutTimeout<'a, T, B, ThreadSafe>;

/// The future returned by [`BaseQueue::get`](super::BaseQueue::get), resolving to `Result<T, Closed>`.
pub type Get<'a, T, B> = super::Get<'a, T, B, ThreadSafe>;

/// The stream returned by [`BaseQueue::stream`](super::BaseQueue::stream): one `get` per item.
pub type Items<'a, T, B> = super::Items<'a, T, B, ThreadSafe>;

/// The future returned by [`BaseQueue::join`](super::BaseQueue::join), resolving to `()`.
pub type Join<'a, T, B> = super::Join<'a, T, B, ThreadSafe>;

/// The future returned by [`BaseQueue::readable`] and [`BaseQueue::writable`].
pub type Readiness<'a, T, B> = super::Readiness<'a, T, B, ThreadSafe>;

/// Calls for plain OS threads.
impl<T, B: Buffer<T>> super::BaseQueue<T, B, ThreadSafe> {
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
            Err(put) => put.time_out(),
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
