//! `Lock`: an async mutex (`threading.Lock`, `gevent.lock.Semaphore(1)`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, Locked, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::Elapsed;

/// A lock that tasks take in turn, guarding a value of type `T`.
/// `lock().await` returns a guard; dropping it unlocks. Use it as
/// [`sync::Lock`](crate::sync::Lock) or
/// [`sync::threadsafe::Lock`](crate::sync::threadsafe::Lock).
///
/// Waiters are served in arrival order: unlocking hands the lock straight
/// to the longest waiter, so the unlocking task cannot take it back first.
/// A waiter dropped after it was handed the lock unlocks it again, for the
/// next waiter.
pub struct Lock<T, F: Flavor> {
    state: F::Shared<State>,
    /// Borrowed only by the holder of the lock (the `locked` flag makes the
    /// borrow unique), so it is never contended.
    value: F::Exclusive<T>,
}

struct State {
    locked: Cell<bool>,
    /// Invariant: non-empty only while `locked` (unlocking hands the lock
    /// to the first waiter instead of clearing the flag).
    waiters: RefCell<WaitList>,
}

impl State {
    const fn new(shared: bool) -> State {
        State { locked: Cell::new(false), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

impl<T: Default, F: Flavor> Default for Lock<T, F> {
    fn default() -> Self {
        Lock { state: F::share(State::new(F::THREAD_SAFE)), value: F::exclusive(T::default()) }
    }
}

impl<T> Lock<T, Local> {
    /// An unlocked lock guarding `value`.
    pub const fn new(value: T) -> Self {
        Lock { state: LocalState::new(State::new(false)), value: RefCell::new(value) }
    }
}

impl<T> Lock<T, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// An unlocked lock guarding `value`.
        pub const fn new(value: T) -> Self {
            Lock { state: Mutex::new(State::new(true)), value: Mutex::new(value) }
        }
    }

    /// Blocks this OS thread until it holds the lock.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> LockGuard<'_, T, ThreadSafe> {
        block_on("Lock::lock_blocking", self.lock())
    }

    /// Blocks this OS thread at most `timeout` for the lock. A lock handed
    /// over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<LockGuard<'_, T, ThreadSafe>> {
        block_on_timeout("Lock::lock_blocking_timeout", self.lock(), timeout)
    }
}

impl<T, F: Flavor> Lock<T, F> {
    /// Takes the lock, waiting (in a green task) until it is free.
    pub fn lock(&self) -> LockFuture<'_, T, F> {
        LockFuture { lock: self, key: None }
    }

    /// Takes the lock, waiting at most `timeout` in a green task (Python's
    /// `acquire(timeout=...)`): how a task finds out it is deadlocked. A
    /// lock handed over as the time-out falls is taken: the call succeeds.
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_, T, F>, Elapsed> {
        withdraw::timeout(timeout, self.lock()).await
    }

    /// Takes the lock if it is free now (`acquire(blocking=False)`).
    pub fn try_lock(&self) -> Option<LockGuard<'_, T, F>> {
        let state = F::step(&self.state);
        if state.locked.get() {
            return None;
        }
        state.locked.set(true);
        drop(state);
        Some(LockGuard::new(self))
    }

    /// Whether the lock is held.
    pub fn locked(&self) -> bool {
        F::step(&self.state).locked.get()
    }

    /// The number of tasks (and threads) waiting for the lock.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
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
        let handed = {
            let state = F::step(&self.state);
            let handed = state.waiters.borrow_mut().notify_one();
            if handed.is_none() {
                state.locked.set(false);
            }
            handed
        };
        // Woken after the step: a waker may run arbitrary code.
        if let Some(waker) = handed {
            waker.wake();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Lock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        f.debug_struct("Lock")
            .field("locked", &state.locked.get())
            .field("waiters", &state.waiters.borrow().len())
            .finish()
    }
}

/// The future returned by [`Lock::lock`]. Dropping it stops the wait; a
/// lock it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T, F: Flavor> {
    lock: &'a Lock<T, F>,
    key: Option<u32>,
}

impl<'a, T, F: Flavor> Future for LockFuture<'a, T, F> {
    type Output = LockGuard<'a, T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T, F>> {
        let lock = self.lock;
        if let Some(key) = self.key {
            if F::step(&lock.state).waiters.borrow_mut().poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(LockGuard::new(lock));
            }
            waiting_shared(WaitOn::Lock, F::THREAD_SAFE);
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        // Check and register in one step: an unlock cannot fall in between.
        let state = F::step(&lock.state);
        if !state.locked.get() {
            state.locked.set(true);
            drop(state);
            return Poll::Ready(LockGuard::new(lock));
        }
        let key = state.waiters.borrow_mut().push(cx.waker());
        drop(state);
        self.key = Some(key);
        waiting_shared(WaitOn::Lock, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, F: Flavor> Withdraw for LockFuture<'_, T, F> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let cancelled = F::step(&self.lock.state).waiters.borrow_mut().cancel(key);
        // Handed the lock: it is ours (`locked` stayed true for us).
        (cancelled == Cancelled::Notified).then(|| LockGuard::new(self.lock))
    }
}

impl<T, F: Flavor> Drop for LockFuture<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = F::step(&self.lock.state).waiters.borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                // Handed the lock, but gone: pass it on.
                self.lock.unlock();
            }
        }
    }
}

impl<T, F: Flavor> fmt::Debug for LockFuture<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture").field("waiting", &self.key.is_some()).finish()
    }
}

/// Holds a [`Lock`]; dereferences to the guarded value. Dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct LockGuard<'a, T, F: Flavor> {
    pub(super) lock: &'a Lock<T, F>,
    /// Taken in `drop`, so the value's borrow (or mutex) is free before
    /// the next holder is woken.
    value: Option<<F::Exclusive<T> as Locked>::Guard<'a>>,
}

impl<'a, T, F: Flavor> LockGuard<'a, T, F> {
    fn new(lock: &'a Lock<T, F>) -> Self {
        // The lock flag makes this borrow unique: only the holder has one.
        LockGuard { lock, value: Some(lock.value.lock()) }
    }
}

impl<'a, T> LockGuard<'a, T, Local> {
    /// The lock this guard holds.
    pub fn lock(this: &Self) -> &'a Lock<T, Local> {
        this.lock
    }
}

impl<T, F: Flavor> Deref for LockGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T, F: Flavor> DerefMut for LockGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_deref_mut().expect("a live guard holds the value")
    }
}

impl<T, F: Flavor> Drop for LockGuard<'_, T, F> {
    fn drop(&mut self) {
        drop(self.value.take());
        self.lock.unlock();
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for LockGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
