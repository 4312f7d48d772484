//! Queues between green tasks: Python's `queue` module and `gevent.queue`.
//!
//! - [`Queue`] (alias [`JoinableQueue`]): first in, first out, with an optional `maxsize`.
//! - [`LifoQueue`]: last in, first out.
//! - [`PriorityQueue`]: smallest item first, as Python's (a min-heap).
//! - [`Channel`]: no buffer; a put waits for a get (`gevent.queue.Channel`).
//! - [`threadsafe`]: the same four, shared with plain OS threads.
//!
//! They all have the same methods:
//!
//! | Python | sprout |
//! | --- | --- |
//! | `q.put(item)`, `q.put(item, timeout=t)` | [`put(item).await`](BaseQueue::put), [`put_timeout(item, t).await`](BaseQueue::put_timeout) |
//! | `q.get()`, `q.get(timeout=t)` | [`get().await`](BaseQueue::get), [`get_timeout(t).await`](BaseQueue::get_timeout) |
//! | `q.put_nowait(item)` / `queue.Full` | [`put_nowait(item)`](BaseQueue::put_nowait) / [`PutError::Full`] (the item comes back) |
//! | `q.get_nowait()` / `queue.Empty` | [`get_nowait()`](BaseQueue::get_nowait) / [`GetError::Empty`] |
//! | `qsize()`, `empty()`, `full()`, `gevent peek()` | [`qsize`](BaseQueue::qsize), [`empty`](BaseQueue::empty), [`full`](BaseQueue::full), [`peek`](BaseQueue::peek) |
//! | `task_done()`, `join()` | [`task_done()`](BaseQueue::task_done), [`join().await`](BaseQueue::join) |
//! | `shutdown()` (3.13) | [`close()`](BaseQueue::close), then [`Closed`] |
//! | `for item in iter(q.get, None)` | [`stream()`](BaseQueue::stream), a `Stream` that ends at close |
//!
//! ```
//! use std::rc::Rc;
//! use sprout::{queue::Queue, run, spawn};
//!
//! run(async {
//!     let q = Rc::new(Queue::new(2)); // at most 2 items waiting
//!     let consumer = spawn({
//!         let q = q.clone();
//!         async move {
//!             let mut total = 0;
//!             while let Ok(n) = q.get().await {
//!                 total += n;
//!                 q.task_done().unwrap();
//!             }
//!             total
//!         }
//!     });
//!     for n in 1..=10 {
//!         q.put(n).await.unwrap(); // waits while 2 items are queued
//!     }
//!     q.join().await; // every item was processed
//!     q.close();
//!     assert_eq!(consumer.await.unwrap(), 55);
//! });
//! ```
//!
//! # The contract
//! - **Order.** Items come out in the buffer's order; waiting getters and
//!   waiting putters are each served in arrival order.
//! - **Hand-off.** A put while getters wait gives its item straight to the
//!   longest-waiting getter (it never enters the buffer, so it does not
//!   count toward `maxsize` or `qsize`, and `peek` does not see it); a get
//!   that makes room moves the longest-waiting putter's item into the
//!   buffer. A task arriving later cannot take an item or a free slot
//!   meant for a waiter.
//! - **Cancellation.** Dropping a `get` future (a `timeout`, a `select`,
//!   a killed task) loses nothing: if it had been handed an item, the item
//!   goes to the next waiting getter, or back to the front of the queue
//!   (so the queue may then hold one item more than `maxsize`). Dropping a
//!   waiting `put` drops its item with it, unless a getter already took
//!   it (then the put happened); [`put_timeout`](BaseQueue::put_timeout)
//!   hands the item back instead.
//! - **Closing.** After [`close`](BaseQueue::close), puts fail and hand
//!   their item back (waiting putters too); getters take what is left,
//!   then get [`Closed`]. `task_done` and `join` work as before.
//! - **Fairness to the loop.** Each `put` and `get` spends one unit of the
//!   task's budget ([`crate::coop`]), so a task draining a queue that is
//!   never empty still lets the others run.
//!
//! These queues are runtime-local: `!Send`, shared between tasks with an
//! `Rc`, no atomics, no locks. For OS threads, see [`threadsafe`].
//!
//! # One body, two flavours
//! Like the sync primitives, the queue is written once, generic over its
//! [`Flavor`](crate::sync::generic::Flavor): [`BaseQueue<T, B, F>`](BaseQueue),
//! whose futures ([`Put`], [`PutTimeout`], [`Get`], [`Items`], [`Join`])
//! take the same `F`. The types here are the runtime-local flavour (the
//! default `F`); [`threadsafe`] has the same names for the thread-safe
//! one, plus the blocking calls for OS threads (`docs/sync.md`, "How the
//! primitives are built").
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(sprout::queue::Queue::<u8>::new(0)); // use queue::threadsafe::Queue
//! ```

mod base;
mod buffer;
mod error;
mod get;
mod join;
mod put;
mod readiness;
mod state;
pub mod threadsafe;

#[cfg(all(test, loom))]
mod loom_models;
#[cfg(test)]
mod tests;

pub use base::BaseQueue;
pub use buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
pub use error::{Closed, GetError, PutError, TaskDoneError};
pub use get::{Get, Items};
pub use join::Join;
pub use put::{Put, PutTimeout};
pub use readiness::Readiness;

/// A FIFO queue (`queue.Queue`, `gevent.queue.Queue`): `Queue::new(maxsize)`,
/// 0 for unbounded.
///
/// `put` waits while the queue holds `maxsize` items, `get` while it is
/// empty; `task_done` and `join` work as in Python.
///
/// ```
/// use std::rc::Rc;
/// use sprout::{queue::Queue, run, spawn};
///
/// run(async {
///     let q = Rc::new(Queue::new(2));
///     let consumer = spawn({
///         let q = q.clone();
///         async move {
///             let mut sum = 0;
///             for _ in 0..5 {
///                 sum += q.get().await.unwrap();
///                 q.task_done().unwrap();
///             }
///             sum
///         }
///     });
///     for i in 1..=5 {
///         q.put(i).await.unwrap(); // waits while two items are queued
///         assert!(q.qsize() <= 2);
///     }
///     q.join().await; // every item fetched and marked done
///     assert_eq!(consumer.await.unwrap(), 15);
/// });
/// ```
pub type Queue<T> = BaseQueue<T, Fifo<T>>;

/// [`Queue`] under gevent's name: every queue here has `task_done` and `join`.
pub type JoinableQueue<T> = Queue<T>;

/// A LIFO queue (`queue.LifoQueue`): the last item put is the first out.
///
/// ```
/// use sprout::queue::LifoQueue;
///
/// let q = LifoQueue::new(5);
/// q.put_nowait(3).unwrap();
/// q.put_nowait(4).unwrap();
/// assert_eq!(q.get_nowait(), Ok(4)); // whoever went in last comes out first
/// ```
pub type LifoQueue<T> = BaseQueue<T, Lifo<T>>;

/// A priority queue (`queue.PriorityQueue`): the smallest item comes out
/// first. Put `(priority, item)` tuples, as in Python.
///
/// ```
/// use sprout::queue::PriorityQueue;
///
/// let q = PriorityQueue::new(0);
/// for job in [(10, "a"), (9, "b"), (11, "c")] {
///     q.put_nowait(job).unwrap();
/// }
/// assert_eq!(q.get_nowait(), Ok((9, "b")));
/// ```
pub type PriorityQueue<T> = BaseQueue<T, Priority<T>>;

/// A channel with no buffer (`gevent.queue.Channel`): `put` waits until a
/// getter takes the item, `get` until a putter brings one. `put_nowait`
/// succeeds only if a getter is waiting.
///
/// ```
/// use std::rc::Rc;
/// use sprout::{queue::Channel, run, spawn};
///
/// run(async {
///     let ch = Rc::new(Channel::new());
///     let getter = spawn({
///         let ch = ch.clone();
///         async move { ch.get().await.unwrap() }
///     });
///     assert!(ch.put_nowait(1).unwrap_err().is_full()); // nobody waits yet
///     ch.put(2).await.unwrap(); // waits for the getter
///     assert_eq!(getter.await.unwrap(), 2);
/// });
/// ```
pub type Channel<T> = BaseQueue<T, Rendezvous<T>>;
