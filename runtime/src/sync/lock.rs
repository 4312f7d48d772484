//! `Lock`: an async mutex (`threading.Lock`, `gevent.lock.Semaphore(1)`).

use std::cell::{Cell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::{Cancelled, WaitList};
use crate::sched::coop;
use crate::time::Elapsed;

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
/// holds waits forever, as in Python; use [`RLock`](super::RLock) for that,
/// or [`lock_timeout`](Self::lock_timeout) to find out.
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
pub struct Lock<T = ()> {
    locked: Cell<bool>,
    /// Invariant: non-empty only while `locked` (unlocking hands the lock
    /// to the first waiter instead of clearing the flag).
    waiters: RefCell<WaitList>,
    value: RefCell<T>,
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Lock<T> {
        Lock::new(T::default())
    }
}

impl<T> Lock<T> {
    /// An unlocked lock guarding `value`.
    pub const fn new(value: T) -> Lock<T> {
        Lock { locked: Cell::new(false), waiters: RefCell::new(WaitList::new()), value: RefCell::new(value) }
    }

    /// Takes the lock, waiting until it is free.
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture { lock: self, key: None }
    }

    /// Takes the lock, waiting at most `timeout` (Python's
    /// `acquire(timeout=...)`): how a task finds out it is deadlocked.
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_, T>, Elapsed> {
        crate::time::timeout(timeout, self.lock()).await
    }

    /// Takes the lock if it is free now (`acquire(blocking=False)`).
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        if self.locked.get() {
            return None;
        }
        self.locked.set(true);
        Some(LockGuard::new(self))
    }

    /// Whether the lock is held.
    pub fn locked(&self) -> bool {
        self.locked.get()
    }

    /// The number of tasks waiting for the lock.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }

    /// The value, through a unique reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Unlocks: hands the lock to the first waiter, or marks it free.
    fn unlock(&self) {
        let handed = self.waiters.borrow_mut().notify_one();
        match handed {
            Some(waker) => waker.wake(),
            None => self.locked.set(false),
        }
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("locked", &self.locked()).field("waiters", &self.waiters()).finish()
    }
}

/// The future returned by [`Lock::lock`]. Dropping it stops the wait; a
/// lock it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    key: Option<u32>,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let lock = self.lock;
        if let Some(key) = self.key {
            if lock.waiters.borrow_mut().poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(LockGuard::new(lock));
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(guard) = lock.try_lock() {
            return Poll::Ready(guard);
        }
        self.key = Some(lock.waiters.borrow_mut().push(cx.waker()));
        Poll::Pending
    }
}

impl<T> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = self.lock.waiters.borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                // Handed the lock, but gone: pass it on.
                self.lock.unlock();
            }
        }
    }
}

impl<T> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture").field("waiting", &self.key.is_some()).finish()
    }
}

/// Holds a [`Lock`]; dereferences to the guarded value. Dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct LockGuard<'a, T> {
    pub(super) lock: &'a Lock<T>,
    /// Taken in `drop` so the borrow ends before the next holder is woken.
    value: Option<RefMut<'a, T>>,
}

impl<'a, T> LockGuard<'a, T> {
    fn new(lock: &'a Lock<T>) -> LockGuard<'a, T> {
        // The lock flag makes this borrow unique: only the holder has one.
        LockGuard { lock, value: Some(lock.value.borrow_mut()) }
    }

    /// The lock this guard holds.
    pub fn lock(this: &Self) -> &'a Lock<T> {
        this.lock
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_deref_mut().expect("a live guard holds the value")
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.value.take());
        self.lock.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
