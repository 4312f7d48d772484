//! The thread-safe `Lock`.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{block_on, block_on_timeout, lock};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::sched::coop;
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::sync::withdraw::{self, Withdraw};
use crate::time::Elapsed;

/// A lock shared by green tasks (`lock().await`) and OS threads
/// ([`lock_blocking`](Self::lock_blocking)), guarding a `T`; see
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
pub struct Lock<T> {
    state: Mutex<LockState>,
    value: Mutex<T>,
}

struct LockState {
    locked: bool,
    /// Non-empty only while `locked` (unlocking hands off).
    waiters: WaitList,
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Lock<T> {
        Lock::new(T::default())
    }
}

impl<T> Lock<T> {
    crate::loom::const_fn_unless_loom! {
        /// An unlocked lock guarding `value`.
        pub const fn new(value: T) -> Lock<T> {
            Lock { state: Mutex::new(LockState { locked: false, waiters: WaitList::new() }), value: Mutex::new(value) }
        }
    }

    /// Takes the lock, waiting (in a green task) until it is free.
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture { lock: self, key: None }
    }

    /// Takes the lock, waiting at most `timeout` in a green task. A lock
    /// handed over as the time-out falls is taken: the call succeeds.
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_, T>, Elapsed> {
        withdraw::timeout(timeout, self.lock()).await
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        let mut state = lock(&self.state);
        if state.locked {
            return None;
        }
        state.locked = true;
        drop(state);
        Some(LockGuard::new(self))
    }

    /// Blocks this OS thread until it holds the lock.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> LockGuard<'_, T> {
        block_on("Lock::lock_blocking", self.lock())
    }

    /// Blocks this OS thread at most `timeout` for the lock. A lock handed
    /// over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<LockGuard<'_, T>> {
        block_on_timeout("Lock::lock_blocking_timeout", self.lock(), timeout)
    }

    /// Whether the lock is held.
    pub fn locked(&self) -> bool {
        lock(&self.state).locked
    }

    /// The number of tasks and threads waiting.
    pub fn waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }

    /// The value, through a unique reference.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the lock to the first waiter, or marks it free.
    fn unlock(&self) {
        let handed = {
            let mut state = lock(&self.state);
            let handed = state.waiters.notify_one();
            if handed.is_none() {
                state.locked = false;
            }
            handed
        };
        if let Some(waker) = handed {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Lock").field("locked", &state.locked).field("waiters", &state.waiters.len()).finish()
    }
}

/// The future returned by [`Lock::lock`]. Dropping it stops the wait; a
/// lock it had been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    key: Option<u32>,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let this = self.lock;
        if let Some(key) = self.key {
            if lock(&this.state).waiters.poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(LockGuard::new(this));
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut state = lock(&this.state);
        if !state.locked {
            state.locked = true;
            drop(state);
            return Poll::Ready(LockGuard::new(this));
        }
        let key = state.waiters.push(cx.waker());
        drop(state);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<T> Withdraw for LockFuture<'_, T> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let cancelled = lock(&self.lock.state).waiters.cancel(key);
        // Handed the lock: it is ours (`locked` stayed true for us).
        (cancelled == Cancelled::Notified).then(|| LockGuard::new(self.lock))
    }
}

impl<T> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = lock(&self.lock.state).waiters.cancel(key);
            if cancelled == Cancelled::Notified {
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

/// Holds a thread-safe [`Lock`]; dereferences to the value. Dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct LockGuard<'a, T> {
    pub(super) lock: &'a Lock<T>,
    /// Taken in `drop`, so the value's mutex is free before the next holder wakes.
    value: Option<MutexGuard<'a, T>>,
}

impl<'a, T> LockGuard<'a, T> {
    fn new(lock: &'a Lock<T>) -> LockGuard<'a, T> {
        // Only the holder locks `value`: this never waits.
        LockGuard { lock, value: Some(lock.value.lock().unwrap_or_else(PoisonError::into_inner)) }
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
