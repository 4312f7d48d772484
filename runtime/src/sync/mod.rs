//! Synchronization between green tasks: gevent.event, gevent.lock and
//! Python's threading primitives, for tasks on one runtime.
//!
//! - [`Event`]: a flag tasks wait for (`threading.Event`).
//! - [`AsyncResult`]: a value or error set once, awaited by many (`gevent.event.AsyncResult`).
//! - [`Lock`]: an async mutex with a guard (`threading.Lock`).
//! - [`RLock`]: a lock the holding task may take again (`threading.RLock`).
//! - [`Semaphore`], [`BoundedSemaphore`]: counted permits (`threading.Semaphore`, `BoundedSemaphore`).
//! - [`Condition`]: wait for state under a lock to change (`threading.Condition`).
//! - [`Barrier`]: a meeting point for `n` tasks (`threading.Barrier`).
//! - [`threadsafe`]: all of the above, shared with plain OS threads.
//!
//! The queues (`queue.Queue` and friends) are in [`crate::queue`].
//!
//! # Sharing
//! These primitives are runtime-local: plain `Cell`s and `RefCell`s, no
//! atomics, no locks, and `!Send`. Share one between tasks with an `Rc`
//! (or a `&'static`); guards borrow the primitive, so they live inside
//! the task that took them. To coordinate with OS threads, use
//! [`threadsafe`] or the thread-safe queues in [`crate::queue::threadsafe`].
//!
//! # Fairness and cancellation
//! Waiters are served in arrival order. Every `wait`, `acquire`, `lock` and
//! `get` future may be dropped at any time (by `timeout`, `select`, a
//! killed task) without losing anything:
//!
//! - A resource that only one waiter may take (a permit, the lock, a queue
//!   item) is **handed off**: releasing it gives it directly to the
//!   longest waiter, which owns it from that instant, before it even runs;
//!   a task arriving later cannot barge in. If that waiter is dropped
//!   before it runs, its drop gives the resource back the same way, to the
//!   next waiter (or to the free pool). So nothing leaks and nobody is
//!   skipped.
//! - A signal that wakes everyone ([`Event::set`], [`AsyncResult::set`],
//!   [`Condition::notify_all`]) needs no passing on. A [`Condition::notify`]
//!   received by a waiter that is then dropped is passed on to the next
//!   waiter.
//! - A signal is never lost between a check and a wait: with one thread,
//!   nothing runs between a task's check and its registration.
//! - A `_timeout` call whose deadline races a grant from another thread
//!   keeps the grant and succeeds: at the deadline it leaves the line in
//!   one step under the primitive's lock and looks at what it was given
//!   (the `withdraw` module; docs/sync.md, "Time-outs").
//!
//! No primitive holds a `RefCell` borrow while it wakes a task: it updates
//! its state, releases the borrow, then wakes.

mod async_result;
pub(crate) mod barrier;
mod condition;
mod event;
mod lock;
mod rlock;
mod semaphore;
pub mod threadsafe;
pub(crate) mod wait_list;
pub(crate) mod withdraw;

pub use async_result::{AsyncResult, Get, Ready};
pub use barrier::{Barrier, BarrierWait, BarrierWaitResult, BrokenBarrier};
pub use condition::Condition;
pub use event::{Event, Wait};
pub use lock::{Lock, LockFuture, LockGuard};
pub use rlock::{NotOwner, RLock, RLockFuture, RLockGuard};
pub use semaphore::{Acquire, BoundedSemaphore, ReleaseError, Semaphore, SemaphoreGuard};
