//! Thread-safe [`Event`], [`AsyncResult`], [`Lock`], [`RLock`],
//! [`Semaphore`], [`Condition`], [`Barrier`], [`Notify`], [`RwLock`],
//! [`OnceCell`], [`Lazy`] and [`CancelToken`], and the [`broadcast`] and [`watch`] channels: shared by green tasks
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
//! use sprout::{run, sync::threadsafe::Event};
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
use super::{async_result, barrier, cancel, condition, event, lazy, lock, notify, once_cell, rlock, rwlock, semaphore};

#[cfg(all(test, loom))]
mod loom_models;

/// A thread-safe flag that green tasks and OS threads wait for; see
/// [`crate::sync::Event`].
pub type Event = event::Event<ThreadSafe>;

/// The future returned by [`Event::wait`](Event#method.wait), resolving to `()`.
pub type EventWait<'a> = event::EventWait<'a, ThreadSafe>;

/// A result set once (by a thread or a task) and awaited by any number of
/// green tasks and threads; see [`crate::sync::AsyncResult`]. The usual
/// bridge from work on an OS thread back to a green task. `&AsyncResult`
/// is itself a future: `(&result).await` is `result.get().await`.
///
/// ```
/// use std::sync::Arc;
/// use sprout::{run, sync::threadsafe::AsyncResult};
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
pub type AsyncResultReady<'a, T, E> = async_result::AsyncResultReady<'a, T, E, ThreadSafe>;

/// The future returned by [`AsyncResult::get`](AsyncResult#method.get) (and by awaiting
/// `&AsyncResult`), resolving to a clone of the result.
pub type AsyncResultGet<'a, T, E> = async_result::AsyncResultGet<'a, T, E, ThreadSafe>;

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
/// use sprout::{run, sync::threadsafe::Lock};
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
pub type Lock<T = ()> = lock::Lock<T, ThreadSafe>;

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
/// use sprout::{run, sync::threadsafe::RLock};
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
pub type RLock<T = ()> = rlock::RLock<T, ThreadSafe>;

/// The future returned by [`RLock::lock`](RLock#method.lock), resolving to an [`RLockGuard`].
/// Dropping it stops the wait; a lock it had been handed goes to the next
/// waiter.
pub type RLockFuture<'a, T> = rlock::RLockFuture<'a, T, ThreadSafe>;

/// One hold of a thread-safe [`RLock`]; dropping it releases that hold.
pub type RLockGuard<'a, T> = rlock::RLockGuard<'a, T, ThreadSafe>;

/// A thread-safe counter of permits, shared by green tasks and OS threads;
/// see [`crate::sync::Semaphore`] (arrival order, `acquire_many`, owned
/// guards, `close`). With `Semaphore::bounded`, a release beyond the
/// initial count is an error (`BoundedSemaphore`).
///
/// ```
/// use std::sync::Arc;
/// use sprout::sync::threadsafe::Semaphore;
///
/// sprout::run(async {
///     let slots = Arc::new(Semaphore::new(1));
///     let held = slots.acquire().await.unwrap();
///     let thread = std::thread::spawn({
///         let slots = slots.clone();
///         move || slots.acquire_blocking().unwrap().forget() // waits for the task's permit
///     });
///     drop(held);
///     thread.join().unwrap();
///     assert_eq!(slots.available_permits(), 0);
///     // An owned permit may go to a thread and come back from there.
///     slots.add_permits(1).unwrap();
///     let permit = slots.clone().acquire_owned().await.unwrap();
///     std::thread::spawn(move || drop(permit)).join().unwrap();
///     assert_eq!(slots.available_permits(), 1);
/// });
/// ```
pub type Semaphore = semaphore::Semaphore<ThreadSafe>;

/// The future returned by [`Semaphore::acquire`](Semaphore#method.acquire) and
/// `acquire_many`, resolving to a [`SemaphoreGuard`] (or [`AcquireError`](crate::sync::AcquireError)
/// once closed). Dropping it stops the wait; permits it had been handed go
/// to the next waiter.
pub type SemaphoreAcquire<'a> = semaphore::SemaphoreAcquire<'a, ThreadSafe>;

/// Permits of a thread-safe [`Semaphore`]; dropping the guard gives them back.
pub type SemaphoreGuard<'a> = semaphore::SemaphoreGuard<'a, ThreadSafe>;

/// The future returned by [`Semaphore::acquire_owned`](Semaphore#method.acquire_owned),
/// resolving to an [`OwnedSemaphoreGuard`].
pub type SemaphoreAcquireOwned<S = Semaphore> = semaphore::SemaphoreAcquireOwned<S>;

/// Permits whose guard owns its semaphore (an `Arc`): it may move to
/// another task or thread. Dropping it gives the permits back.
pub type OwnedSemaphoreGuard<S = Semaphore> = semaphore::OwnedSemaphoreGuard<S>;

/// A condition variable over its own thread-safe [`Lock`], for green tasks
/// and OS threads alike; see [`crate::sync::Condition`] for the contract.
///
/// A waiter registers before it unlocks, so a `notify` from another thread
/// in between is not lost.
///
/// ```
/// use std::sync::Arc;
/// use sprout::{run, sync::threadsafe::Condition};
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
pub type Condition<T = ()> = condition::Condition<T, ThreadSafe>;

/// A meeting point for `parties` green tasks and OS threads, in any mix;
/// see [`crate::sync::Barrier`] for the contract (leader, indices, abort,
/// reset, withdrawal of a dropped waiter).
///
/// ```
/// use std::sync::Arc;
/// use sprout::{run, spawn, sync::threadsafe::Barrier};
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

/// A thread-safe [`crate::sync::Notify`]: `notify_one` and
/// `notify_waiters` from any thread or task; green tasks await
/// `notified()`, threads call `notified_blocking`.
///
/// ```
/// use std::sync::Arc;
/// use sprout::sync::threadsafe::Notify;
///
/// let done = Arc::new(Notify::new());
/// let worker = std::thread::spawn({
///     let done = done.clone();
///     move || done.notify_one() // stored if the task is not waiting yet
/// });
/// sprout::run(async { done.notified().await });
/// worker.join().unwrap();
/// ```
pub type Notify = notify::Notify<ThreadSafe>;

/// The future returned by [`Notify::notified`](Notify#method.notified).
pub type Notified<'a> = notify::Notified<'a, ThreadSafe>;

/// A thread-safe [`crate::sync::RwLock`]: many readers or one writer,
/// writer-preferring, handed off in arrival order, shared by green tasks
/// (`read().await`) and OS threads (`read_blocking`). A thread is one
/// holder, a task another: either panics rather than wait for a guard it
/// holds itself.
///
/// Unlike the thread-safe `Lock`'s, its guards are `Send` (for a `T` that
/// is `Send + Sync`), as tokio's are.
///
/// ```
/// use std::sync::Arc;
/// use sprout::sync::threadsafe::RwLock;
///
/// let table = Arc::new(RwLock::new(Vec::new()));
/// let writer = std::thread::spawn({
///     let table = table.clone();
///     move || table.write_blocking().push(1)
/// });
/// writer.join().unwrap();
/// sprout::run(async {
///     assert_eq!(*table.read().await, [1]);
///     let guard = table.clone().write_owned().await;
///     std::thread::spawn(move || drop(guard)).join().unwrap(); // released on a thread
///     assert!(table.try_write().is_some());
/// });
/// ```
pub type RwLock<T = ()> = rwlock::RwLock<T, ThreadSafe>;

/// The future returned by [`RwLock::read`](RwLock#method.read).
pub type RwLockRead<'a, T> = rwlock::RwLockRead<'a, T, ThreadSafe>;

/// The future returned by [`RwLock::write`](RwLock#method.write).
pub type RwLockWrite<'a, T> = rwlock::RwLockWrite<'a, T, ThreadSafe>;

/// Shared access to a thread-safe [`RwLock`]'s value.
pub type RwLockReadGuard<'a, T> = rwlock::RwLockReadGuard<'a, T, ThreadSafe>;

/// Unique access to a thread-safe [`RwLock`]'s value.
pub type RwLockWriteGuard<'a, T> = rwlock::RwLockWriteGuard<'a, T, ThreadSafe>;

/// The future returned by [`RwLock::read_owned`](RwLock#method.read_owned).
pub type RwLockReadOwned<T> = rwlock::RwLockReadOwned<T, ThreadSafe>;

/// The future returned by [`RwLock::write_owned`](RwLock#method.write_owned).
pub type RwLockWriteOwned<T> = rwlock::RwLockWriteOwned<T, ThreadSafe>;

/// A read guard that owns its `Arc<RwLock>`.
pub type OwnedRwLockReadGuard<T> = rwlock::OwnedRwLockReadGuard<T, ThreadSafe>;

/// A write guard that owns its `Arc<RwLock>`.
pub type OwnedRwLockWriteGuard<T> = rwlock::OwnedRwLockWriteGuard<T, ThreadSafe>;

/// A thread-safe [`crate::sync::OnceCell`]: initialised once by whichever
/// task or thread gets there first (`get_or_init(..).await`, or
/// `get_or_init_blocking` on a thread), the others waiting for it; a
/// failed, cancelled or panicking initialiser lets the next one try.
///
/// ```
/// use std::sync::Arc;
/// use sprout::sync::threadsafe::OnceCell;
///
/// let pool: Arc<OnceCell<String>> = Arc::new(OnceCell::new());
/// let thread = std::thread::spawn({
///     let pool = pool.clone();
///     move || pool.get_or_init_blocking(|| async { "from a thread".to_owned() }).len()
/// });
/// let from_task = sprout::run(async { pool.get_or_init(|| async { "from a task".to_owned() }).await.clone() });
/// assert_eq!(thread.join().unwrap(), from_task.len()); // both saw the one value
/// ```
pub type OnceCell<T> = once_cell::OnceCell<T, ThreadSafe>;

/// The future returned by [`OnceCell::get_or_init`](OnceCell#method.get_or_init).
pub type GetOrInit<'a, T, I, Fut> = once_cell::GetOrInit<'a, T, ThreadSafe, I, Fut>;

/// The future returned by [`OnceCell::get_or_try_init`](OnceCell#method.get_or_try_init).
pub type GetOrTryInit<'a, T, I, Fut, E> = once_cell::GetOrTryInit<'a, T, ThreadSafe, I, Fut, E>;

/// The default initialiser type of a thread-safe [`Lazy`]: like
/// [`crate::sync::LazyInit`], with a `Send` future, so that a task
/// spawned from another thread (which must be `Send`) may await the value.
pub type LazyInit<T> = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// A thread-safe [`crate::sync::Lazy`]: it may live in a `static`, and be
/// forced from any task (`.force().await`) or thread (`force_blocking`).
///
/// ```
/// use sprout::sync::threadsafe::Lazy;
///
/// static GREETING: Lazy<String> = Lazy::new(|| Box::pin(async { "hello".to_owned() }));
///
/// let from_thread = std::thread::spawn(|| GREETING.force_blocking().len());
/// sprout::run(async { assert_eq!(GREETING.force().await, "hello") });
/// assert_eq!(from_thread.join().unwrap(), 5);
/// ```
pub type Lazy<T, I = LazyInit<T>> = lazy::Lazy<T, I, ThreadSafe>;

/// A thread-safe [`crate::sync::broadcast`] channel: senders and
/// receivers on any task or thread (`recv().await`, or `recv_blocking`),
/// shared with an `Arc`.
///
/// ```
/// use sprout::sync::threadsafe::broadcast;
///
/// let (tx, mut rx) = broadcast::channel(8);
/// let mut on_thread = tx.subscribe();
/// let thread = std::thread::spawn(move || on_thread.recv_blocking().unwrap());
/// tx.send(7).unwrap();
/// assert_eq!(thread.join().unwrap(), 7);
/// sprout::run(async { assert_eq!(rx.recv().await, Ok(7)) });
/// ```
pub mod broadcast {
    pub use crate::sync::broadcast::{RecvError, SendError, TryRecvError};
    use crate::sync::flavor::ThreadSafe;

    /// Creates a thread-safe broadcast channel holding the last
    /// `capacity` messages; see [`crate::sync::broadcast::channel`].
    ///
    /// # Panics
    /// If `capacity` is 0.
    #[track_caller]
    pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
        crate::sync::broadcast::make(capacity)
    }

    /// Sends to every receiver, from any task or thread.
    pub type Sender<T> = crate::sync::broadcast::Sender<T, ThreadSafe>;

    /// Receives every message, on any task or thread.
    pub type Receiver<T> = crate::sync::broadcast::Receiver<T, ThreadSafe>;

    /// The future returned by [`Receiver::recv`](Receiver#method.recv).
    pub type Recv<'a, T> = crate::sync::broadcast::Recv<'a, T, ThreadSafe>;
}

/// A thread-safe [`crate::sync::watch`] channel: the sender and the
/// receivers on any task or thread (`changed().await`, or
/// `changed_blocking`). The value sits in an `RwLock`: a send waits for a
/// reader's `Ref` to end, so keep those short.
///
/// ```
/// use sprout::sync::threadsafe::watch;
///
/// let (tx, mut rx) = watch::channel(0);
/// let thread = std::thread::spawn(move || {
///     rx.changed_blocking().unwrap();
///     *rx.borrow_and_update()
/// });
/// sprout::run(async { tx.send(5).unwrap() });
/// assert_eq!(thread.join().unwrap(), 5);
/// ```
pub mod watch {
    use crate::sync::flavor::ThreadSafe;
    pub use crate::sync::watch::{RecvError, SendError};

    /// Creates a thread-safe watch channel holding `init`; see
    /// [`crate::sync::watch::channel`].
    pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
        crate::sync::watch::make(init)
    }

    /// Publishes the value, from any task or thread.
    pub type Sender<T> = crate::sync::watch::Sender<T, ThreadSafe>;

    /// Reads the value and waits for changes, on any task or thread.
    pub type Receiver<T> = crate::sync::watch::Receiver<T, ThreadSafe>;

    /// A read of the value (an `RwLock` read guard: keep it short).
    pub type Ref<'a, T> = crate::sync::watch::Ref<'a, T, ThreadSafe>;

    /// The future returned by [`Receiver::changed`](Receiver#method.changed).
    pub type Changed<'a, T> = crate::sync::watch::Changed<'a, T, ThreadSafe>;
}

/// A thread-safe [`crate::sync::CancelToken`]: cancel it from any thread
/// (a signal handler's thread, a supervisor, another runtime), wait for it
/// in green tasks (`cancelled().await`) and OS threads
/// (`cancelled_blocking`). A cancel from another thread while a task is
/// in the middle of a poll wakes it once that poll ends.
///
/// ```
/// use std::sync::mpsc;
/// use sprout::{run, spawn, sync::threadsafe::CancelToken};
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
