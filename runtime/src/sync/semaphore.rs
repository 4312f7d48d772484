//! `Semaphore` and `BoundedSemaphore`: a counter of permits
//! (`threading.Semaphore`, `gevent.lock.Semaphore`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::sched::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::Elapsed;

/// A counter of permits. `acquire` takes one, waiting while there are
/// none; dropping the returned guard gives it back. Use it as
/// [`sync::Semaphore`](crate::sync::Semaphore),
/// [`sync::BoundedSemaphore`](crate::sync::BoundedSemaphore) or
/// [`sync::threadsafe::Semaphore`](crate::sync::threadsafe::Semaphore).
///
/// Waiters are served in arrival order: a released permit goes straight
/// to the longest waiter (it is *handed off*), so a task that arrives later
/// cannot take it first. A waiter dropped after it was handed a permit
/// releases it again, to the next waiter.
pub struct Semaphore<F: Flavor> {
    state: F::Shared<State>,
    /// `Some(n)` for a bounded semaphore: never more than `n` free permits.
    bound: Option<usize>,
}

struct State {
    permits: Cell<usize>,
    /// Invariant: non-empty only while `permits` is 0 (a release hands its
    /// permit to the first waiter instead of counting it).
    waiters: RefCell<WaitList>,
}

impl State {
    const fn new(permits: usize, shared: bool) -> State {
        State { permits: Cell::new(permits), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

impl Semaphore<Local> {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Self {
        Semaphore { state: LocalState::new(State::new(permits, false)), bound: None }
    }

    /// Adds a permit: wakes the first waiter, handing it the permit, or
    /// counts it. Like Python's `Semaphore.release`, it may raise the count
    /// above the initial value; [`BoundedSemaphore`] refuses that.
    ///
    /// Use it to give back a permit whose guard was [`forget`](SemaphoreGuard::forget)-ed.
    pub fn release(&self) {
        let unbounded = self.add_permit();
        debug_assert!(unbounded.is_ok(), "a plain semaphore has no bound");
    }

    /// Whether no permit is free (Python's `locked()`).
    pub fn locked(&self) -> bool {
        self.available_permits() == 0
    }
}

impl Semaphore<ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        pub const fn new(permits: usize) -> Self {
            Semaphore { state: Mutex::new(State::new(permits, true)), bound: None }
        }
    }

    crate::loom::const_fn_unless_loom! {
        /// A bounded semaphore (`threading.BoundedSemaphore`): `permits` is
        /// also the most it may hold.
        pub const fn bounded(permits: usize) -> Self {
            Semaphore { state: Mutex::new(State::new(permits, true)), bound: Some(permits) }
        }
    }

    /// Blocks this OS thread until it takes a permit.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking(&self) -> SemaphoreGuard<'_, ThreadSafe> {
        block_on("Semaphore::acquire_blocking", self.acquire())
    }

    /// Blocks this OS thread at most `timeout` for a permit. A permit
    /// handed over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_, ThreadSafe>> {
        block_on_timeout("Semaphore::acquire_blocking_timeout", self.acquire(), timeout)
    }

    /// Adds a permit, handing it to the first waiter if any. For a bounded
    /// semaphore, fails (changing nothing) if every permit is already free.
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.add_permit()
    }
}

impl<F: Flavor> Semaphore<F> {
    /// Takes a permit, waiting (in a green task) for one if none is free.
    pub fn acquire(&self) -> Acquire<'_, F> {
        Acquire { sem: self, key: None }
    }

    /// Takes a permit, waiting at most `timeout` in a green task; like
    /// Python's `acquire(timeout=...)`, which returns False on time-out. A
    /// permit handed over as the time-out falls is taken: the call succeeds.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_, F>, Elapsed> {
        withdraw::timeout(timeout, self.acquire()).await
    }

    /// Takes a permit if one is free now (`acquire(blocking=False)`).
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_, F>> {
        let state = F::step(&self.state);
        let permits = state.permits.get();
        if permits == 0 {
            return None;
        }
        state.permits.set(permits - 1);
        Some(SemaphoreGuard { sem: self })
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        F::step(&self.state).permits.get()
    }

    /// The number of tasks (and threads) waiting for a permit.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// Adds a permit: hands it to the first waiter, or counts it. For a
    /// bounded semaphore whose permits are all free (a permit handed to a
    /// waiter is out, so `permits` alone tells), fails, changing nothing.
    fn add_permit(&self) -> Result<(), ReleaseError> {
        let handed = {
            let state = F::step(&self.state);
            if self.bound.is_some_and(|bound| state.permits.get() >= bound) {
                return Err(ReleaseError(()));
            }
            let handed = state.waiters.borrow_mut().notify_one();
            if handed.is_none() {
                state.permits.set(state.permits.get() + 1);
            }
            handed
        };
        // Woken after the step: a waker may run arbitrary code.
        if let Some(waker) = handed {
            waker.wake();
        }
        Ok(())
    }

    /// A guard's (or a dropped waiter's) permit comes back. For a bounded
    /// semaphore whose permits are all free already (the permit was given
    /// back by hand before), there is nothing to give back.
    fn give_back(&self) {
        let _ = self.add_permit();
    }
}

impl<F: Flavor> fmt::Debug for Semaphore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        let mut d = f.debug_struct("Semaphore");
        d.field("permits", &state.permits.get());
        if let Some(bound) = self.bound {
            d.field("bound", &bound);
        }
        d.field("waiters", &state.waiters.borrow().len()).finish()
    }
}

/// The future returned by [`Semaphore::acquire`]. Dropping it stops the
/// wait; a permit it had already been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a, F: Flavor> {
    sem: &'a Semaphore<F>,
    key: Option<u32>,
}

impl<'a, F: Flavor> Future for Acquire<'a, F> {
    type Output = SemaphoreGuard<'a, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphoreGuard<'a, F>> {
        let sem = self.sem;
        if let Some(key) = self.key {
            if F::step(&sem.state).waiters.borrow_mut().poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(SemaphoreGuard { sem });
            }
            waiting_shared(WaitOn::Semaphore, F::THREAD_SAFE);
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        // Check and register in one step: a release cannot fall in between.
        let state = F::step(&sem.state);
        let permits = state.permits.get();
        if permits > 0 {
            state.permits.set(permits - 1);
            return Poll::Ready(SemaphoreGuard { sem });
        }
        let key = state.waiters.borrow_mut().push(cx.waker());
        drop(state);
        self.key = Some(key);
        waiting_shared(WaitOn::Semaphore, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<F: Flavor> Withdraw for Acquire<'_, F> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let cancelled = F::step(&self.sem.state).waiters.borrow_mut().cancel(key);
        // Handed a permit: it is ours. (`then`, not `then_some`: a guard
        // built eagerly and dropped would give a permit back.)
        (cancelled == Cancelled::Notified).then(|| SemaphoreGuard { sem: self.sem })
    }
}

impl<F: Flavor> Drop for Acquire<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = F::step(&self.sem.state).waiters.borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                // Handed a permit we will never use: pass it on.
                self.sem.give_back();
            }
        }
    }
}

impl<F: Flavor> fmt::Debug for Acquire<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").field("waiting", &self.key.is_some()).finish()
    }
}

/// A permit taken from a [`Semaphore`]; dropping it gives the permit back.
#[must_use = "dropping the guard releases the permit at once"]
pub struct SemaphoreGuard<'a, F: Flavor> {
    sem: &'a Semaphore<F>,
}

impl<F: Flavor> SemaphoreGuard<'_, F> {
    /// Keeps the permit taken: the guard goes away without releasing it.
    /// Give it back later with `release`, Python style.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl<F: Flavor> Drop for SemaphoreGuard<'_, F> {
    fn drop(&mut self) {
        self.sem.give_back();
    }
}

impl<F: Flavor> fmt::Debug for SemaphoreGuard<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// A [`Semaphore`](crate::sync::Semaphore) that refuses to be released more often than it was
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
    sem: Semaphore<Local>,
}

/// The error of a bounded semaphore's `release` when every permit is already free.
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
        BoundedSemaphore { sem: Semaphore { state: LocalState::new(State::new(permits, false)), bound: Some(permits) } }
    }

    /// Takes a permit, waiting for one if none is free.
    pub fn acquire(&self) -> Acquire<'_, Local> {
        self.sem.acquire()
    }

    /// Takes a permit, waiting at most `timeout`.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_, Local>, Elapsed> {
        self.sem.acquire_timeout(timeout).await
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_, Local>> {
        self.sem.try_acquire()
    }

    /// Gives back a permit taken with a forgotten guard. Fails, changing
    /// nothing, if no permit is out (every permit is already free).
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.sem.add_permit()
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
        self.sem.bound.unwrap_or_default()
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
            .field("bound", &self.bound())
            .field("waiters", &self.waiters())
            .finish()
    }
}
