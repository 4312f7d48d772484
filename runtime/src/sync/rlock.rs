//! `RLock`: a reentrant lock, owned by a task (`threading.RLock`,
//! `gevent.lock.RLock`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::{Cancelled, WaitList};
use crate::sched::coop;
use crate::time::Elapsed;

/// A lock that the task holding it may take again: it counts the holds,
/// and is free once every hold is released. Other tasks wait, in arrival
/// order, as for [`Lock`](super::Lock).
///
/// Ownership is per task (the `block_on` future counts as task 0), as
/// Python's is per thread. Take it with a guard ([`lock`](Self::lock)), or
/// Python style with [`acquire`](Self::acquire) and
/// [`release`](Self::release); releasing from a task that does not hold it
/// is an error. The guarded value is shared (`&T`): the holder may hold it
/// several times at once.
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
pub struct RLock<T = ()> {
    /// The holder's task id; meaningful while `count > 0`.
    owner: Cell<u64>,
    /// The number of holds; 0 means free.
    count: Cell<usize>,
    /// Each waiter's value is its task id, so that an unlock can make it
    /// the owner before it runs. Invariant: non-empty only while held.
    waiters: RefCell<WaitList<u64>>,
    value: T,
}

/// The error of [`RLock::release`] by a task that does not hold the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotOwner(pub(crate) ());

impl fmt::Display for NotOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot release an RLock this task does not hold")
    }
}

impl std::error::Error for NotOwner {}

#[track_caller]
fn me() -> u64 {
    crate::current().id().as_u64()
}

impl<T: Default> Default for RLock<T> {
    fn default() -> RLock<T> {
        RLock::new(T::default())
    }
}

impl<T> RLock<T> {
    /// A free reentrant lock guarding `value`.
    pub const fn new(value: T) -> RLock<T> {
        RLock { owner: Cell::new(0), count: Cell::new(0), waiters: RefCell::new(WaitList::new()), value }
    }

    /// Takes the lock (again, if this task holds it), waiting while another
    /// task holds it.
    #[track_caller]
    pub fn lock(&self) -> RLockFuture<'_, T> {
        RLockFuture { lock: self, me: me(), key: None }
    }

    /// Takes the lock, waiting at most `timeout`.
    #[track_caller]
    pub fn lock_timeout(&self, timeout: Duration) -> impl Future<Output = Result<RLockGuard<'_, T>, Elapsed>> + '_ {
        crate::time::timeout(timeout, self.lock())
    }

    /// Takes the lock if it is free or held by this task.
    #[track_caller]
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T>> {
        // `then`, not `then_some`: a guard built eagerly and dropped on
        // failure would release a hold of the real owner.
        self.try_take(me()).then(|| RLockGuard { lock: self })
    }

    /// Python's `acquire()`: takes one hold with no guard; give it back
    /// with [`release`](Self::release).
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = ()> + '_ {
        let fut = self.lock();
        async move { fut.await.forget() }
    }

    /// Python's `release()`: gives back one hold taken by this task.
    #[track_caller]
    pub fn release(&self) -> Result<(), NotOwner> {
        if self.count.get() == 0 || self.owner.get() != me() {
            return Err(NotOwner(()));
        }
        self.release_one();
        Ok(())
    }

    /// Whether some task holds the lock.
    pub fn locked(&self) -> bool {
        self.count.get() > 0
    }

    /// Whether the running task holds the lock.
    #[track_caller]
    pub fn is_owned(&self) -> bool {
        self.count.get() > 0 && self.owner.get() == me()
    }

    /// The number of holds of the current holder (0 when free).
    pub fn holds(&self) -> usize {
        self.count.get()
    }

    /// The number of tasks waiting for the lock.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value
    }

    fn try_take(&self, me: u64) -> bool {
        match self.count.get() {
            0 => self.owner.set(me),
            _ if self.owner.get() == me => {}
            _ => return false,
        }
        self.count.set(self.count.get() + 1);
        true
    }

    /// Drops one hold; the last one hands the lock to the first waiter.
    fn release_one(&self) {
        let count = self.count.get() - 1;
        self.count.set(count);
        if count == 0 {
            self.hand_off();
        }
    }

    /// Makes the first waiter the owner (one hold), or leaves the lock free.
    fn hand_off(&self) {
        let handed = self.waiters.borrow_mut().notify_one_with(|id| *id);
        if let Some((waker, id)) = handed {
            self.owner.set(id);
            self.count.set(1);
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for RLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RLock");
        if self.locked() {
            d.field("owner", &self.owner.get());
        }
        d.field("holds", &self.holds()).field("waiters", &self.waiters()).finish()
    }
}

/// The future returned by [`RLock::lock`]. Dropping it stops the wait; a
/// lock it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct RLockFuture<'a, T> {
    lock: &'a RLock<T>,
    me: u64,
    key: Option<u32>,
}

impl<'a, T> Future for RLockFuture<'a, T> {
    type Output = RLockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T>> {
        let lock = self.lock;
        if let Some(key) = self.key {
            if lock.waiters.borrow_mut().poll_take(key, cx.waker()).is_some() {
                // `hand_off` made us the owner with one hold.
                self.key = None;
                return Poll::Ready(RLockGuard { lock });
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if lock.try_take(self.me) {
            return Poll::Ready(RLockGuard { lock });
        }
        self.key = Some(lock.waiters.borrow_mut().push_with(cx.waker(), self.me));
        Poll::Pending
    }
}

impl<T> Drop for RLockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let (cancelled, _) = self.lock.waiters.borrow_mut().cancel_take(key);
            if cancelled == Cancelled::Notified {
                // We were made the owner but are gone: pass the lock on.
                self.lock.release_one();
            }
        }
    }
}

impl<T> fmt::Debug for RLockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockFuture").field("waiting", &self.key.is_some()).finish()
    }
}

/// One hold of an [`RLock`]; dereferences to the guarded value. Dropping it
/// releases that hold (whichever task drops it).
#[must_use = "dropping the guard releases the hold at once"]
pub struct RLockGuard<'a, T> {
    lock: &'a RLock<T>,
}

impl<T> RLockGuard<'_, T> {
    /// Keeps the hold; give it back with [`RLock::release`].
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl<T> Deref for RLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.lock.value
    }
}

impl<T> Drop for RLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release_one();
    }
}

impl<T: fmt::Debug> fmt::Debug for RLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
