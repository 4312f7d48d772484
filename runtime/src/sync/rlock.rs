//! `RLock`: a reentrant lock, owned by a task (or a thread)
//! (`threading.RLock`, `gevent.lock.RLock`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::Elapsed;

/// A lock that its holder may take again: it counts the holds, and is free
/// once every hold is released. Others wait, in arrival order, as for a
/// `Lock`. Use it as [`sync::RLock`](crate::sync::RLock) (owned by a
/// task) or [`sync::threadsafe::RLock`](crate::sync::threadsafe::RLock)
/// (owned by a thread, or by one task).
///
/// Take it with a guard ([`lock`](Self::lock)), or Python style with a
/// forgotten guard and [`release`](Self::release); releasing from a caller
/// that does not hold it is an error. The guarded value is shared (`&T`):
/// the holder may hold it several times at once.
pub struct RLock<T, F: Flavor> {
    state: F::Shared<State<F::Owner>>,
    value: T,
}

struct State<O> {
    /// The holder; meaningful while `count > 0`.
    owner: Cell<Option<O>>,
    /// The number of holds; 0 means free.
    count: Cell<usize>,
    /// Each waiter's value is who it is, so that an unlock can make it the
    /// owner before it runs. Invariant: non-empty only while held.
    waiters: RefCell<WaitList<Option<O>>>,
}

impl<O: Copy + Eq> State<O> {
    const fn new(shared: bool) -> Self {
        State { owner: Cell::new(None), count: Cell::new(0), waiters: RefCell::new(WaitList::new_in(shared)) }
    }

    /// Takes a hold if the lock is free or `me`'s.
    fn try_take(&self, me: O) -> bool {
        match self.count.get() {
            0 => self.owner.set(Some(me)),
            _ if self.owner.get() == Some(me) => {}
            _ => return false,
        }
        self.count.set(self.count.get() + 1);
        true
    }

    /// Drops one hold; the last one makes the first waiter the owner, with
    /// one hold, and returns its waker to wake after the step.
    fn release_one(&self) -> Option<CompactWaker> {
        let count = self.count.get() - 1;
        self.count.set(count);
        if count > 0 {
            return None;
        }
        let (waker, who) = self.waiters.borrow_mut().notify_one_with(|who| *who)?;
        self.owner.set(who);
        self.count.set(1);
        Some(waker)
    }
}

/// The error of an `RLock`'s `release` by a caller that does not hold the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotOwner(pub(crate) ());

impl fmt::Display for NotOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot release an RLock this task does not hold")
    }
}

impl std::error::Error for NotOwner {}

impl<T: Default, F: Flavor> Default for RLock<T, F> {
    fn default() -> Self {
        RLock { state: F::share(State::new(F::THREAD_SAFE)), value: T::default() }
    }
}

impl<T> RLock<T, Local> {
    /// A free reentrant lock guarding `value`.
    pub const fn new(value: T) -> Self {
        RLock { state: LocalState::new(State::new(false)), value }
    }

    /// Python's `acquire()`: takes one hold with no guard; give it back
    /// with [`release`](Self::release).
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = ()> + '_ {
        let fut = self.lock();
        async move { fut.await.forget() }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> RLock<T, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A free reentrant lock guarding `value`.
        pub const fn new(value: T) -> Self {
            RLock { state: Mutex::new(State::new(true)), value }
        }
    }

    /// Takes the lock, blocking this OS thread.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> RLockGuard<'_, T, ThreadSafe> {
        block_on("RLock::lock_blocking", self.lock())
    }

    /// Takes the lock, blocking this OS thread at most `timeout`. A lock
    /// handed over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_, T, ThreadSafe>> {
        block_on_timeout("RLock::lock_blocking_timeout", self.lock(), timeout)
    }
}

impl<T, F: Flavor> RLock<T, F> {
    /// Takes the lock (again, if the caller holds it), waiting in a green
    /// task while another holds it.
    #[track_caller]
    pub fn lock(&self) -> RLockFuture<'_, T, F> {
        RLockFuture { lock: self, me: F::owner(), key: None }
    }

    /// Takes the lock, waiting at most `timeout` in a green task. A lock
    /// handed over as the time-out falls is taken: the call succeeds.
    #[track_caller]
    pub fn lock_timeout(&self, timeout: Duration) -> impl Future<Output = Result<RLockGuard<'_, T, F>, Elapsed>> + '_ {
        // The caller is who calls, so `lock` runs now, not at the first poll.
        let fut = self.lock();
        async move { withdraw::timeout(timeout, fut).await }
    }

    /// Takes the lock if it is free or held by the caller.
    #[track_caller]
    pub fn try_lock(&self) -> Option<RLockGuard<'_, T, F>> {
        let me = F::owner();
        // `then`, not `then_some`: a guard built eagerly and dropped on
        // failure would release a hold of the real owner.
        F::step(&self.state).try_take(me).then(|| RLockGuard { lock: self })
    }

    /// Python's `release()`: gives back one hold taken by the caller with a
    /// forgotten guard ([`RLockGuard::forget`]).
    #[track_caller]
    pub fn release(&self) -> Result<(), NotOwner> {
        let me = F::owner();
        let handed = {
            let state = F::step(&self.state);
            if state.count.get() == 0 || state.owner.get() != Some(me) {
                return Err(NotOwner(()));
            }
            state.release_one()
        };
        if let Some(waker) = handed {
            waker.wake();
        }
        Ok(())
    }

    /// Whether someone holds the lock.
    pub fn locked(&self) -> bool {
        F::step(&self.state).count.get() > 0
    }

    /// Whether the caller (this task, or this thread) holds the lock.
    #[track_caller]
    pub fn is_owned(&self) -> bool {
        let me = F::owner();
        let state = F::step(&self.state);
        state.count.get() > 0 && state.owner.get() == Some(me)
    }

    /// The number of holds of the current holder (0 when free).
    pub fn holds(&self) -> usize {
        F::step(&self.state).count.get()
    }

    /// The number of tasks (and threads) waiting for the lock.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// Drops one hold; the last one hands the lock to the first waiter.
    fn release_one(&self) {
        let handed = F::step(&self.state).release_one();
        if let Some(waker) = handed {
            waker.wake();
        }
    }
}

impl<T, F: Flavor> fmt::Debug for RLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        let mut d = f.debug_struct("RLock");
        if let (1.., Some(owner)) = (state.count.get(), state.owner.get()) {
            d.field("owner", &owner);
        }
        d.field("holds", &state.count.get()).field("waiters", &state.waiters.borrow().len()).finish()
    }
}

/// The future returned by [`RLock::lock`]. Dropping it stops the wait; a
/// lock it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct RLockFuture<'a, T, F: Flavor> {
    lock: &'a RLock<T, F>,
    me: F::Owner,
    key: Option<u32>,
}

impl<'a, T, F: Flavor> Future for RLockFuture<'a, T, F> {
    type Output = RLockGuard<'a, T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RLockGuard<'a, T, F>> {
        let lock = self.lock;
        if let Some(key) = self.key {
            if F::step(&lock.state).waiters.borrow_mut().poll_take(key, cx.waker()).is_some() {
                // The release made us the owner, with one hold.
                self.key = None;
                return Poll::Ready(RLockGuard { lock });
            }
            waiting_shared(WaitOn::RLock, F::THREAD_SAFE);
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        // Check and register in one step: a release cannot fall in between.
        let state = F::step(&lock.state);
        if state.try_take(self.me) {
            return Poll::Ready(RLockGuard { lock });
        }
        let key = state.waiters.borrow_mut().push_with(cx.waker(), Some(self.me));
        drop(state);
        self.key = Some(key);
        waiting_shared(WaitOn::RLock, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, F: Flavor> Withdraw for RLockFuture<'_, T, F> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let (cancelled, _) = F::step(&self.lock.state).waiters.borrow_mut().cancel_take(key);
        // Handed the lock: the release made us the owner, with one hold.
        (cancelled == Cancelled::Notified).then(|| RLockGuard { lock: self.lock })
    }
}

impl<T, F: Flavor> Drop for RLockFuture<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let (cancelled, _) = F::step(&self.lock.state).waiters.borrow_mut().cancel_take(key);
            if cancelled == Cancelled::Notified {
                // Made the owner, but gone: pass the lock on.
                self.lock.release_one();
            }
        }
    }
}

impl<T, F: Flavor> fmt::Debug for RLockFuture<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockFuture").field("waiting", &self.key.is_some()).finish()
    }
}

/// One hold of an [`RLock`]; dereferences to the guarded value. Dropping it
/// releases that hold (whichever task or thread drops it).
#[must_use = "dropping the guard releases the hold at once"]
pub struct RLockGuard<'a, T, F: Flavor> {
    lock: &'a RLock<T, F>,
}

impl<T, F: Flavor> RLockGuard<'_, T, F> {
    /// Keeps the hold; give it back with [`RLock::release`] (Python's
    /// `acquire()` / `release()` pairs).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl<T, F: Flavor> Deref for RLockGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.lock.value
    }
}

impl<T, F: Flavor> Drop for RLockGuard<'_, T, F> {
    fn drop(&mut self) {
        self.lock.release_one();
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RLockGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
