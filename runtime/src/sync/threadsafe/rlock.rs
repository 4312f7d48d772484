//! The thread-safe `RLock`.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::Duration;

use super::{block_on, block_on_timeout, lock};
use crate::loom::sync::Mutex;
use crate::sched::coop;
use crate::sync::NotOwner;
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::sync::withdraw::{self, Withdraw};
use crate::time::Elapsed;

/// Who holds a thread-safe `RLock`: a plain OS thread, or one green task
/// on a runtime thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Thread(ThreadId),
    Task(ThreadId, u64),
}

/// The caller: the running green task if there is one, else the thread.
fn me() -> Owner {
    let thread = thread::current().id();
    match crate::context::current() {
        Some(_) => Owner::Task(thread, crate::current().id().as_u64()),
        None => Owner::Thread(thread),
    }
}

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
pub struct RLock<T> {
    state: Mutex<State>,
    value: T,
}

struct State {
    owner: Option<Owner>,
    count: usize,
    /// Each waiter's value is who it is, so that an unlock can make it the owner.
    waiters: WaitList<Option<Owner>>,
}

impl<T: Default> Default for RLock<T> {
    fn default() -> RLock<T> {
        RLock::new(T::default())
    }
}

impl<T> RLock<T> {
    crate::loom::const_fn_unless_loom! {
        /// A free reentrant lock guarding `value`.
        pub const fn new(value: T) -> RLock<T> {
            RLock { state: Mutex::new(State { owner: None, count: 0, waiters: WaitList::new() }), value }
        }
    }

    /// Takes the lock (again, if the caller holds it), waiting in a green task.
    pub fn lock(&self) -> RLockFuture<'_, T> {
        RLockFuture { lock: self, me: me(), key: None }
    }

    /// Takes the lock, waiting at most `timeout` in a green task. A lock
    /// handed over as the time-out falls is taken: the call succeeds.
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_, T>, Elapsed> {
        withdraw::timeout(timeout, self.lock()).await
    }

    /// Takes the lock if it is free or held by the caller.
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T>> {
        // `then`, not `then_some`: a guard built eagerly and dropped on
        // failure would release a hold of the real owner.
        self.try_take(me()).then(|| RLockGuard { lock: self })
    }

    /// Takes the lock, blocking this OS thread.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> RLockGuard<'_, T> {
        block_on("RLock::lock_blocking", self.lock())
    }

    /// Takes the lock, blocking this OS thread at most `timeout`. A lock
    /// handed over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_, T>> {
        block_on_timeout("RLock::lock_blocking_timeout", self.lock(), timeout)
    }

    /// Python's `release()`: gives back one hold taken by the caller with a
    /// forgotten guard ([`RLockGuard::forget`]).
    pub fn release(&self) -> Result<(), NotOwner> {
        let me = me();
        {
            let state = lock(&self.state);
            if state.count == 0 || state.owner != Some(me) {
                return Err(NotOwner(()));
            }
        }
        self.release_one();
        Ok(())
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        lock(&self.state).count > 0
    }

    /// Whether the caller (this task, or this thread) holds the lock.
    pub fn is_owned(&self) -> bool {
        let state = lock(&self.state);
        state.count > 0 && state.owner == Some(me())
    }

    /// The number of holds of the current holder (0 when free).
    pub fn holds(&self) -> usize {
        lock(&self.state).count
    }

    /// The number of tasks and threads waiting.
    pub fn waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }

    fn try_take(&self, me: Owner) -> bool {
        let mut state = lock(&self.state);
        match state.count {
            0 => state.owner = Some(me),
            _ if state.owner == Some(me) => {}
            _ => return false,
        }
        state.count += 1;
        true
    }

    /// Drops one hold; the last one hands the lock to the first waiter.
    fn release_one(&self) {
        let handed = {
            let mut state = lock(&self.state);
            state.count -= 1;
            if state.count > 0 {
                return;
            }
            let handed = state.waiters.notify_one_with(|who| *who);
            if let Some((_, who)) = &handed {
                state.owner = *who;
                state.count = 1;
            }
            handed
        };
        if let Some((waker, _)) = handed {
            waker.wake();
        }
    }
}

impl<T> fmt::Debug for RLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("RLock").field("holds", &state.count).field("waiters", &state.waiters.len()).finish()
    }
}

/// The future returned by [`RLock::lock`]. Dropping it stops the wait; a
/// lock it had been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct RLockFuture<'a, T> {
    lock: &'a RLock<T>,
    me: Owner,
    key: Option<u32>,
}

impl<'a, T> Future for RLockFuture<'a, T> {
    type Output = RLockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T>> {
        let this = self.lock;
        if let Some(key) = self.key {
            if lock(&this.state).waiters.poll_take(key, cx.waker()).is_some() {
                self.key = None;
                return Poll::Ready(RLockGuard { lock: this });
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if this.try_take(self.me) {
            return Poll::Ready(RLockGuard { lock: this });
        }
        let mut state = lock(&this.state);
        // Freed between `try_take` and here? Then take it now.
        if state.count == 0 {
            state.owner = Some(self.me);
            state.count = 1;
            return Poll::Ready(RLockGuard { lock: this });
        }
        let key = state.waiters.push_with(cx.waker(), Some(self.me));
        drop(state);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<T> Withdraw for RLockFuture<'_, T> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let (cancelled, _) = lock(&self.lock.state).waiters.cancel_take(key);
        // Handed the lock: the release made us the owner, with one hold.
        (cancelled == Cancelled::Notified).then(|| RLockGuard { lock: self.lock })
    }
}

impl<T> Drop for RLockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let (cancelled, _) = lock(&self.lock.state).waiters.cancel_take(key);
            if cancelled == Cancelled::Notified {
                // Made the owner, but gone: pass the lock on.
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

/// One hold of a thread-safe [`RLock`]; dropping it releases that hold.
#[must_use = "dropping the guard releases the hold at once"]
pub struct RLockGuard<'a, T> {
    lock: &'a RLock<T>,
}

impl<T> RLockGuard<'_, T> {
    /// Keeps the hold; give it back with [`RLock::release`] (Python's
    /// `acquire()` / `release()` pairs).
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
