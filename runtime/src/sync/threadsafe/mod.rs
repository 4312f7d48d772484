//! Thread-safe [`Event`], [`AsyncResult`], [`Lock`], [`RLock`],
//! [`Semaphore`], [`Condition`], [`Barrier`] and [`CancelToken`]: shared by green tasks
//! (async calls) and plain OS threads (blocking calls).
//!
//! They have the API of their runtime-local namesakes in [`crate::sync`],
//! plus `*_blocking` methods for threads, and are shared with an `Arc`.
//! Inside they are a `std::sync::Mutex` over the same wait list, holding
//! plain `Waker`s: waking a green task from a thread posts to its
//! runtime's cross-thread queue. The thread-safe queues are in
//! [`crate::queue::threadsafe`].
//!
//! ```
//! use std::sync::Arc;
//! use sprout_runtime::{run, sync::threadsafe::Event};
//!
//! run(async {
//!     let db_ready = Arc::new(Event::new());
//!     let checker = std::thread::spawn({
//!         let db_ready = db_ready.clone();
//!         move || db_ready.set() // a plain thread sets it...
//!     });
//!     db_ready.wait().await; // ...a green task waits without blocking the loop
//!     checker.join().unwrap();
//! });
//! ```
//!
//! # Blocking calls
//! The `*_blocking` methods park the calling OS thread. Called from inside
//! a sprout runtime they would stall every green task on that thread, so
//! they **panic** there, with a message saying to `.await` the async
//! method instead.

use std::future::Future;
use std::time::{Duration, Instant};

use super::flavor::ThreadSafe;
use super::withdraw::Withdraw;
use super::{async_result, barrier, cancel, condition, event, lock, rlock, semaphore};

#[cfg(all(test, loom))]
mod loom_models;

/// A thread-safe flag that green tasks and OS threads wait for; see
/// [`crate::sync::Event`].
pub type Event = event::Event<ThreadSafe>;

/// The future returned by [`Event::wait`](Event#method.wait), resolving to `()`.
pub type EventWait<'a> = event::Wait<'a, ThreadSafe>;

/// A result set once (by a thread or a task) and awaited by any number of
/// green tasks and threads; see [`crate::sync::AsyncResult`]. The usual
/// bridge from work on an OS thread back to a green task. `&AsyncResult`
/// is itself a future: `(&result).await` is `result.get().await`.
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::AsyncResult};
///
/// run(async {
///     let page: Arc<AsyncResult<usize, String>> = Arc::new(AsyncResult::new());
///     std::thread::spawn({
///         let page = page.clone();
///         move || page.set(Ok("<html>…</html>".len())) // "downloaded" on a thread
///     });
///     assert!(page.get().await.unwrap() > 0);
/// });
/// ```
pub type AsyncResult<T, E> = async_result::AsyncResult<T, E, ThreadSafe>;

/// The future returned by [`AsyncResult::wait`](AsyncResult#method.wait), resolving to `()`.
pub type AsyncResultReady<'a, T, E> = async_result::Ready<'a, T, E, ThreadSafe>;

/// The future returned by [`AsyncResult::get`](AsyncResult#method.get) (and by awaiting
/// `&AsyncResult`), resolving to a clone of the result.
pub type AsyncResultGet<'a, T, E> = async_result::Get<'a, T, E, ThreadSafe>;

/// A lock shared by green tasks (`lock().await`) and OS threads
/// (`lock_blocking`), guarding a `T`; see
/// [`crate::sync::Lock`] for the contract (arrival order, hand-off,
/// cancellation).
///
/// The value sits in a `std::sync::Mutex` that only the holder ever locks,
/// so it is never contended; the guard holds that mutex's guard, which
/// makes it `!Send` (a task holding it across an `.await` is then not
/// `Send` either: spawn it with `spawn`, not `Handle::spawn`).
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::Lock};
///
/// let total = Arc::new(Lock::new(0));
/// let thread = std::thread::spawn({
///     let total = total.clone();
///     move || (0..100).for_each(|_| *total.lock_blocking() += 1)
/// });
/// run(async {
///     for _ in 0..100 {
///         *total.lock().await += 1;
///     }
/// });
/// thread.join().unwrap();
/// assert_eq!(*total.lock_blocking(), 200);
/// ```
pub type Lock<T> = lock::Lock<T, ThreadSafe>;

/// The future returned by [`Lock::lock`](Lock#method.lock), resolving to a [`LockGuard`].
/// Dropping it stops the wait; a lock it had been handed goes to the next
/// waiter.
pub type LockFuture<'a, T> = lock::LockFuture<'a, T, ThreadSafe>;

/// Holds a thread-safe [`Lock`]; dereferences to the value. Dropping it unlocks.
pub type LockGuard<'a, T> = lock::LockGuard<'a, T, ThreadSafe>;

/// A reentrant lock shared by green tasks and OS threads: the holder (a
/// thread, or one task) may take it again; see [`crate::sync::RLock`].
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::RLock};
///
/// let lock = Arc::new(RLock::new(()));
/// let outer = lock.lock_blocking();
/// let inner = lock.lock_blocking(); // same thread: no deadlock
/// assert_eq!(lock.holds(), 2);
/// // A green task is another owner.
/// assert!(run(async { lock.try_lock().is_none() }));
/// drop((inner, outer));
/// assert!(run(async { lock.try_lock().is_some() }));
/// ```
pub type RLock<T> = rlock::RLock<T, ThreadSafe>;

/// The future returned by [`RLock::lock`](RLock#method.lock), resolving to an [`RLockGuard`].
/// Dropping it stops the wait; a lock it had been handed goes to the next
/// waiter.
pub type RLockFuture<'a, T> = rlock::RLockFuture<'a, T, ThreadSafe>;

/// One hold of a thread-safe [`RLock`]; dropping it releases that hold.
pub type RLockGuard<'a, T> = rlock::RLockGuard<'a, T, ThreadSafe>;

/// A thread-safe counter of permits, shared by green tasks and OS threads;
/// see [`crate::sync::Semaphore`]. With `Semaphore::bounded`, a release
/// beyond the initial count is an error (`BoundedSemaphore`).
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::Semaphore};
///
/// run(async {
///     let slots = Arc::new(Semaphore::new(1));
///     let held = slots.acquire().await;
///     let thread = std::thread::spawn({
///         let slots = slots.clone();
///         move || slots.acquire_blocking().forget() // waits for the task's permit
///     });
///     drop(held);
///     thread.join().unwrap();
///     assert_eq!(slots.available_permits(), 0);
/// });
/// ```
pub type Semaphore = semaphore::Semaphore<ThreadSafe>;

/// The future returned by [`Semaphore::acquire`](Semaphore#method.acquire), resolving to a
/// [`SemGuard`]. Dropping it stops the wait; a permit it had been handed
/// goes to the next waiter.
pub type SemAcquire<'a> = semaphore::Acquire<'a, ThreadSafe>;

/// A permit of a thread-safe [`Semaphore`]; dropping it gives it back.
pub type SemGuard<'a> = semaphore::SemaphoreGuard<'a, ThreadSafe>;

/// A condition variable over its own thread-safe [`Lock`], for green tasks
/// and OS threads alike; see [`crate::sync::Condition`] for the contract.
///
/// A waiter registers before it unlocks, so a `notify` from another thread
/// in between is not lost.
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::Condition};
///
/// let cond = Arc::new(Condition::new(Vec::new()));
/// let producer = std::thread::spawn({
///     let cond = cond.clone();
///     move || {
///         cond.lock_blocking().push("cake");
///         cond.notify_all();
///     }
/// });
/// let got = run(async {
///     let mut items = cond.wait_for(cond.lock().await, |items| !items.is_empty()).await;
///     items.pop().unwrap()
/// });
/// producer.join().unwrap();
/// assert_eq!(got, "cake");
/// ```
pub type Condition<T> = condition::Condition<T, ThreadSafe>;

/// A meeting point for `parties` green tasks and OS threads, in any mix;
/// see [`crate::sync::Barrier`] for the contract (leader, indices, abort,
/// reset, withdrawal of a dropped waiter).
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, spawn, sync::threadsafe::Barrier};
///
/// let barrier = Arc::new(Barrier::new(3));
/// let threads: Vec<_> = (0..2)
///     .map(|_| {
///         let barrier = barrier.clone();
///         std::thread::spawn(move || barrier.wait_blocking().unwrap().index())
///     })
///     .collect();
/// let task_index = run(async { barrier.wait().await.unwrap().index() });
/// let mut indices: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
/// indices.push(task_index);
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// ```
pub type Barrier = barrier::Barrier<ThreadSafe>;

/// The future returned by [`Barrier::wait`](Barrier#method.wait). Dropped before the round
/// completes, it withdraws its arrival.
pub type BarrierWait<'a> = barrier::BarrierWait<'a, ThreadSafe>;

/// A thread-safe [`crate::sync::CancelToken`]: cancel it from any thread
/// (a signal handler's thread, a supervisor, another runtime), wait for it
/// in green tasks (`cancelled().await`) and OS threads
/// (`cancelled_blocking`). A cancel from another thread while a task is
/// in the middle of a poll wakes it once that poll ends.
///
/// ```
/// use std::sync::mpsc;
/// use sprout_runtime::{run, spawn, sync::threadsafe::CancelToken};
///
/// let token = CancelToken::new();
/// let (started_tx, started) = mpsc::channel();
/// let canceller = std::thread::spawn({
///     let token = token.clone();
///     move || {
///         started.recv().unwrap();
///         token.cancel();
///     }
/// });
/// run(async {
///     let waiter = spawn({
///         let token = token.child_token();
///         async move { token.cancelled().await }
///     });
///     started_tx.send(()).unwrap();
///     waiter.await.unwrap();
/// });
/// canceller.join().unwrap();
/// assert!(token.is_cancelled());
/// ```
pub type CancelToken = cancel::CancelToken<ThreadSafe>;

/// The future returned by [`CancelToken::cancelled`](CancelToken#method.cancelled).
pub type Cancelled<'a> = cancel::Cancelled<'a, ThreadSafe>;

/// The future returned by [`CancelToken::cancelled_owned`](CancelToken#method.cancelled_owned).
/// `Send`: it can travel with a task to another runtime.
pub type CancelledOwned = cancel::CancelledOwned<ThreadSafe>;

/// The future returned by [`CancelToken::run_until_cancelled`](CancelToken#method.run_until_cancelled).
pub type RunUntilCancelled<'a, Fut> = cancel::RunUntilCancelled<'a, ThreadSafe, Fut>;

/// The future returned by [`CancelToken::run_until_cancelled_owned`](CancelToken#method.run_until_cancelled_owned).
pub type RunUntilCancelledOwned<Fut> = cancel::RunUntilCancelledOwned<ThreadSafe, Fut>;

/// Cancels its thread-safe [`CancelToken`] when dropped, unless disarmed.
pub type DropGuard = cancel::DropGuard<ThreadSafe>;

/// Panics if called on a runtime thread, naming the blocking call.
#[track_caller]
fn forbid_in_runtime(what: &str) {
    if crate::context::current().is_some() {
        panic!(
            "{what} called inside a sprout runtime: it would block this thread and every green task on it; \
             .await the async method instead"
        );
    }
}

/// Parks this OS thread until `future` completes.
#[cfg(not(loom))]
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    forbid_in_runtime(what);
    crate::park::block_on(future)
}

/// Parks this OS thread until `future` completes or `deadline` passes
/// (`None`: never); on time-out hands the future back.
#[cfg(not(loom))]
#[track_caller]
pub(crate) fn block_on_until<F: Future + Unpin>(
    what: &str,
    future: F,
    deadline: Option<Instant>,
) -> Result<F::Output, F> {
    forbid_in_runtime(what);
    crate::park::block_on_until(future, deadline)
}

/// Under loom: parks this model thread until `future` completes (loom's
/// waker unparks it, as `crate::park`'s does a real thread).
#[cfg(loom)]
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    forbid_in_runtime(what);
    ::loom::future::block_on(future)
}

/// Under loom, time does not pass: the deadline is modelled as passing
/// right after the first poll, which leaves the widest window for a grant
/// to race it.
#[cfg(loom)]
#[track_caller]
pub(crate) fn block_on_until<F: Future + Unpin>(
    what: &str,
    mut future: F,
    _deadline: Option<Instant>,
) -> Result<F::Output, F> {
    forbid_in_runtime(what);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(&mut future).poll(&mut cx) {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => Err(future),
    }
}

/// Parks this OS thread until `wait` completes or `timeout` passes; at the
/// deadline a grant that raced it wins (see [`Withdraw`]).
#[track_caller]
pub(crate) fn block_on_timeout<W: Withdraw>(what: &str, mut wait: W, timeout: Duration) -> Option<W::Output> {
    match block_on_until(what, &mut wait, Instant::now().checked_add(timeout)) {
        Ok(output) => Some(output),
        Err(wait) => wait.withdraw(),
    }
}
