//! `Semaphore` and `BoundedSemaphore`: a counter of permits
//! (`threading.Semaphore`, `gevent.lock.Semaphore`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::{Cancelled, WaitList};
use crate::sched::coop;
use crate::time::Elapsed;

/// A counter of permits. `acquire` takes one, waiting while there are
/// none; dropping the returned guard (or calling [`release`](Self::release))
/// gives one back.
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
pub struct Semaphore {
    permits: Cell<usize>,
    /// `Some(n)` for a [`BoundedSemaphore`]: never more than `n` free permits.
    bound: Option<usize>,
    /// Invariant: non-empty only while `permits` is 0 (a release hands its
    /// permit to the first waiter instead of counting it).
    waiters: RefCell<WaitList>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore { permits: Cell::new(permits), bound: None, waiters: RefCell::new(WaitList::new()) }
    }

    /// Takes a permit, waiting for one if none is free.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire { sem: self, key: None }
    }

    /// Takes a permit, waiting at most `timeout`; like Python's
    /// `acquire(timeout=...)`, which returns False on time-out.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Elapsed> {
        crate::time::timeout(timeout, self.acquire()).await
    }

    /// Takes a permit if one is free now (`acquire(blocking=False)`).
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        let permits = self.permits.get();
        if permits == 0 {
            return None;
        }
        self.permits.set(permits - 1);
        Some(SemaphoreGuard { sem: self })
    }

    /// Adds a permit: wakes the first waiter, handing it the permit, or
    /// counts it. Like Python's `Semaphore.release`, it may raise the count
    /// above the initial value; [`BoundedSemaphore`] refuses that.
    ///
    /// Use it to give back a permit whose guard was [`forget`](SemaphoreGuard::forget)-ed.
    pub fn release(&self) {
        let handed = self.waiters.borrow_mut().notify_one();
        match handed {
            // Woken after the borrow ends: a waker may run arbitrary code.
            Some(waker) => waker.wake(),
            None => self.permits.set(self.permits.get() + 1),
        }
    }

    /// A guard's (or a dropped waiter's) permit comes back. For a bounded
    /// semaphore whose permits are all free already (the permit was given
    /// back by hand before), there is nothing to give back.
    fn give_back(&self) {
        if self.bound.is_some_and(|bound| self.permits.get() >= bound) {
            return;
        }
        self.release();
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    /// Whether no permit is free (Python's `locked()`).
    pub fn locked(&self) -> bool {
        self.permits.get() == 0
    }

    /// The number of tasks waiting for a permit.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("permits", &self.permits.get()).field("waiters", &self.waiters()).finish()
    }
}

/// The future returned by [`Semaphore::acquire`]. Dropping it stops the
/// wait; a permit it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    key: Option<u32>,
}

impl<'a> Future for Acquire<'a> {
    type Output = SemaphoreGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphoreGuard<'a>> {
        let sem = self.sem;
        if let Some(key) = self.key {
            if sem.waiters.borrow_mut().poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(SemaphoreGuard { sem });
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(guard) = sem.try_acquire() {
            return Poll::Ready(guard);
        }
        self.key = Some(sem.waiters.borrow_mut().push(cx.waker()));
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = self.sem.waiters.borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                // We were handed a permit we will never use: pass it on.
                self.sem.give_back();
            }
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("waiting", &self.key.is_some()).finish()
    }
}

/// A permit taken from a [`Semaphore`] (or [`BoundedSemaphore`]); dropping
/// it gives the permit back.
#[must_use = "dropping the guard releases the permit at once"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken: the guard goes away without releasing it.
    /// Give it back later with [`Semaphore::release`], Python style.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.sem.give_back();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// A [`Semaphore`] that refuses to be released more often than it was
/// acquired: a release that would raise the count above the initial value
/// is an error (`threading.BoundedSemaphore`, whose `release` raises
/// `ValueError`).
///
/// ```
/// use sprout_runtime::{run, sync::BoundedSemaphore};
///
/// run(async {
///     let sem = BoundedSemaphore::new(1);
///     sem.acquire().await.forget();
///     assert!(sem.release().is_ok());
///     assert!(sem.release().is_err()); // one release too many
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
///
/// A guard's drop gives its permit back as usual; if the permit was
/// already given back by hand (an explicit `release` while the guard was
/// alive), the drop gives back nothing rather than exceed the bound.
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

/// The error of [`BoundedSemaphore::release`] when every permit is already free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseError(pub(crate) ());

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits, which is also its bound.
    pub const fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            sem: Semaphore {
                permits: Cell::new(permits),
                bound: Some(permits),
                waiters: RefCell::new(WaitList::new()),
            },
            bound: permits,
        }
    }

    /// Takes a permit, waiting for one if none is free.
    pub fn acquire(&self) -> Acquire<'_> {
        self.sem.acquire()
    }

    /// Takes a permit, waiting at most `timeout`.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Elapsed> {
        self.sem.acquire_timeout(timeout).await
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.sem.try_acquire()
    }

    /// Gives back a permit taken with a forgotten guard. Fails, changing
    /// nothing, if no permit is out (every permit is already free).
    pub fn release(&self) -> Result<(), ReleaseError> {
        // A permit handed to a waiter is out, so `permits` alone tells.
        if self.sem.permits.get() >= self.bound {
            return Err(ReleaseError(()));
        }
        self.sem.release();
        Ok(())
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Whether no permit is free.
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// The initial (and highest) number of permits.
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// The number of tasks waiting for a permit.
    pub fn waiters(&self) -> usize {
        self.sem.waiters()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("permits", &self.available_permits())
            .field("bound", &self.bound)
            .field("waiters", &self.waiters())
            .finish()
    }
}
