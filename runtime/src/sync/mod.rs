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
//! - [`CancelToken`]: ask running work to stop; child tokens, a drop guard
//!   (tokio-util's `CancellationToken`, Go's `context.WithCancel`).
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
//! `!Send` holds even with nobody waiting: a leaked waiter leaves wakers
//! behind that only the runtime's thread may touch.
//!
//! ```compile_fail
//! fn send<T: Send>(_: T) {}
//! send(sprout_runtime::sync::Event::new()); // use sync::threadsafe::Event
//! ```
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
//! - A signal that wakes everyone ([`Event::set`](Event#method.set), [`AsyncResult::set`](AsyncResult#method.set),
//!   [`Condition::notify_all`](Condition#method.notify_all)) needs no passing on. A [`Condition::notify`](Condition#method.notify)
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
//!
//! # One body, two flavours
//! Each primitive is written once, generic over where it keeps its state
//! (its [`Flavor`](generic::Flavor)): the types here are aliases of the
//! types in [`generic`] with the runtime-local flavour, those in
//! [`threadsafe`] with the thread-safe one (`docs/sync.md`, "How the
//! primitives are built").

mod async_result;
mod barrier;
mod cancel;
mod condition;
mod event;
pub(crate) mod flavor;
mod lock;
mod rlock;
mod semaphore;
pub mod threadsafe;
pub(crate) mod wait_list;
pub(crate) mod withdraw;

use flavor::Local;

pub mod generic;

pub use barrier::{BarrierWaitResult, BrokenBarrier};
pub use rlock::NotOwner;
pub use semaphore::{BoundedSemaphore, ReleaseError};

/// A flag that tasks can wait for. `set` wakes every waiter; waiting on a
/// set event returns at once.
///
/// Share it between tasks with an `Rc` (or a `&'static`).
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{run, spawn, sync::Event};
///
/// run(async {
///     let ready = Rc::new(Event::new());
///     let waiter = spawn({
///         let ready = ready.clone();
///         async move {
///             ready.wait().await;
///             "go"
///         }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "go");
/// });
/// ```
pub type Event = event::Event<Local>;

/// The future returned by [`Event::wait`](Event#method.wait), resolving to `()`. Dropping it
/// stops the wait.
pub type Wait<'a> = event::Wait<'a, Local>;

/// A result that one task `set`s and any number of tasks wait for, like
/// gevent's `AsyncResult`: a one-shot future with many readers. Each
/// reader gets a clone of the result.
///
/// `&AsyncResult` is itself a future: `(&result).await` is
/// `result.get().await`.
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout_runtime::{run, sleep, spawn, sync::AsyncResult};
///
/// run(async {
///     let answer: Rc<AsyncResult<u32, String>> = Rc::new(AsyncResult::new());
///     spawn({
///         let answer = answer.clone();
///         async move {
///             sleep(Duration::from_millis(2)).await;
///             answer.set(Ok(42));
///         }
///     });
///     assert!(!answer.ready());
///     assert_eq!(answer.get().await, Ok(42));
///     assert!(answer.successful());
///     assert_eq!(answer.get_timeout(Duration::ZERO).await, Ok(Ok(42))); // ready: no wait
/// });
/// ```
pub type AsyncResult<T, E> = async_result::AsyncResult<T, E, Local>;

/// The future returned by [`AsyncResult::wait`](AsyncResult#method.wait), resolving to `()`.
pub type Ready<'a, T, E> = async_result::Ready<'a, T, E, Local>;

/// The future returned by [`AsyncResult::get`](AsyncResult#method.get) (and by awaiting
/// `&AsyncResult`), resolving to a clone of the result.
pub type Get<'a, T, E> = async_result::Get<'a, T, E, Local>;

/// A lock that tasks take in turn, guarding a value of type `T` (`()` for
/// a plain Python-style lock). `lock().await` returns a guard; dropping it
/// unlocks.
///
/// Waiters are served in arrival order: unlocking hands the lock straight
/// to the longest waiter, so the unlocking task cannot take it back first.
/// A waiter dropped after it was handed the lock unlocks it again, for the
/// next waiter.
///
/// Holding the guard across an `.await` is what this lock is for (a
/// `RefCell` would do otherwise). A task that locks a lock it already
/// holds waits forever, as in Python; use [`RLock`] for that, or
/// `lock_timeout` to find out.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{joinall, run, spawn, sync::Lock, yield_now};
///
/// run(async {
///     let total = Rc::new(Lock::new(0));
///     let tasks = (0..10).map(|_| {
///         let total = total.clone();
///         spawn(async move {
///             let mut n = total.lock().await;
///             let seen = *n;
///             yield_now().await; // others run, but cannot touch the value
///             *n = seen + 1;
///         })
///     });
///     joinall(tasks).await;
///     assert_eq!(*total.lock().await, 10);
/// });
/// ```
pub type Lock<T = ()> = lock::Lock<T, Local>;

/// The future returned by [`Lock::lock`](Lock#method.lock), resolving to a [`LockGuard`].
/// Dropping it stops the wait; a lock it had already been handed goes to
/// the next waiter.
pub type LockFuture<'a, T> = lock::LockFuture<'a, T, Local>;

/// Holds a [`Lock`]; dereferences to the guarded value. Dropping it unlocks.
pub type LockGuard<'a, T> = lock::LockGuard<'a, T, Local>;

/// A lock that the task holding it may take again: it counts the holds,
/// and is free once every hold is released. Other tasks wait, in arrival
/// order, as for [`Lock`].
///
/// Ownership is per task (the `block_on` future counts as task 0), as
/// Python's is per thread. Take it with a guard (`lock`), or Python style
/// with `acquire` and `release`; releasing from a task that does not hold
/// it is an error. The guarded value is shared (`&T`): the holder may hold
/// it several times at once.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{run, spawn, sync::RLock};
///
/// run(async {
///     let lock = Rc::new(RLock::new(()));
///     let outer = lock.lock().await;
///     let inner = lock.lock().await; // same task: no deadlock
///     assert_eq!(lock.holds(), 2);
///     let other = spawn({
///         let lock = lock.clone();
///         async move { lock.release().is_err() } // not the holder
///     });
///     assert!(other.await.unwrap());
///     drop(inner);
///     drop(outer);
///     assert!(!lock.locked());
/// });
/// ```
///
/// # Panics
/// Taking or releasing it outside a sprout runtime (there is no task to own it).
pub type RLock<T = ()> = rlock::RLock<T, Local>;

/// The future returned by [`RLock::lock`](RLock#method.lock), resolving to an [`RLockGuard`].
/// Dropping it stops the wait; a lock it had already been handed goes to
/// the next waiter.
pub type RLockFuture<'a, T> = rlock::RLockFuture<'a, T, Local>;

/// One hold of an [`RLock`]; dereferences to the guarded value. Dropping it
/// releases that hold (whichever task drops it).
pub type RLockGuard<'a, T> = rlock::RLockGuard<'a, T, Local>;

/// A counter of permits. `acquire` takes one, waiting while there are
/// none; dropping the returned guard (or calling `release`) gives one back.
///
/// Waiters are served in arrival order: a released permit goes straight
/// to the longest waiter (it is *handed off*), so a task that arrives later
/// cannot take it first. A waiter dropped after it was handed a permit
/// releases it again, to the next waiter.
///
/// Share it between tasks with an `Rc`.
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout_runtime::{joinall, run, sleep, spawn, sync::Semaphore};
///
/// run(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let tasks = (0..6).map(|_| {
///         let sem = sem.clone();
///         spawn(async move {
///             let _permit = sem.acquire().await;
///             assert!(sem.available_permits() < 2);
///             sleep(Duration::from_millis(1)).await;
///         })
///     });
///     joinall(tasks).await;
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub type Semaphore = semaphore::Semaphore<Local>;

/// The future returned by [`Semaphore::acquire`](Semaphore#method.acquire) (and
/// [`BoundedSemaphore::acquire`](BoundedSemaphore#method.acquire)), resolving to a [`SemaphoreGuard`].
/// Dropping it stops the wait; a permit it had already been handed goes to
/// the next waiter.
pub type Acquire<'a> = semaphore::Acquire<'a, Local>;

/// A permit taken from a [`Semaphore`] (or [`BoundedSemaphore`]); dropping
/// it gives the permit back.
pub type SemaphoreGuard<'a> = semaphore::SemaphoreGuard<'a, Local>;

/// A condition variable over its own [`Lock`]: tasks lock it, check the
/// guarded state, and `wait` (which unlocks while waiting and locks again
/// before returning) until another task changes the state and calls
/// `notify` or `notify_all`.
///
/// Notifications wake waiters in arrival order and are not remembered: a
/// notify with nobody waiting does nothing, so always check the state
/// under the lock (`wait_for` does the loop for you). A waiter dropped
/// after it was notified passes the notification on to the next waiter, so
/// `notify(1)` is never lost to a cancelled task.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{run, spawn, sync::Condition};
///
/// run(async {
///     let cond = Rc::new(Condition::new(Vec::new()));
///     let consumer = spawn({
///         let cond = cond.clone();
///         async move {
///             let mut items = cond.wait_for(cond.lock().await, |items| !items.is_empty()).await;
///             items.pop().unwrap()
///         }
///     });
///     sprout_runtime::yield_now().await; // the consumer starts waiting
///     cond.lock().await.push("cake");
///     cond.notify(1);
///     assert_eq!(consumer.await.unwrap(), "cake");
/// });
/// ```
pub type Condition<T = ()> = condition::Condition<T, Local>;

/// Lets `parties` tasks wait for each other: each `wait` blocks until
/// `parties` tasks are waiting, then all of them go on together, and the
/// barrier is ready for the next round.
///
/// Each task learns its arrival index in the round (0 for the first); the
/// last to arrive, which releases the others, is the *leader*, the one to
/// do any once-per-round work. `abort` breaks the barrier: every waiting
/// and future `wait` fails with [`BrokenBarrier`] until `reset`.
///
/// A waiting task that is dropped (killed, timed out by an outer
/// `timeout`) withdraws its arrival, so the round still needs `parties`
/// live tasks. `wait_timeout` instead breaks the barrier when it times
/// out, as Python's `wait(timeout)` does.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{joinall, run, spawn, sync::Barrier};
///
/// run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks = (0..3).map(|_| {
///         let barrier = barrier.clone();
///         spawn(async move { barrier.wait().await.unwrap().is_leader() })
///     });
///     let leaders = joinall(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
///     assert_eq!(leaders, 1);
/// });
/// ```
pub type Barrier = barrier::Barrier<Local>;

/// The future returned by [`Barrier::wait`](Barrier#method.wait), resolving to a
/// [`BarrierWaitResult`] or [`BrokenBarrier`]. Dropped before the round
/// completes, it withdraws its arrival.
pub type BarrierWait<'a> = barrier::BarrierWait<'a, Local>;

/// A token that asks running work to stop, like tokio-util's
/// `CancellationToken` or Go's `context.WithCancel`: `cancel()` on any
/// clone wakes every `cancelled().await`, and
/// [`child_token`](CancelToken#method.child_token)s are cancelled with
/// their parent (not the other way round). Also at the crate root as
/// `sprout::CancelToken`.
///
/// Runtime-local (`Rc` inside, `!Send`); [`threadsafe::CancelToken`] is
/// the same for OS threads and other runtimes.
///
/// ```
/// use std::time::Duration;
/// use sprout_runtime::{run, sleep, spawn, sync::CancelToken};
///
/// run(async {
///     let stop = CancelToken::new();
///     let worker = spawn({
///         let stop = stop.child_token();
///         async move {
///             let mut rounds = 0;
///             // Each round runs until the token is cancelled.
///             while stop.run_until_cancelled(sleep(Duration::from_millis(1))).await.is_some() {
///                 rounds += 1;
///             }
///             rounds
///         }
///     });
///     sleep(Duration::from_millis(5)).await;
///     stop.cancel(); // cancels the child too
///     assert!(worker.await.unwrap() >= 1);
/// });
/// ```
pub type CancelToken = cancel::CancelToken<Local>;

/// The future returned by [`CancelToken::cancelled`](CancelToken#method.cancelled).
/// Dropping it stops the wait.
pub type Cancelled<'a> = cancel::Cancelled<'a, Local>;

/// The future returned by [`CancelToken::cancelled_owned`](CancelToken#method.cancelled_owned).
pub type CancelledOwned = cancel::CancelledOwned<Local>;

/// The future returned by [`CancelToken::run_until_cancelled`](CancelToken#method.run_until_cancelled).
pub type RunUntilCancelled<'a, Fut> = cancel::RunUntilCancelled<'a, Local, Fut>;

/// The future returned by [`CancelToken::run_until_cancelled_owned`](CancelToken#method.run_until_cancelled_owned).
pub type RunUntilCancelledOwned<Fut> = cancel::RunUntilCancelledOwned<Local, Fut>;

/// Cancels its [`CancelToken`] when dropped, unless disarmed
/// ([`CancelToken::drop_guard`](CancelToken#method.drop_guard)).
pub type DropGuard = cancel::DropGuard<Local>;
