//! Synchronization between green tasks: gevent.event, gevent.lock and
//! Python's threading primitives, for tasks on one runtime.
//!
//! - [`Event`]: a flag tasks wait for (`threading.Event`).
//! - [`AsyncResult`]: a value or error set once, awaited by many (`gevent.event.AsyncResult`).
//! - [`Lock`]: an async mutex with a guard (`threading.Lock`).
//! - [`RLock`]: a lock the holding task may take again (`threading.RLock`).
//! - [`RwLock`]: many readers or one writer, writer-preferring (tokio's `RwLock`).
//! - [`Semaphore`], [`BoundedSemaphore`]: counted permits (`threading.Semaphore`, `BoundedSemaphore`).
//! - [`Condition`]: wait for state under a lock to change (`threading.Condition`).
//! - [`Barrier`]: a meeting point for `n` tasks (`threading.Barrier`).
//! - [`OnceCell`], [`Lazy`]: a value initialised once, asynchronously, however many tasks ask.
//! - [`Notify`]: wake one waiting task (or store a permit), or all of them (tokio's `Notify`).
//! - [`broadcast`]: a channel where every receiver gets every message; a slow one is told how many it missed.
//! - [`watch`]: a channel holding the latest value; receivers wait for it to change.

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
//! send(sprout::sync::Event::new()); // use sync::threadsafe::Event
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
//! (its [`Flavor`](crate::generic::Flavor)): the types here are aliases of
//! the types in [`sprout_runtime::generic`](crate::generic) with the
//! runtime-local flavour, those in [`threadsafe`] with the thread-safe one
//! (`docs/sync.md`, "How the primitives are built"). Each alias's page
//! shows the methods of the type it names.

mod async_result;
mod barrier;
pub mod broadcast;

mod cancel;
mod condition;
mod event;
pub(crate) mod flavor;
mod lazy;
mod lock;
mod notify;
mod once_cell;
mod rlock;
mod rwlock;
mod semaphore;
pub mod threadsafe;
pub(crate) mod wait_list;
pub mod watch;
pub(crate) mod withdraw;

use flavor::Local;

/// Polls a wait future once, by hand, with a waker that does nothing: how
/// the unit tests beside each primitive drive it through an interleaving.
#[cfg(all(test, not(loom)))]
pub(crate) fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> std::task::Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

pub(crate) mod generic;

pub use barrier::{BarrierWaitResult, BrokenBarrier};
pub use once_cell::SetError;
pub use rlock::NotOwner;
pub use semaphore::{AcquireError, BoundedSemaphore, PermitSource, ReleaseError, TryAcquireError};

/// A flag that tasks can wait for. `set` wakes every waiter; waiting on a
/// set event returns at once.
///
/// Share it between tasks with an `Rc` (or a `&'static`).
///
/// ```
/// use std::rc::Rc;
/// use sprout::{run, spawn, sync::Event};
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
pub type EventWait<'a> = event::EventWait<'a, Local>;

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
/// use sprout::{run, sleep, spawn, sync::AsyncResult};
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
pub type AsyncResultReady<'a, T, E> = async_result::AsyncResultReady<'a, T, E, Local>;

/// The future returned by [`AsyncResult::get`](AsyncResult#method.get) (and by awaiting
/// `&AsyncResult`), resolving to a clone of the result.
pub type AsyncResultGet<'a, T, E> = async_result::AsyncResultGet<'a, T, E, Local>;

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
/// use sprout::{joinall, run, spawn, sync::Lock, yield_now};
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
/// use sprout::{run, spawn, sync::RLock};
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

/// A counter of permits. `acquire` takes one (`acquire_many(n)` several),
/// waiting while there are too few; dropping the returned guard (or
/// calling `release`) gives them back.
///
/// Waiters are served in arrival order: released permits go straight to
/// the longest waiter (they are *handed off*), so a task that arrives later
/// cannot take them first, and a waiter for many is not overtaken by later
/// waiters for few. A waiter dropped after it was handed permits releases
/// them again, to the next waiter.
///
/// Share it between tasks with an `Rc`; `acquire_owned` gives a guard that
/// holds the `Rc`, to move into a spawned task. [`close`](Semaphore#method.close)
/// makes every waiter and every later acquire fail with [`AcquireError`]
/// (the reason `acquire` returns a `Result`).
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout::sync::Semaphore;
///
/// sprout::run(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let tasks = (0..6).map(|_| {
///         let sem = sem.clone();
///         sprout::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             assert!(sem.available_permits() < 2);
///             sprout::sleep(Duration::from_millis(1)).await;
///         })
///     });
///     sprout::joinall(tasks).await;
///     assert_eq!(sem.available_permits(), 2);
///
///     // An owned permit travels with the task it limits.
///     let permit = sem.clone().acquire_owned().await.unwrap();
///     sprout::spawn(async move {
///         let _permit = permit;
///     })
///     .await
///     .unwrap();
///     let both = sem.acquire_many(2).await.unwrap();
///     assert_eq!(both.num_permits(), 2);
///     drop(both);
///     sem.close();
///     assert!(sem.acquire().await.is_err());
/// });
/// ```
pub type Semaphore = semaphore::Semaphore<Local>;

/// The future returned by [`Semaphore::acquire`](Semaphore#method.acquire) and
/// `acquire_many` (and [`BoundedSemaphore::acquire`](BoundedSemaphore#method.acquire)), resolving to a [`SemaphoreGuard`]
/// or, on a closed semaphore, [`AcquireError`]. Dropping it stops the
/// wait; permits it had already been handed go to the next waiter.
pub type SemaphoreAcquire<'a> = semaphore::SemaphoreAcquire<'a, Local>;

/// Permits taken from a [`Semaphore`] (or [`BoundedSemaphore`]); dropping
/// the guard gives them back.
pub type SemaphoreGuard<'a> = semaphore::SemaphoreGuard<'a, Local>;

/// The future returned by [`Semaphore::acquire_owned`](Semaphore#method.acquire_owned)
/// (`S` is [`BoundedSemaphore`] for its `acquire_owned`), resolving to an
/// [`OwnedSemaphoreGuard`].
pub type SemaphoreAcquireOwned<S = Semaphore> = semaphore::SemaphoreAcquireOwned<S>;

/// Permits whose guard owns its semaphore (an `Rc<Semaphore>`, or an
/// `Rc<BoundedSemaphore>` with `S = BoundedSemaphore`): it may move into
/// another task. Dropping it gives the permits back.
pub type OwnedSemaphoreGuard<S = Semaphore> = semaphore::OwnedSemaphoreGuard<S>;

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
/// use sprout::{run, spawn, sync::Condition};
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
///     sprout::yield_now().await; // the consumer starts waiting
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
/// use sprout::{joinall, run, spawn, sync::Barrier};
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

/// Wakes tasks waiting in [`notified`](Notify#method.notified): one
/// ([`notify_one`](Notify#method.notify_one), which stores a permit when
/// nobody waits, at most one) or every one waiting now
/// ([`notify_waiters`](Notify#method.notify_waiters), which stores
/// nothing). tokio's `Notify`; the nearest Python has is a
/// `threading.Condition` without its lock.
///
/// A `notified()` future counts from its creation: create it, check your
/// condition, then await it, and a `notify_waiters` in between is not
/// missed. Waiters are served in arrival order, and a waiter dropped after
/// a `notify_one` chose it passes the notification on (to the next waiter,
/// or back to the stored permit).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sprout::sync::Notify;
///
/// sprout::run(async {
///     let (ready, data) = (Rc::new(Notify::new()), Rc::new(Cell::new(0)));
///     let consumer = sprout::spawn({
///         let (ready, data) = (ready.clone(), data.clone());
///         async move {
///             ready.notified().await;
///             data.get()
///         }
///     });
///     data.set(42);
///     ready.notify_one(); // wakes the consumer, or leaves it a permit
///     assert_eq!(consumer.await.unwrap(), 42);
/// });
/// ```
pub type Notify = notify::Notify<Local>;

/// The future returned by [`Notify::notified`](Notify#method.notified).
/// Dropping it stops the wait; a `notify_one` that had chosen it is passed on.
pub type Notified<'a> = notify::Notified<'a, Local>;

/// Many readers or one writer, guarding a value of type `T` (`()` for a
/// bare lock). `read().await` and `write().await` return guards; dropping
/// a guard releases it. tokio's `RwLock`; Python has none built in.
///
/// **Writer-preferring, first come first served.** A task waiting to
/// write stops new readers, so a stream of readers cannot starve it;
/// releases hand the lock on in arrival order (the readers at the front of
/// the line together). A waiter dropped after it was handed the lock
/// passes it on. `read_timeout` and `write_timeout` give up after a while;
/// `read_owned` and `write_owned` (on an `Rc<RwLock>`) give guards that own
/// the lock, to move into another task; `downgrade` turns a write into a
/// read without letting go.
///
/// **No upgrade, and re-entry panics.** A task that holds a guard and asks
/// again, when it would have to wait, would wait for itself forever: a
/// `write` while it reads (an "upgrade") or writes, a `read` while it
/// writes, a second `read` while a writer waits behind its first. `read`
/// and `write` panic then, with a message saying so, instead of hanging;
/// drop the guard first. (`try_*` return `None`; the `_timeout` forms time
/// out.) Guards belong to the task that took them; owned guards, made to
/// move, belong to none and are not checked.
///
/// ```
/// use std::rc::Rc;
/// use sprout::sync::RwLock;
///
/// sprout::run(async {
///     let config = Rc::new(RwLock::new(vec!["a"]));
///     let readers: Vec<_> = (0..3)
///         .map(|_| {
///             let config = config.clone();
///             sprout::spawn(async move { config.read().await.len() })
///         })
///         .collect();
///     config.write().await.push("b"); // waits for readers that got in first
///     for reader in readers {
///         assert!(reader.await.unwrap() >= 1);
///     }
///     let read = config.read().await;
///     assert!(config.try_write().is_none(), "a reader holds it");
///     drop(read);
///     let mut write = config.clone().write_owned().await; // owns the Rc
///     write.push("c");
///     let read = write.downgrade();
///     assert_eq!(*read, ["a", "b", "c"]);
/// });
/// ```
///
/// ```should_panic
/// sprout::run(async {
///     let lock = sprout::sync::RwLock::new(0);
///     let read = lock.read().await;
///     let write = lock.write().await; // panics: this task holds a read
/// #   drop((read, write));
/// });
/// ```
pub type RwLock<T = ()> = rwlock::RwLock<T, Local>;

/// The future returned by [`RwLock::read`](RwLock#method.read), resolving to an [`RwLockReadGuard`].
pub type RwLockRead<'a, T> = rwlock::RwLockRead<'a, T, Local>;

/// The future returned by [`RwLock::write`](RwLock#method.write), resolving to an [`RwLockWriteGuard`].
pub type RwLockWrite<'a, T> = rwlock::RwLockWrite<'a, T, Local>;

/// Shared access to an [`RwLock`]'s value; dropping it releases this read.
pub type RwLockReadGuard<'a, T> = rwlock::RwLockReadGuard<'a, T, Local>;

/// Unique access to an [`RwLock`]'s value; dropping it releases the lock.
pub type RwLockWriteGuard<'a, T> = rwlock::RwLockWriteGuard<'a, T, Local>;

/// The future returned by [`RwLock::read_owned`](RwLock#method.read_owned).
pub type RwLockReadOwned<T> = rwlock::RwLockReadOwned<T, Local>;

/// The future returned by [`RwLock::write_owned`](RwLock#method.write_owned).
pub type RwLockWriteOwned<T> = rwlock::RwLockWriteOwned<T, Local>;

/// A read guard that owns its `Rc<RwLock>`.
pub type OwnedRwLockReadGuard<T> = rwlock::OwnedRwLockReadGuard<T, Local>;

/// A write guard that owns its `Rc<RwLock>`.
pub type OwnedRwLockWriteGuard<T> = rwlock::OwnedRwLockWriteGuard<T, Local>;

/// A cell set at most once, with async initialisation (tokio's
/// `OnceCell`): `get_or_init(|| async { ... }).await` runs the initialiser
/// if nobody has, and otherwise waits for the one that runs, so an
/// expensive setup (a connection pool, a loaded file) happens once however
/// many tasks ask at once. `get` reads it without waiting; `set` fills it
/// by hand.
///
/// **A failed, cancelled or panicking initialiser lets the next waiter
/// try.** `get_or_try_init`'s error goes back to its caller, and the first
/// waiter runs *its own* initialiser; so does it if the running
/// initialiser's task is killed, times out (an outer `timeout`) or panics.
/// With nobody waiting, the cell is simply empty again.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use sprout::sync::OnceCell;
///
/// sprout::run(async {
///     let (cell, runs) = (Rc::new(OnceCell::new()), Rc::new(Cell::new(0)));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let (cell, runs) = (cell.clone(), runs.clone());
///             sprout::spawn(async move {
///                 *cell
///                     .get_or_init(|| async move {
///                         runs.set(runs.get() + 1);
///                         sprout::sleep(std::time::Duration::from_millis(1)).await; // "connect"
///                         "connection"
///                     })
///                     .await
///             })
///         })
///         .collect();
///     for task in sprout::joinall(tasks).await {
///         assert_eq!(task.unwrap(), "connection");
///     }
///     assert_eq!(runs.get(), 1, "one initialiser ran; the others waited for it");
///
///     let flaky: OnceCell<u32> = OnceCell::new();
///     assert_eq!(flaky.get_or_try_init(|| async { Err("down") }).await, Err("down"));
///     assert_eq!(flaky.get_or_try_init(|| async { Ok::<_, &str>(7) }).await, Ok(&7));
/// });
/// ```
pub type OnceCell<T> = once_cell::OnceCell<T, Local>;

/// The future returned by [`OnceCell::get_or_init`](OnceCell#method.get_or_init), resolving to `&T`.
pub type GetOrInit<'a, T, I, Fut> = once_cell::GetOrInit<'a, T, Local, I, Fut>;

/// The future returned by [`OnceCell::get_or_try_init`](OnceCell#method.get_or_try_init),
/// resolving to `Result<&T, E>`.
pub type GetOrTryInit<'a, T, I, Fut, E> = once_cell::GetOrTryInit<'a, T, Local, I, Fut, E>;

/// The default initialiser type of a [`Lazy`]: a function (a closure that
/// captures nothing coerces to it) returning a boxed future, so that a
/// `Lazy` can be named in a field or a `thread_local!` without naming an
/// `async` block's type.
pub type LazyInit<T> = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

/// A value computed on first use by an async initialiser (std's
/// `LazyLock`, made async): `lazy.force().await`, or `(&lazy).await`,
/// runs `init` if nobody has and otherwise waits for the one that runs; a
/// run that is cancelled or panics lets the next caller run `init` again
/// (it is a `Fn` for that reason). `get` reads the value without waiting.
///
/// ```
/// use std::rc::Rc;
/// use sprout::sync::Lazy;
///
/// struct Settings {
///     greeting: String,
/// }
///
/// sprout::run(async {
///     let settings: Rc<Lazy<Settings>> = Rc::new(Lazy::new(|| {
///         Box::pin(async {
///             sprout::sleep(std::time::Duration::from_millis(1)).await; // "read the file"
///             Settings { greeting: "hello".into() }
///         })
///     }));
///     assert!(settings.get().is_none());
///     assert_eq!((&*settings).await.greeting, "hello");
///     assert_eq!(settings.force().await.greeting, "hello"); // computed once
/// });
/// ```
pub type Lazy<T, I = LazyInit<T>> = lazy::Lazy<T, I, Local>;

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
/// use sprout::{run, sleep, spawn, sync::CancelToken};
///
/// run(async {
///     sprout::time::pause(); // virtual time: the rounds do not race the 5 ms
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
